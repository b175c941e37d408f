"""Settings and API keys in Chromium: styled under the server's CSP, no axe violation in Swedish
and English at 360 and 1280 px (with errors shown, too), and a new key's secret shown once."""

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import LiveServer
from tests.staff.conftest import PASSWORD, make_staff_org
from tests.web.browser.checks import check_at_both_widths, watched_page

pytestmark = pytest.mark.browser

_SECRET = re.compile(r"sak_[A-Za-z0-9_-]{20,}")


def test_settings_and_keys_are_styled_accessible_and_show_a_secret_once(
    chromium: Any, axe: Any, console_server: LiveServer, db: sessionmaker[Session]
) -> None:
    org = make_staff_org(db)
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        page.goto("/console/login")
        page.fill("#email", org.emails["admin"])
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/")
        for lang in ("sv", "en"):
            for path, name in (("/console/settings", "settings"), ("/console/keys", "keys")):
                response = page.goto(f"{path}?lang={lang}")
                assert response is not None and response.status == 200
                assert "script-src" not in response.headers["content-security-policy"]
                assert page.locator("html").get_attribute("lang") == lang
                check_at_both_widths(page, axe, f"{name} ({lang})")

        # A refused value: the error beside the field and in the summary, still accessible.
        page.goto("/console/settings")
        page.fill("#min_cell_size", "4")
        page.click("text=Spara inställningarna")
        assert "lägre än 5" in page.locator(".error-summary").inner_text()
        assert page.locator("#min_cell_size").get_attribute("aria-invalid") == "true"
        check_at_both_widths(page, axe, "settings with an error (sv)")
        page.fill("#min_cell_size", "15")
        page.check("#language_ar")
        page.check("#languages_mode_chosen")
        page.fill("#letter_sv_sender", "Demobostäder AB")
        page.click("text=Spara inställningarna")
        page.wait_for_url("**/console/settings?saved=1")
        assert "sparade" in page.locator(".notice").inner_text()
        assert page.locator("#min_cell_size").input_value() == "15"
        assert page.locator("#language_ar").is_checked()

        # A key: the secret on the answer page once, never on the list.
        page.goto("/console/keys")
        page.fill("#key_name", "Pappersenkäter")
        page.check("#key_role_analyst")
        page.click("text=Skapa nyckel")
        page.wait_for_selector("#secret")
        secret = page.locator("#secret").inner_text()
        assert _SECRET.fullmatch(secret)
        assert page.content().count(secret) == 1
        assert "visas bara den här gången" in page.locator(".warning").inner_text()
        check_at_both_widths(page, axe, "key created (sv)")
        page.click("text=Tillbaka till API-nycklarna")
        page.wait_for_url("**/console/keys")
        assert secret not in page.content() and "Pappersenkäter" in page.content()
        check_at_both_widths(page, axe, "keys with one key (sv)")
        page.click("text=Återkalla")
        page.wait_for_url("**/revoke")
        check_at_both_widths(page, axe, "revoke a key (sv)")
        page.click("button.danger")
        page.wait_for_url("**/console/keys?revoked=*")
        assert "är återkallad" in page.locator(".notice").inner_text()
        page.goto("/console/keys?lang=en")
        assert "Revoked" in page.locator("tbody").inner_text()
        check_at_both_widths(page, axe, "keys with a revoked key (en)")
