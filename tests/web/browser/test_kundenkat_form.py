"""The standard kundenkät on the tenant form in Chromium, in Swedish, English and Arabic: every
step under the server's own headers (its CSP), styled and clean in axe-core at 360 and 1280 px,
no console error; the fault-report follow-up appears only after "Ja"; the answers sent are the
answers stored."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.web.rendering import CONTENT_SECURITY_POLICY
from tests.conftest import LiveServer, Org
from tests.helpers import create_area, ok
from tests.web.browser.checks import check_at_both_widths, watched_page
from tests.web.browser.test_browser import answer_step, item_names, stored
from tests.web.conftest import area_path

pytestmark = pytest.mark.browser

KUND = json.loads(
    (Path(__file__).resolve().parents[3] / "src/survey_api/data/kundenkat-standard.json").read_text(
        encoding="utf-8"
    )
)
LOCALES = {"sv": "sv-SE", "en": "en-GB", "ar": "ar-SE"}
THANKS = {"sv": "Tack!", "en": "Thank you!", "ar": "شكرًا لك!"}
FREE_TEXT = {
    "sv": "Bättre belysning vid soprummet.\nFler bänkar på gården.",
    "en": "Better lighting by the bin room.\nMore benches in the courtyard.",
    "ar": "إضاءة أفضل قرب غرفة النفايات.\nمقاعد أكثر في الفناء.",
}


def answers_for(language: str, *, fault_reported: bool) -> dict[str, Any]:
    """A tenant answering every item shown, with "Vet inte" once and a skipped item."""
    answers: dict[str, Any] = {
        "lgh_standard": 4,
        "lgh_underhall": 3,
        "tvattstuga": 9,
        "stadning": 2,
        "utemiljo_skotsel": 4,
        "belysning_ute": 1,
        "lekplatser": 5,
        "service_na": 2,
        "service_bemotande": 5,
        "service_information": 4,
        "felanmalan_12m": 1 if fault_reported else 2,
        "prisvarde": 3,
        "inflytande": 2,
        "grannar_storningar": 3,
        "trivsel": 4,
        "sammanhallning": 3,
        "trygg_ute_kvall": 2,
        "trygg_gemensamma_utr": 1,
        "trygg_bostad": 1,
        # oro_brott_omrade skipped
        "nojd_totalt": 4,
        "rekommendera": 3,
        "bo_kvar": 4,
        "fritext_forbattring": FREE_TEXT[language],
        "kon": 2,
        "aldersgrupp": 3,
        "boendetid": 4,
        "barn_i_hushallet": 1,
    }
    if fault_reported:
        answers["felanmalan_atgardad"] = 2
    return answers


@pytest.fixture
def kundenkat_link(org: Org, server: LiveServer) -> tuple[int, int, str]:
    """An open round of the published kundenkät over one area: (round id, area id, link)."""
    created = ok(org.analyst.post("/api/v1/questionnaires", json=KUND), 201)
    qid = created["questionnaire"]["id"]
    version = ok(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions/1/publish"))
    area = create_area(org.analyst, "gardsten")
    body = {
        "name": "Kundenkät 2026",
        "questionnaire_version_id": version["id"],
        "period": "2026",
        "area_ids": [area["id"]],
        "open_date": (date.today() - timedelta(days=3)).isoformat(),
        "close_date": (date.today() + timedelta(days=30)).isoformat(),
    }
    round_id = ok(org.analyst.post("/api/v1/rounds", json=body), 201)["id"]
    return round_id, area["id"], area_path(server, round_id, area["id"])


@contextmanager
def navigation(page: Any) -> Iterator[list[Any]]:
    """The response of the navigation the block triggers, checked for the server's headers."""
    got: list[Any] = []
    with page.expect_navigation() as nav:
        yield got
    response = nav.value
    assert response is not None and response.status == 200, page.url
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, page.url
    got.append(response)


@pytest.mark.parametrize(
    ("language", "fault_reported"), [("sv", True), ("en", False), ("ar", True)]
)
def test_a_tenant_answers_the_kundenkat(
    chromium: Any,
    axe: Any,
    server: LiveServer,
    db: sessionmaker[Session],
    kundenkat_link: tuple[int, int, str],
    language: str,
    fault_reported: bool,
) -> None:
    round_id, area_id, link = kundenkat_link
    answers = answers_for(language, fault_reported=fault_reported)
    steps: list[list[str]] = []
    with watched_page(chromium, base_url=server.base_url, locale=LOCALES[language]) as page:
        # The language comes from the phone's settings (Accept-Language).
        response = page.goto(link)
        assert response is not None and response.status == 200
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        html = page.locator("html")
        assert html.get_attribute("lang") == language
        assert html.get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
        assert KUND["name"][language] in page.locator("body").inner_text()
        check_at_both_widths(page, axe, f"kundenkät start ({language})")
        with navigation(page):
            page.click("button[value=start]")
        while not page.url.split("?")[0].endswith("/thanks"):
            assert len(steps) < 20, "the form does not end"
            assert html.get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
            check_at_both_widths(page, axe, f"kundenkät step {len(steps) + 1} ({language})")
            names = item_names(page)
            if names[0] == "lgh_standard":
                # The apartment's satisfaction questions share one grid of answers.
                grid = page.locator(".grid")
                assert grid.locator("fieldset").count() == 3
                assert (
                    page.locator("h1").last.inner_text() == KUND["sections"][0]["title"][language]
                )
            steps.append(answer_step(page, answers))
            with navigation(page):
                page.click("button[value=next]")
        assert page.locator("h1").inner_text() == THANKS[language]

    asked = [name for step in steps for name in step]
    # Every item is asked once, in the questionnaire's order; the follow-up only after "Ja".
    expected = [
        item["key"]
        for item in KUND["items"]
        if fault_reported or item["key"] != "felanmalan_atgardad"
    ]
    assert asked == expected
    if fault_reported:
        follow_up = next(step for step in steps if "felanmalan_atgardad" in step)
        assert follow_up == ["felanmalan_atgardad"]  # a page of its own, after the answer
    [response] = stored(db, round_id)
    assert response.answers == answers
    assert (response.language, response.channel, response.area_id) == (language, "web", area_id)
