"""The staff console in Chromium: log in (also by keyboard alone, with a visible focus), read
the overview of an open round, and every foundation page styled under the server's CSP with no
axe violation, in Swedish and English, at 360 and 1280 px."""

import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.organisations import service as organisations_service
from survey_api.staff import service as staff_service
from tests.api.support import today as swedish_today
from tests.conftest import LiveServer, Org
from tests.helpers import create_area, ok, publish_standard
from tests.results.support import generate, upload
from tests.staff.conftest import PASSWORD
from tests.web.browser.checks import check_at_both_widths, watched_page
from tests.web.conftest import issue_codes

pytestmark = pytest.mark.browser

NBSP = "\u00a0"

FOCUS_STYLE = """() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  return {id: e.id, tag: e.tagName.toLowerCase(), text: (e.textContent || '').trim(),
          outline: s.outlineStyle, width: parseFloat(s.outlineWidth) || 0,
          shadow: s.boxShadow};
}"""


@dataclass
class Coordinator:
    email: str
    round_name: str


@pytest.fixture
def coordinator(org: Org, db: sessionmaker[Session]) -> Coordinator:
    """An open round like the demo's: two areas with answers, one too small to show, letters
    sent in Hjällbo; and a staff admin of the same organisation."""
    ok(org.admin.patch("/api/v1/organisation", json={"name": "Demobostäder AB"}))
    version = publish_standard(org.analyst)
    hjallbo = create_area(org.analyst, "hjallbo", 2300, name="Hjällbo")
    hammarkullen = create_area(org.analyst, "hammarkullen", 1900, name="Hammarkullen")
    kortedala = create_area(org.analyst, "kortedala", 2500, name="Kortedala")
    today = swedish_today()  # round dates are Swedish calendar dates
    body = {
        "name": "Trygghetsmätning 2026",
        "questionnaire_version_id": version["id"],
        "period": "2026",
        "area_ids": [hjallbo["id"], hammarkullen["id"], kortedala["id"]],
        "open_date": (today - timedelta(days=10)).isoformat(),
        "close_date": (today + timedelta(days=12)).isoformat(),
    }
    round_id = ok(org.analyst.post("/api/v1/rounds", json=body), 201)["id"]
    rng = random.Random(11)
    upload(org.integrator, round_id, hjallbo["id"], generate(rng, 240, tilt=0.8))
    upload(org.integrator, round_id, hammarkullen["id"], generate(rng, 180, tilt=0.4))
    upload(org.integrator, round_id, kortedala["id"], generate(rng, 6))
    issue_codes(org, round_id, hjallbo["id"], 600)
    email = f"samordnare.{org.slug}@x.example"
    with db() as session:
        organisation = organisations_service.get_organisation(session, org.id)
        _user, token = staff_service.create_user(session, organisation, email, "admin")
        staff_service.use_password_token(session, token, PASSWORD)
        session.commit()
    return Coordinator(email=email, round_name=body["name"])


def log_in(page: Any, email: str, *, lang: str = "") -> None:
    page.goto("/console/login" + (f"?lang={lang}" if lang else ""))
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/**")


def test_overview_and_pages_are_styled_and_accessible(
    chromium: Any,
    axe: Any,
    console_server: LiveServer,
    coordinator: Coordinator,
    artifacts: Path,
) -> None:
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        response = page.goto("/console/login")
        assert response is not None and response.status == 200
        assert "script-src" not in response.headers["content-security-policy"]
        check_at_both_widths(page, axe, "login (sv)")
        log_in(page, coordinator.email)
        assert page.locator("h1").inner_text() == "Översikt"
        round_section = page.locator("section.round")
        assert coordinator.round_name in round_section.locator("h2").inner_text()
        assert "12 dagar kvar" in round_section.inner_text()
        rows = {
            row.locator("th").inner_text(): row.locator("td").all_inner_texts()
            for row in round_section.locator("tbody tr").all()
        }
        assert rows["Kortedala"] == ["färre än 10"]
        assert rows["Hjällbo"] == ["240", f"40{NBSP}%"]  # 240 of 600 letters
        assert rows["Hammarkullen"][0] == "180" and "av hushållen" in rows["Hammarkullen"][1]
        check_at_both_widths(page, axe, "overview (sv)")
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=str(artifacts / "console-overview.png"), full_page=True)
        for path, name in (
            ("/console/password", "change password"),
            ("/console/tillganglighet", "accessibility statement"),
            ("/console/users", "staff users"),
        ):
            for lang in ("sv", "en"):
                response = page.goto(f"{path}?lang={lang}")
                assert response is not None and response.status == 200
                assert page.locator("html").get_attribute("lang") == lang
                check_at_both_widths(page, axe, f"{name} ({lang})")
        assert (
            "Myndigheten för digital förvaltning (DIGG)"
            in page.goto("/console/tillganglighet").text()
        )
        page.goto("/console/?lang=en")
        assert page.locator("h1").inner_text() == "Overview"
        assert "fewer than 10" in page.locator("section.round").inner_text()
        check_at_both_widths(page, axe, "overview (en)")
        # Logging out ends on the login page, which says so.
        page.click("text=Log out")
        page.wait_for_url("**/console/login**")
        assert "You are logged out." in page.locator("main").inner_text()
        check_at_both_widths(page, axe, "login (en, logged out)")


def test_logging_in_by_keyboard_alone_with_a_visible_focus(
    chromium: Any, console_server: LiveServer, coordinator: Coordinator
) -> None:
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        page.goto("/console/login")
        seen = []
        for _ in range(12):
            page.keyboard.press("Tab")
            focus = page.evaluate(FOCUS_STYLE)
            seen.append(focus)
            assert focus["outline"] != "none" and focus["width"] >= 2, focus
            if focus["id"] == "email":
                break
        assert seen[0]["text"] == "Hoppa till innehållet", seen[0]
        assert seen[-1]["id"] == "email", seen
        page.keyboard.type(coordinator.email)
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUS_STYLE)["id"] == "password"
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_STYLE)
        assert focus["tag"] == "button" and focus["outline"] != "none", focus
        page.keyboard.press("Enter")
        page.wait_for_url("**/console/")
        assert page.locator("h1").inner_text() == "Översikt"
