"""The console and the board's results page say which survey a round belongs to (issue 12),
over HTTP on both databases: the round list's Enkät column and its filter by survey, the
results list, a round's and an area's results page, and the share-link page's heading."""

import html
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import LiveServer
from tests.helpers import create_area, ok, publish_standard
from tests.staff.conftest import Browser, StaffOrg, make_staff_org
from tests.staff.test_console_results import SAFE, UNSAFE, _api, _upload

KUNDENKAT = json.loads(
    (Path(__file__).resolve().parents[2] / "src/survey_api/data/kundenkat-standard.json").read_text(
        encoding="utf-8"
    )
)
TRYGG_SV, TRYGG_EN = "Trygghetsmätning för hyresgäster", "Tenant safety survey"
KUND_SV, KUND_EN = "Kundenkät för hyresgäster", "Tenant customer survey"


@dataclass
class SurveysWorld:
    """A staff organisation with a trygghetsmätning and a kundenkät round in 2026."""

    org: StaffOrg
    api: httpx.Client
    trygg_round: int
    kund_round: int
    area: int


def make_surveys_world(server: LiveServer, db: sessionmaker[Session]) -> SurveysWorld:
    """Both rounds open today over one area, each with 20 answers (items they share)."""
    org = make_staff_org(db)
    api = _api(server, db, org.id)
    area = create_area(api, "centrum")["id"]
    shared = [
        {k: v for k, v in a.items() if k in ("trygg_ute_kvall", "trivsel", "trygg_bostad")}
        for a in [SAFE] * 14 + [UNSAFE] * 6
    ]
    rounds = []
    for definition, name in ((None, "Trygghetsmätning 2026"), (KUNDENKAT, "Kundenkät 2026")):
        version = publish_standard(api, definition)
        body = {
            "name": name,
            "questionnaire_version_id": version["id"],
            "period": "2026",
            "area_ids": [area],
            "open_date": (date.today() - timedelta(days=5)).isoformat(),
            "close_date": (date.today() + timedelta(days=20)).isoformat(),
        }
        round_id = ok(api.post("/api/v1/rounds", json=body), 201)["id"]
        _upload(api, round_id, area, shared)
        rounds.append(round_id)
    return SurveysWorld(org, api, rounds[0], rounds[1], area)


@pytest.fixture
def world(server: LiveServer, db: sessionmaker[Session]) -> Iterator[SurveysWorld]:
    made = make_surveys_world(server, db)
    yield made
    made.api.close()


def signed_in(browser: Callable[[], Browser], org: StaffOrg) -> Browser:
    client = browser()
    assert client.log_in(org.emails["viewer"]).status_code == 303
    return client


def row_of(page: str, round_id: int, base: str) -> str:
    """The text of the table row that links to this round."""
    link = re.search(f'href="{base}/{round_id}["?]', page)
    assert link is not None, f"no link to {base}/{round_id}"
    at = link.start()
    start = page.rindex("<tr>", 0, at)
    return html.unescape(page[start : page.index("</tr>", at)])


def test_round_list_shows_each_round_s_survey_and_filters_by_survey(
    browser: Callable[[], Browser], world: SurveysWorld
) -> None:
    client = signed_in(browser, world.org)
    page = client.get("/console/rounds")
    assert page.status_code == 200
    assert '<th scope="col">Enkät</th>' in page.text
    assert TRYGG_SV in row_of(page.text, world.trygg_round, "/console/rounds")
    assert KUND_SV in row_of(page.text, world.kund_round, "/console/rounds")
    # The filter offers both surveys, and keeps the list to the one chosen.
    assert '<option value="">Alla enkäter</option>' in page.text
    assert f'<option value="kundenkat-standard">{KUND_SV}</option>' in page.text
    only = client.get("/console/rounds", params={"questionnaire": "kundenkat-standard"})
    assert f'href="/console/rounds/{world.kund_round}"' in only.text
    assert f'href="/console/rounds/{world.trygg_round}"' not in only.text
    assert '<option value="kundenkat-standard" selected>' in only.text
    # An unknown key is no error page: every round is listed.
    unknown = client.get("/console/rounds", params={"questionnaire": "nope"})
    assert unknown.status_code == 200
    assert f'href="/console/rounds/{world.trygg_round}"' in unknown.text
    english = client.get("/console/rounds", params={"lang": "en"})
    assert '<th scope="col">Questionnaire</th>' in english.text
    assert KUND_EN in row_of(english.text, world.kund_round, "/console/rounds")
    assert "All questionnaires" in english.text


def test_results_pages_name_the_survey(browser: Callable[[], Browser], world: SurveysWorld) -> None:
    client = signed_in(browser, world.org)
    listing = client.get("/console/results")
    assert KUND_SV in row_of(listing.text, world.kund_round, "/console/results")
    assert TRYGG_SV in row_of(listing.text, world.trygg_round, "/console/results")
    for path in (
        f"/console/results/{world.kund_round}",
        f"/console/results/{world.kund_round}/areas/{world.area}",
        f"/console/results/{world.kund_round}/compare",
    ):
        page = client.get(path)
        assert page.status_code == 200, page.text
        assert f'<p class="survey">Enkät: {KUND_SV}</p>' in page.text
        english = client.get(path, params={"lang": "en"})
        assert f'<p class="survey">Questionnaire: {KUND_EN}</p>' in english.text
    trygg = client.get(f"/console/results/{world.trygg_round}")
    assert f'<p class="survey">Enkät: {TRYGG_SV}</p>' in trygg.text


def test_the_share_link_page_says_the_survey_in_its_heading(
    world: SurveysWorld, anonymous: httpx.Client
) -> None:
    for language, name in (("sv", f"Enkät: {KUND_SV}"), ("en", f"Survey: {KUND_EN}")):
        link = ok(
            world.api.post(
                f"/api/v1/rounds/{world.kund_round}/share-links",
                json={"area_id": world.area, "language": language},
            ),
            201,
        )
        page = anonymous.get(httpx.URL(link["url"]).path)
        assert page.status_code == 200
        heading = page.text[page.text.index("<h1>") : page.text.index("</h1>")]
        assert f'<span class="survey">{name}</span>' in heading
        assert "Kundenkät 2026" in heading


def test_trend_charts_of_a_round_s_pages_keep_to_its_survey(
    browser: Callable[[], Browser], world: SurveysWorld, anonymous: httpx.Client
) -> None:
    """Both surveys have a 2026 round in the area: a chart of one survey's page has one 2026
    point, not two points labelled alike (the API's trends span both)."""
    both = ok(
        world.api.get(
            "/api/v1/results/trends", params={"area_id": world.area, "item": "trygg_ute_kvall"}
        )
    )
    assert [p["period"] for p in both["points"]] == ["2026", "2026"]
    link = ok(
        world.api.post(
            f"/api/v1/rounds/{world.kund_round}/share-links",
            json={"area_id": world.area, "language": "sv"},
        ),
        201,
    )
    board = anonymous.get(httpx.URL(link["url"]).path).text
    console = signed_in(browser, world.org).get(
        f"/console/results/{world.kund_round}/areas/{world.area}"
    )
    for page in (board, console.text):
        labels = re.findall(r'<svg[^>]*class="trend"[^>]*aria-label="([^"]*)"', page)
        assert labels, "no trend chart"
        for label in labels:
            assert html.unescape(label).count("2026") == 1, label
