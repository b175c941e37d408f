"""The console's Results section in Chromium under the server's CSP: a round's figures and an
area's page with its breakdown, distributions and trend charts, styled, no chart wider than the
window, and no axe violation in Swedish and English at 360 and 1280 px."""

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import LiveServer
from tests.console.test_console_browser import log_in
from tests.staff.test_console_results import make_results_world
from tests.web.browser.checks import check_at_both_widths, watched_page

pytestmark = pytest.mark.browser


def test_round_results_and_area_page_are_styled_and_accessible(
    chromium: Any,
    axe: Any,
    console_server: LiveServer,
    server: LiveServer,
    db: sessionmaker[Session],
) -> None:
    world = make_results_world(server, db)
    world.api.close()
    round_page = f"/console/results/{world.round_id}"
    area_page = f"{round_page}/areas/{world.big}"
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        log_in(page, world.org.emails["analyst"])
        page.click("nav >> text=Resultat")
        page.wait_for_url("**/console/results")
        page.click(f"a[href='{round_page}']")
        page.wait_for_url(f"**{round_page}")
        assert "färre än 10" in page.locator(f"#area-{world.small}").locator("..").inner_text()
        # Numbers are right-aligned in the figures tables.
        align = page.eval_on_selector(
            "table.figures td.num", "td => getComputedStyle(td).textAlign"
        )
        assert align in ("end", "right")
        page.click(f"a[href='{area_page}']")
        page.select_option("#by", "aldersgrupp")
        page.click("text=Visa")
        page.wait_for_url("**by=aldersgrupp")
        assert page.locator("#breakdown-caption").count() == 1
        assert page.locator("svg.trend").count() >= 2
        for lang in ("sv", "en"):
            for path, name in (
                (round_page, "round results"),
                (f"{area_page}?by=aldersgrupp&", "area page"),
            ):
                joiner = "" if path.endswith("&") else "?"
                response = page.goto(f"{path}{joiner}lang={lang}")
                assert response is not None and response.status == 200
                assert "script-src" not in response.headers["content-security-policy"]
                assert page.locator("html").get_attribute("lang") == lang
                check_at_both_widths(page, axe, f"{name} ({lang})")
