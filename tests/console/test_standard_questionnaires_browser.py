"""A coordinator creates the standard kundenkät from the console in Chromium: the "new
questionnaire" page offers both standard questionnaires as radio buttons (styled, axe-clean at
360 and 1280 px), the kundenkät is chosen by keyboard and created as draft version 1, and its
tenant-form preview shows its questions in Swedish, English and Arabic (right to left)."""

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.web.rendering import CONTENT_SECURITY_POLICY
from tests.conftest import LiveServer
from tests.console.test_console_browser import log_in
from tests.staff.conftest import make_staff_org
from tests.web.browser.checks import check_at_both_widths, watched_page

pytestmark = pytest.mark.browser

STANDARD_BUTTON = "form:has(input[name=standard]) button[type=submit]"


def test_a_coordinator_creates_the_kundenkat_from_the_console(
    chromium: Any, axe: Any, console_server: LiveServer, db: sessionmaker[Session]
) -> None:
    org = make_staff_org(db)
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        log_in(page, org.emails["analyst"])
        page.goto("/console/questionnaires/new")
        fieldset = page.locator("fieldset", has=page.locator("input[name=standard]"))
        assert fieldset.locator("legend").inner_text() == "Välj standardformulär"
        trygg = page.get_by_label("Trygghetsmätning för hyresgäster")
        kund = page.get_by_label("Kundenkät för hyresgäster")
        assert trygg.is_checked() and not kund.is_checked()
        assert "serviceindex, produktindex och trivselindex" in fieldset.inner_text()
        check_at_both_widths(page, axe, "new questionnaire with two standards (sv)")

        # By keyboard: the arrow key moves the choice within the radio group.
        trygg.focus()
        page.keyboard.press("ArrowDown")
        assert kund.is_checked() and not trygg.is_checked()
        page.click(STANDARD_BUTTON)
        page.wait_for_url(re.compile(r".*/console/questionnaires/\d+/versions/1\?done=created"))
        assert "Kundenkät för hyresgäster" in page.locator("main").inner_text()
        check_at_both_widths(page, axe, "kundenkät version 1 draft (sv)")
        version = page.url.split("?")[0].removeprefix(console_server.base_url)

        questions = {
            "sv": ("Din lägenhet: hur nöjd är du med följande?", "Lägenhetens standard"),
            "en": ("Your flat: how satisfied are you with the following?", "The laundry room"),
            "ar": ("شقتك: ما مدى رضاك عمّا يلي؟", "غرفة الغسيل"),
        }
        for lang, (title, row) in questions.items():
            response = page.goto(f"{version}/preview/{lang}")
            assert response is not None and response.status == 200
            assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
            assert page.locator("h1").last.inner_text() == title
            # The three apartment questions as one grid of the same five answers and "Vet inte".
            grid = page.locator(".grid")
            assert grid.count() == 1 and grid.locator("fieldset").count() == 3
            assert row in grid.inner_text()
            assert page.locator("input[name=lgh_standard]").count() == 6
            check_at_both_widths(page, axe, f"kundenkät preview ({lang})")

        # Back on the page, the same standard again is refused with the API's conflict.
        page.goto("/console/questionnaires/new")
        page.get_by_label("Kundenkät för hyresgäster").check()
        page.click(STANDARD_BUTTON)
        page.wait_for_load_state()
        assert page.locator(".error-summary").count() == 1
        check_at_both_widths(page, axe, "the kundenkät twice (sv)")
