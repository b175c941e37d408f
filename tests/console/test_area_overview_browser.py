"""An area's overview in Chromium under the server's own CSP: reached from the area page, a
period picked in its form, the surveys in columns side by side at 1280 px and one under the
other at 360 px, a small area's round "färre än 10", no console error, no axe violation in
Swedish and English at both widths."""

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import LiveServer
from tests.console.test_console_browser import log_in
from tests.staff.test_console_area_overview import make_overview_world
from tests.web.browser.checks import DESKTOP, PHONE, check_at_both_widths, watched_page

pytestmark = pytest.mark.browser

BOXES = """() => [...document.querySelectorAll('section.survey')].map(s => {
  const box = s.getBoundingClientRect();
  return {left: box.left, top: box.top, right: box.right};
})"""


def test_area_overview_is_side_by_side_styled_and_accessible(
    chromium: Any,
    axe: Any,
    console_server: LiveServer,
    server: LiveServer,
    db: sessionmaker[Session],
) -> None:
    world = make_overview_world(server, db)
    world.api.close()
    overview = f"/console/areas/{world.big}/overview"
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        log_in(page, world.org.emails["viewer"])
        response = page.goto(f"/console/areas/{world.big}")
        assert response is not None and response.status == 200
        page.click(f"a[href='{overview}']")
        page.wait_for_url(f"**{overview}")
        assert page.locator("section.survey").count() == 2
        # Side by side on a wide screen: two columns on one row.
        page.set_viewport_size(DESKTOP)
        wide = page.evaluate(BOXES)
        assert wide[0]["top"] == pytest.approx(wide[1]["top"], abs=1)
        assert wide[0]["right"] <= wide[1]["left"]
        # One under the other on a phone.
        page.set_viewport_size(PHONE)
        narrow = page.evaluate(BOXES)
        assert narrow[0]["left"] == pytest.approx(narrow[1]["left"], abs=1)
        assert narrow[1]["top"] > narrow[0]["top"]
        # In a phone-wide column the figures keep room for their labels (headers wrap).
        label = page.eval_on_selector(
            "table.figures tbody th", "th => th.getBoundingClientRect().width"
        )
        assert label >= 96
        align = page.eval_on_selector(
            "table.figures td.num", "td => getComputedStyle(td).textAlign"
        )
        assert align in ("end", "right")
        # Another period through the picker.
        page.select_option("#period", "2025")
        page.click("text=Visa")
        page.wait_for_url("**period=2025")
        assert page.locator("section.survey").count() == 1
        assert page.locator(f"#round-{world.earlier}").count() == 1
        small = f"/console/areas/{world.small}/overview"
        for lang in ("sv", "en"):
            for path, name in ((overview, "overview"), (small, "small area's overview")):
                response = page.goto(f"{path}?lang={lang}")
                assert response is not None and response.status == 200
                assert "script-src" not in response.headers["content-security-policy"]
                assert page.locator("html").get_attribute("lang") == lang
                if path == small:
                    text = page.locator(f"#round-{world.standard}").locator("..").inner_text()
                    assert ("färre än 10" if lang == "sv" else "fewer than 10") in text
                check_at_both_widths(page, axe, f"{name} ({lang})")
