"""Which survey a round belongs to, in Chromium under the server's CSP (issue 12): the round
list's Enkät column and its filter, a round's results page and the board's share-link page
name the survey, styled and with no axe violation at 360 and 1280 px, in Swedish and English."""

from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import LiveServer
from tests.console.test_console_browser import log_in
from tests.helpers import ok
from tests.staff.test_console_survey_names import (
    KUND_EN,
    KUND_SV,
    TRYGG_SV,
    make_surveys_world,
)
from tests.web.browser.checks import check_at_both_widths, watched_page

pytestmark = pytest.mark.browser


def test_round_list_and_results_page_show_the_survey(
    chromium: Any,
    axe: Any,
    console_server: LiveServer,
    server: LiveServer,
    db: sessionmaker[Session],
) -> None:
    world = make_surveys_world(server, db)
    link = ok(
        world.api.post(
            f"/api/v1/rounds/{world.kund_round}/share-links",
            json={"area_id": world.area, "language": "sv"},
        ),
        201,
    )
    world.api.close()
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        log_in(page, world.org.emails["analyst"])
        page.click("nav >> text=Mätomgångar")
        page.wait_for_url("**/console/rounds")
        kund_row = page.locator(
            "tr", has=page.locator(f"a[href='/console/rounds/{world.kund_round}']")
        )
        assert KUND_SV in kund_row.inner_text()
        assert TRYGG_SV in page.locator("table").inner_text()
        check_at_both_widths(page, axe, "round list with surveys (sv)")
        # Keep the list to the kundenkät with the filter, as a user would.
        page.select_option("#questionnaire", "kundenkat-standard")
        page.click("form.inline-form button")
        page.wait_for_url("**questionnaire=kundenkat-standard")
        assert page.locator(f"a[href='/console/rounds/{world.trygg_round}']").count() == 0
        assert page.locator(f"a[href='/console/rounds/{world.kund_round}']").count() == 1
        check_at_both_widths(page, axe, "round list filtered by survey (sv)")

        round_page = f"/console/results/{world.kund_round}"
        for lang, text in (("sv", f"Enkät: {KUND_SV}"), ("en", f"Questionnaire: {KUND_EN}")):
            response = page.goto(f"{round_page}?lang={lang}")
            assert response is not None and response.status == 200
            assert page.locator("p.survey").inner_text() == text
            # The line sits right under the heading.
            assert page.locator("h1 + p.survey").count() == 1
            check_at_both_widths(page, axe, f"round results with survey ({lang})")

        response = page.goto(server.base_url + httpx.URL(link["url"]).path)
        assert response is not None and response.status == 200
        assert f"Enkät: {KUND_SV}" in page.locator("h1").inner_text()
        check_at_both_widths(page, axe, "share-link page with survey (sv)")
