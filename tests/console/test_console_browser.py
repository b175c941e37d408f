"""The staff console in Chromium: log in (also by keyboard alone, with a visible focus), read
the overview of an open round, and every foundation page styled under the server's CSP with no
axe violation, in Swedish and English, at 360 and 1280 px."""

import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Response, SurveyRound
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
        assert rows["Kortedala"] == ["färre än 10", "–"]
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


def test_overview_sparkline_with_figures_per_day_is_styled_and_accessible(
    chromium: Any,
    axe: Any,
    console_server: LiveServer,
    coordinator: Coordinator,
    org: Org,
    db: sessionmaker[Session],
) -> None:
    # The coordinator's 426 answers all came today; move 100 to five days ago and 150 to three
    # days ago. The empty days are hidden, and since they add up to 0 the smallest shown day
    # (100) is hidden too: three days ago (150) and today (176) show figures.
    today = swedish_today()
    with db() as session:
        ids = list(
            session.scalars(
                select(Response.id)
                .join(SurveyRound, SurveyRound.id == Response.survey_round_id)
                .where(SurveyRound.organisation_id == org.id)
                .order_by(Response.id)
            )
        )
        assert len(ids) == 426
        for chosen, day in (
            (ids[:100], today - timedelta(days=5)),
            (ids[100:250], today - timedelta(days=3)),
        ):
            session.execute(
                update(Response).where(Response.id.in_(chosen)).values(submitted_date=day)
            )
        session.commit()
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        log_in(page, coordinator.email)
        section = page.locator("section.round")
        spark = section.locator("svg.sparkline")
        assert spark.count() == 1
        assert spark.get_attribute("role") == "img" and spark.get_attribute("aria-label")
        bars = spark.locator("rect[fill='#1b4f72']")
        assert bars.count() == 2
        assert "Flest på en dag: 176 svar" in section.inner_text()
        section.locator("details summary").click()
        days = {
            row.locator("time").get_attribute("datetime"): row.locator("td").inner_text()
            for row in section.locator("details tbody tr").all()
        }
        assert days[(today - timedelta(days=3)).isoformat()] == "150"
        assert days[today.isoformat()] == "176"
        assert days[(today - timedelta(days=5)).isoformat()] == "färre än 10"
        assert {v for v in days.values() if v not in ("150", "176")} == {"färre än 10"}
        check_at_both_widths(page, axe, "overview with a sparkline, table open (sv)")
        response = page.goto("/console/?lang=en")
        assert response is not None and response.status == 200
        assert "script-src" not in response.headers["content-security-policy"]
        section = page.locator("section.round")
        assert "Most in one day: 176 responses" in section.inner_text()
        section.locator("details summary").click()
        assert "fewer than 10" in section.locator("details table").inner_text()
        check_at_both_widths(page, axe, "overview with a sparkline, table open (en)")
