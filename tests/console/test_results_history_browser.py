"""A historical round of imported answer counts on the results pages in Chromium, under the
server's own CSP: the console's round, area (a breakdown asked for) and comparison pages and
the board's share-link page say where the data came from and show unavailable figures as
text, with no mark in the charts; styled, nothing wider than the window, no console errors
and no axe violation at 360 and 1280 px, in Swedish and English."""

import html
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import LiveServer
from tests.console.test_console_browser import log_in
from tests.staff.test_console_results_history import (
    INDEX_SV,
    SOURCE_EN,
    SOURCE_SV,
    make_tallies_world,
)
from tests.web.browser.checks import check_at_both_widths, watched_page

pytestmark = pytest.mark.browser


def test_results_pages_of_a_round_of_answer_counts_are_styled_and_accessible(
    chromium: Any,
    axe: Any,
    console_server: LiveServer,
    server: LiveServer,
    db: sessionmaker[Session],
) -> None:
    world = make_tallies_world(server, db)
    world.api.close()
    round_page = f"/console/results/{world.round_id}"
    area_page = f"{round_page}/areas/{world.areas['norr']}"
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        log_in(page, world.org.emails["analyst"])
        page.goto(round_page)
        assert page.locator(".source-note").inner_text() == SOURCE_SV
        unavailable = (
            page.locator(f"#area-{world.areas['norr']}").locator("..").locator("td.unavailable")
        )
        assert unavailable.count() == 2 and unavailable.first.inner_text() == INDEX_SV
        check_at_both_widths(page, axe, "round of answer counts (sv)")
        page.goto(f"{round_page}?lang=en")
        assert page.locator(".source-note").inner_text() == SOURCE_EN
        check_at_both_widths(page, axe, "round of answer counts (en)")

        response = page.goto(f"{area_page}?by=aldersgrupp")
        assert response is not None and response.status == 200
        assert page.locator("#by").count() == 0
        assert "finns inte för denna mätning" in page.locator(".notice").inner_text()
        trend = page.locator("svg.trend").last
        assert trend.locator("circle").count() == 0  # the index: no dot, no band
        assert "finns ej" in (trend.get_attribute("aria-label") or "")
        check_at_both_widths(page, axe, "area of a round of answer counts (sv)")
        page.goto(f"{area_page}?lang=en")
        check_at_both_widths(page, axe, "area of a round of answer counts (en)")

        page.goto(f"{round_page}/compare?target=index:trygghetsindex")
        chart = page.locator("svg.intervals").first
        assert chart.locator("circle").count() == 0
        assert "finns ej" in (chart.text_content() or "")
        # Three areas and the organisation's reference row.
        assert page.locator("table.figures").first.locator("td.unavailable").count() == 4
        check_at_both_widths(page, axe, "compare an unavailable index (sv)")
        page.goto(f"{round_page}/compare?target=indicator:andel_utsatta_12m&lang=en")
        check_at_both_widths(page, axe, "compare a partly unavailable indicator (en)")

        # The board's page, for the organisation in Swedish and for an area in English.
        urls = []
        for area, language in (("", "sv"), (str(world.areas["norr"]), "en")):
            page.goto(round_page)
            page.select_option("#share-area_id", area)
            page.select_option("#share-language", language)
            page.fill("#share-days", "7")
            page.click("text=Skapa en delningslänk")
            urls.append(html.unescape(page.locator("main code").inner_text()))
    for url, language in zip(urls, ("sv", "en"), strict=True):
        with watched_page(chromium) as board:
            response = board.goto(url)
            assert response is not None and response.status == 200
            policy = response.headers["content-security-policy"]
            assert "style-src 'sha256-" in policy and "script-src" not in policy
            source = board.locator(".source").inner_text()
            assert source == (SOURCE_SV if language == "sv" else SOURCE_EN)
            assert board.locator("td.unavailable").count() >= 2
            check_at_both_widths(board, axe, f"board page of a round of answer counts ({language})")
