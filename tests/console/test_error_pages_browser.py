"""The console's page for an upload over the body limit, in Chromium under the server's CSP:
styled, in Swedish, saying nothing was stored, no console error besides the page's own status,
axe 0 violations at both widths. (The 409 page is asserted over HTTP in
tests/staff/test_console_hostile_forms.py.)"""

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TEST_MAX_BODY, LiveServer
from tests.console.test_console_browser import log_in
from tests.staff.conftest import make_staff_org
from tests.web.browser.checks import check_at_both_widths, watched_page

pytestmark = pytest.mark.browser


def test_the_too_large_page_is_styled_and_accessible(
    chromium: Any, axe: Any, console_server: LiveServer, db: sessionmaker[Session]
) -> None:
    org = make_staff_org(db)
    rows = "".join(f"a{i},Område {i},1480\n" for i in range(40_000))
    big = ("code,name,municipality_code\n" + rows).encode()
    assert len(big) > TEST_MAX_BODY
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        log_in(page, org.emails["analyst"])
        page.goto("/console/areas/import")
        page.set_input_files(
            "input[type=file]",
            files=[{"name": "omraden.csv", "mimeType": "text/csv", "buffer": big}],
        )
        page.click("button >> text=Förhandsgranska")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Filen är för stor"
        assert "Inget sparades." in page.locator("main").inner_text()
        assert page.locator("h1").evaluate("e => getComputedStyle(e).fontWeight") in ("700", "bold")
        check_at_both_widths(page, axe, "too large (sv)")
