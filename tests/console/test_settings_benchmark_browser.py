"""The benchmark opt-in on the settings page in Chromium: off by default, the text of what is
shared (the API's constant) visible beside the box in Swedish and English, ticked by keyboard and
saved; styled under the server's CSP, zero console errors, axe 0 at 360 and 1280 px."""

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.benchmarks.sharing import BENCHMARK_SHARING_TEXT
from survey_api.organisations import service as organisations_service
from tests.conftest import LiveServer
from tests.console.test_keyboard_wizard import press, tab_until
from tests.staff.conftest import PASSWORD, make_staff_org
from tests.web.browser.checks import check_at_both_widths, watched_page

pytestmark = pytest.mark.browser

# The box's and the text's boxes: the text beside (below and after) the box, on the screen.
PLACES = """() => {
  const box = document.getElementById('benchmark_opt_in').getBoundingClientRect();
  const text = document.getElementById('benchmark_sharing_text').getBoundingClientRect();
  const label = document.querySelector('label[for=benchmark_opt_in]').getBoundingClientRect();
  return {boxRight: box.right, textLeft: text.left, labelLeft: label.left,
          textTop: text.top, boxTop: box.top, textWidth: text.width, textHeight: text.height,
          width: document.documentElement.clientWidth};
}"""


def test_the_benchmark_opt_in_shows_what_is_shared_and_saves_by_keyboard(
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
            response = page.goto(f"/console/settings?lang={lang}")
            assert response is not None and response.status == 200
            assert "script-src" not in response.headers["content-security-policy"]
            assert not page.locator("#benchmark_opt_in").is_checked()
            text = page.locator("#benchmark_sharing_text")
            assert text.inner_text() == BENCHMARK_SHARING_TEXT[lang]
            assert text.get_attribute("lang") == lang
            for size in ({"width": 360, "height": 800}, {"width": 1280, "height": 900}):
                page.set_viewport_size(size)
                places = page.evaluate(PLACES)
                # Beside the box: in the label's column, right of the box, not above it.
                assert places["textLeft"] >= places["boxRight"]
                assert abs(places["textLeft"] - places["labelLeft"]) < 1
                assert places["textTop"] >= places["boxTop"]
                assert 0 < places["textWidth"] <= places["width"] and places["textHeight"] > 0
            colour = text.evaluate("e => getComputedStyle(e).color")
            assert colour == "rgb(61, 61, 61)"  # the hint colour
            check_at_both_widths(page, axe, f"settings with the benchmark opt-in ({lang})")

        # By keyboard: Tab to the box, Space ticks it, Tab on to the save button, Enter.
        page.goto("/console/settings")
        page.locator("body").focus()
        seen = tab_until(page, lambda seen: seen["id"] == "benchmark_opt_in", limit=120)
        seen = press(page, "Space")
        assert seen["checked"]
        tab_until(page, lambda seen: seen["tag"] == "button", limit=120)
        page.keyboard.press("Enter")
        page.wait_for_url("**/console/settings?saved=1")
        assert page.locator("#benchmark_opt_in").is_checked()
        with db() as session:
            assert organisations_service.get_organisation(session, org.id).benchmark_opt_in
        check_at_both_widths(page, axe, "settings saved with the opt-in ticked (sv)")
        page.uncheck("#benchmark_opt_in")
        page.click("text=Spara inställningarna")
        page.wait_for_url("**/console/settings?saved=1")
        assert not page.locator("#benchmark_opt_in").is_checked()
        with db() as session:
            assert not organisations_service.get_organisation(session, org.id).benchmark_opt_in
