"""The board's results page and the invitation letters in Chromium, with the server's own
Content-Security-Policy enforced: styled (not Times), bordered tables, charts that fit and stay
readable at 360 px and 1280 px, no CSP violation or console error, and no axe violation."""

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, Org
from tests.helpers import create_area, ok, publish_standard
from tests.results.support import generate, upload
from tests.web.browser.checks import (
    DESKTOP,
    PHONE,
    assert_styled,
    check_at_both_widths,
    watched_page,
)
from tests.web.browser.conftest import copy_to_docs
from tests.web.conftest import issue_codes

pytestmark = pytest.mark.browser

NBSP = "\u00a0"


@dataclass
class Report:
    """Three yearly rounds over three areas, one too small to show, and an intervention."""

    round_id: int
    area_id: int  # Hjällbo: trygghetsvärdar started before the latest round
    small_area_id: int


def _round(org: Org, version_id: int, period: str, area_ids: list[int], opened: date) -> int:
    body = {
        "name": f"Trygghetsmätning {period}",
        "questionnaire_version_id": version_id,
        "period": period,
        "area_ids": area_ids,
        "open_date": opened.isoformat(),
        "close_date": (date.today() + timedelta(days=30)).isoformat(),
    }
    return int(ok(org.analyst.post("/api/v1/rounds", json=body), 201)["id"])


@pytest.fixture
def report(org: Org) -> Report:
    ok(org.admin.patch("/api/v1/organisation", json={"name": "Demobostäder AB"}))
    version = publish_standard(org.analyst)
    hjallbo = create_area(org.analyst, "hjallbo", 2300, name="Hjällbo")
    hammarkullen = create_area(org.analyst, "hammarkullen", 1900, name="Hammarkullen")
    kortedala = create_area(org.analyst, "kortedala", 2500, name="Kortedala")
    areas = [hjallbo["id"], hammarkullen["id"], kortedala["id"]]
    rng = random.Random(7)
    today = date.today()
    round_id = 0
    # Safer year by year (tilt favours the first, most favourable options).
    for years_ago, tilt in ((2, 0.1), (1, 0.4), (0, 1.2)):
        period = str(2026 - years_ago)
        round_id = _round(
            org, version["id"], period, areas, today - timedelta(days=10 + 365 * years_ago)
        )
        upload(org.integrator, round_id, hjallbo["id"], generate(rng, 240, tilt=tilt))
        upload(org.integrator, round_id, hammarkullen["id"], generate(rng, 180, tilt=tilt / 2))
        upload(org.integrator, round_id, kortedala["id"], generate(rng, 6))
        if years_ago:
            ok(org.analyst.post(f"/api/v1/rounds/{round_id}/close"))
    issue_codes(org, round_id, hjallbo["id"], 600)  # letters sent: the response rate's base
    intervention = {
        "name": "Trygghetsvärdar",
        "category": "trygghetsvardar",
        "area_ids": [hjallbo["id"]],
        "start_date": (today - timedelta(days=20)).isoformat(),
    }
    ok(org.analyst.post("/api/v1/interventions", json=intervention), 201)
    return Report(round_id=round_id, area_id=hjallbo["id"], small_area_id=kortedala["id"])


def share_path(org: Org, round_id: int, area_id: int | None, language: str) -> str:
    link = ok(
        org.analyst.post(
            f"/api/v1/rounds/{round_id}/share-links",
            json={"area_id": area_id, "language": language},
        ),
        201,
    )
    return httpx.URL(link["url"]).path


def test_results_page_is_styled_readable_and_accessible(
    chromium: Any, axe: Any, server: LiveServer, org: Org, report: Report, artifacts: Path
) -> None:
    area_page = share_path(org, report.round_id, report.area_id, "sv")
    organisation_page = share_path(org, report.round_id, None, "en")
    with watched_page(chromium, base_url=server.base_url, locale="sv-SE") as page:
        response = page.goto(area_page)
        assert response is not None and response.status == 200
        assert "style-src 'sha256-" in response.headers["content-security-policy"]
        check_at_both_widths(page, axe, "results page (sv, area)")
        # The heading names the round and area, and on a line of its own the survey.
        assert page.locator("h1").inner_text().splitlines() == [
            "Trygghetsmätning 2026: Hjällbo",
            "Enkät: Trygghetsmätning för hyresgäster",
        ]
        # The table and the bars speak the same Swedish: "41 %" with a non-breaking space.
        value = page.locator("table.figures td.value").first.inner_text()
        assert value.endswith(f"{NBSP}%"), repr(value)
        bar_labels = page.locator("svg.bar text").all_text_contents()
        assert bar_labels and all(t.endswith(f"{NBSP}%") for t in bar_labels), bar_labels
        assert page.locator("svg.trend").count() == 8
        assert "Trygghetsvärdar" in page.locator("svg.trend").first.inner_html()
        # The README shows the top of the page (header, key figures, the first charts); the
        # whole page is kept in test-artifacts/.
        for size, top in ((DESKTOP, 1500), (PHONE, 2000)):
            page.set_viewport_size(size)
            facts = assert_styled(page, "results page (sv, area)")
            trend = next(s for s in facts["svgs"] if "trend" in s["cls"])
            assert trend["width"] <= 420, "a trend chart is wider than it is readable"
            name = f"report-{size['width']}"
            page.screenshot(path=str(artifacts / f"{name}-full.png"), full_page=True)
            shot = artifacts / f"{name}.png"
            clip = {"x": 0, "y": 0, "width": size["width"], "height": top}
            page.screenshot(path=str(shot), full_page=True, clip=clip)
            copy_to_docs(shot, f"{name}.png", dated=True)

        page.goto(organisation_page)
        check_at_both_widths(page, axe, "results page (en, organisation)")
        assert page.locator("html").get_attribute("lang") == "en"
        kortedala = page.locator("table.areas tr", has_text="Kortedala").inner_text()
        assert "–" in kortedala and "%" not in kortedala  # too few answers: nothing shown
        page.screenshot(path=str(artifacts / "report-organisation-en.png"), full_page=True)

        response = page.goto(area_page[:-4] + "AAAA")  # a forged link: a short, styled page
        assert response is not None and response.status == 404
        check_at_both_widths(page, axe, "results page (invalid link)")
        page.screenshot(path=str(artifacts / "report-invalid-link.png"), full_page=True)


def test_invitation_letters_are_styled_under_their_own_policy(
    chromium: Any, axe: Any, server: LiveServer, org: Org, report: Report, artifacts: Path
) -> None:
    codes = issue_codes(org, report.round_id, report.area_id, 2)
    url = f"{server.base_url}/api/v1/rounds/{report.round_id}/invitations/letters"
    body = json.dumps({"codes": codes, "languages": ["sv", "ar"]})

    def as_the_analyst(route: Any) -> None:
        # A browser cannot send the API key itself: the navigation becomes the analyst's POST,
        # and the server's response, headers included, is what the page gets.
        headers = {
            **route.request.headers,
            "authorization": f"Bearer {org.keys['analyst']}",
            "content-type": "application/json",
        }
        route.continue_(method="POST", post_data=body, headers=headers)

    with watched_page(chromium) as page:
        page.route(url, as_the_analyst)
        response = page.goto(url)
        assert response is not None and response.status == 200
        assert "style-src 'sha256-" in response.headers["content-security-policy"]
        check_at_both_widths(page, axe, "letters")
        assert page.locator("article.letter").count() == 2
        code = page.locator("p.code").first
        assert code.evaluate("e => getComputedStyle(e).fontFamily").startswith("ui-monospace")
        page.screenshot(path=str(artifacts / "letters-360.png"), full_page=True)
