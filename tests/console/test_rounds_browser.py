"""The console's Rounds section in Chromium under the server's CSP: the create wizard by mouse
and keyboard with a visible focus on every stop, the round page, codes and their letters, the
poster page and the close confirmation, styled and with no axe violation in Swedish and English
at 360 and 1280 px."""

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.organisations import service as organisations_service
from survey_api.staff import service as staff_service
from tests.conftest import LiveServer, Org
from tests.console.test_console_browser import FOCUS_STYLE, log_in
from tests.helpers import create_area, ok, publish_standard
from tests.staff.conftest import PASSWORD
from tests.web.browser.checks import check_at_both_widths, watched_page

pytestmark = pytest.mark.browser


@pytest.fixture
def analyst_email(org: Org, db: sessionmaker[Session]) -> str:
    """A staff analyst of an organisation with the standard questionnaire and three areas."""
    publish_standard(org.analyst)
    for code, name in (("hjallbo", "Hjällbo"), ("hammarkullen", "Hammarkullen")):
        create_area(org.analyst, code, 2000, name=name)
    create_area(org.analyst, "kortedala", 2500, name="Kortedala")
    email = f"analytiker.{uuid.uuid4().hex[:8]}@x.example"
    with db() as session:
        organisation = organisations_service.get_organisation(session, org.id)
        _user, token = staff_service.create_user(session, organisation, email, "analyst")
        staff_service.use_password_token(session, token, PASSWORD)
        session.commit()
    return email


def tab_to(page: Any, element_id: str, *, limit: int = 30) -> list[dict[str, Any]]:
    """Press Tab until the element has focus; every stop on the way shows a visible focus."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_STYLE)
        seen.append(focus)
        assert focus["outline"] != "none" and focus["width"] >= 2, focus
        if focus["id"] == element_id:
            return seen
    raise AssertionError(f"never reached #{element_id}: {seen}")


def test_rounds_wizard_round_page_and_posters(
    chromium: Any,
    axe: Any,
    console_server: LiveServer,
    org: Org,
    analyst_email: str,
    artifacts: Path,
) -> None:
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        log_in(page, analyst_email)
        page.click("nav >> text=Mätomgångar")
        page.wait_for_url("**/console/rounds")
        assert page.locator("h1").inner_text() == "Mätomgångar"
        check_at_both_widths(page, axe, "rounds list, empty (sv)")
        page.click("text=Skapa en mätomgång")
        page.wait_for_url("**/console/rounds/new")
        check_at_both_widths(page, axe, "wizard (sv)")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(artifacts / "console-round-wizard.png"), full_page=True)

        # Sent without a name and without areas: the errors, beside the fields and summed up.
        page.click(".wizard button[type=submit]")
        page.wait_for_load_state()
        summary = page.locator(".error-summary")
        assert "Det finns ett problem" in summary.inner_text()
        assert "Ge mätomgången ett namn" in page.locator("#name-error").inner_text()
        assert "Välj minst ett område" in page.locator("#area_ids-error").inner_text()
        check_at_both_widths(page, axe, "wizard with errors (sv)")
        # The summary's link takes the keyboard to the field.
        summary.locator("a[href='#name']").click()
        assert page.evaluate(FOCUS_STYLE)["id"] == "name"

        # Keyboard only from here: the version is already chosen (the only one).
        page.keyboard.type("Trygghetsmätning 2026")
        tab_to(page, "period")
        assert page.input_value("#period") == page.input_value("#open_date")[:4]
        checkboxes = page.locator("input[name=area_ids]")
        first, second = (checkboxes.nth(i).get_attribute("id") for i in (0, 1))
        assert first and second
        tab_to(page, first)
        page.keyboard.press("Space")
        tab_to(page, second)
        page.keyboard.press("Space")
        tab_to(page, "links-on")
        page.keyboard.press("ArrowDown")  # the radio group: area links off
        assert page.evaluate(FOCUS_STYLE)["id"] == "links-off"
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_STYLE)
        assert focus["tag"] == "button" and focus["outline"] != "none", focus
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/console/rounds/\d+\?done=created"))
        round_id = int(re.findall(r"/rounds/(\d+)", page.url)[0])
        stored = ok(org.analyst.get(f"/api/v1/rounds/{round_id}"))
        assert stored["name"] == "Trygghetsmätning 2026" and len(stored["area_ids"]) == 2
        assert stored["area_links_enabled"] is False

        assert page.locator("h1").inner_text().startswith("Trygghetsmätning 2026")
        assert "Mätomgången är skapad" in page.locator(".notice").inner_text()
        check_at_both_widths(page, axe, "round page (sv)")

        # Codes by mouse: shown once, then letters in a new tab.
        page.select_option("#area_id", index=1)
        page.fill("#count", "3")
        page.click("text=Utfärda koder")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Utfärdade koder"
        check_at_both_widths(page, axe, "codes issued (sv)")
        page.click("summary")
        codes = page.locator("ol.codes code").all_inner_texts()
        assert len(codes) == 3
        with page.expect_popup() as popup:
            page.click("text=Skriv ut brev för de här koderna")
        letters = popup.value
        letters.wait_for_load_state()
        text = letters.locator("body").inner_text()
        assert all(code in text for code in codes)
        letters.close()
        counts = ok(org.analyst.get(f"/api/v1/rounds/{round_id}/invitations"))
        assert counts["total"]["issued"] == 3

        page.goto(f"/console/rounds/{round_id}")
        page.click("text=Slå på områdeslänkarna")
        page.wait_for_url("**done=links_on")
        assert ok(org.analyst.get(f"/api/v1/rounds/{round_id}"))["area_links_enabled"] is True
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(artifacts / "console-round.png"), full_page=True)
        for lang in ("sv", "en"):
            response = page.goto(f"/console/rounds/{round_id}?lang={lang}")
            assert response is not None and response.status == 200
            assert page.locator("html").get_attribute("lang") == lang
            check_at_both_widths(page, axe, f"round page ({lang})")
            response = page.goto(f"/console/rounds/{round_id}/posters?lang={lang}")
            assert response is not None and response.status == 200
            assert page.locator("section.poster svg.qr").count() == 2
            check_at_both_widths(page, axe, f"posters ({lang})")
            for path, name in (
                ("/console/rounds", "rounds list"),
                ("/console/rounds/new", "wizard"),
                (f"/console/rounds/{round_id}/close", "close confirmation"),
            ):
                response = page.goto(f"{path}?lang={lang}")
                assert response is not None and response.status == 200
                check_at_both_widths(page, axe, f"{name} ({lang})")
        qr = page.goto(f"/console/rounds/{round_id}/posters")
        assert qr is not None
        box = page.locator("section.poster svg.qr").first.bounding_box()
        assert box and box["width"] >= 150, box  # large enough to scan from a poster

        page.goto(f"/console/rounds/{round_id}/close")
        page.click("text=Ja, stäng mätomgången")
        page.wait_for_url("**done=closed")
        assert "Mätomgången är stängd" in page.locator(".notice").inner_text()
        assert ok(org.analyst.get(f"/api/v1/rounds/{round_id}"))["status"] == "closed"
