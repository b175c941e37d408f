"""The console's Interventions section over HTTP, on both databases: an intervention registered
or changed in the console is the API's intervention, its evaluation page shows the API's
difference-in-differences in Swedish, roles and CSRF guard every change, and another
organisation's intervention is exactly as absent as a missing one."""

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from survey_api.console.interventions import points
from survey_api.models import Response, SurveyRound, SurveyRoundArea
from survey_api.organisations import service as organisations_service
from survey_api.presentation import formatting
from tests.conftest import LiveServer
from tests.helpers import create_area, ok, publish_standard
from tests.staff.conftest import Browser, StaffOrg, csrf_of, make_staff_org
from tests.staff.test_console_rounds import api_client

_ID = re.compile(r"/console/interventions/(\d+)")
NBSP = "\u00a0"
# Respondents unsafe out late (of 40) per area and year; the same shape as
# tests/interventions/test_evaluation.py: a before (2024), an earlier (2023), an after (2026).
UNSAFE = {
    "Hjällbo": {2023: 20, 2024: 21, 2026: 12},
    "Hammarkullen": {2023: 18, 2024: 18, 2026: 17},
    "Kortedala": {2023: 14, 2024: 15, 2026: 15},
}
N = 40


@dataclass
class World:
    """A staff organisation with an API key, the standard questionnaire, three areas of one area
    type and three closed yearly rounds with answers."""

    org: StaffOrg
    api: httpx.Client
    area_ids: dict[str, int]


def make_world(server: LiveServer, db: sessionmaker[Session]) -> World:
    org = make_staff_org(db)
    api = api_client(server, db, org.id)
    version = publish_standard(api)
    ids = {
        name: create_area(
            api,
            f"a{uuid.uuid4().hex[:6]}",
            1000 * (i + 1),
            name=name,
            classifications=[{"year": 2023, "area_type": 1}],
        )["id"]
        for i, name in enumerate(UNSAFE)
    }
    with db() as session:
        for year in (2023, 2024, 2026):
            survey_round = SurveyRound(
                organisation_id=org.id,
                questionnaire_version_id=version["id"],
                name=f"Trygghetsmätning {year}",
                period=str(year),
                open_date=date(year, 3, 1),
                close_date=date(year, 4, 30),
            )
            session.add(survey_round)
            session.flush()
            rows = []
            for name, area_id in ids.items():
                session.add(SurveyRoundArea(survey_round_id=survey_round.id, area_id=area_id))
                rows += [
                    {
                        "survey_round_id": survey_round.id,
                        "area_id": area_id,
                        "language": "sv",
                        "channel": "paper",
                        "entry": "api",
                        "submitted_date": date(year, 3, 15),
                        "answers": {"trygg_ute_kvall": 3 if i < UNSAFE[name][year] else 1},
                    }
                    for i in range(N)
                ]
            session.execute(insert(Response), rows)
        session.commit()
    return World(org, api, ids)


@pytest.fixture
def world(server: LiveServer, db: sessionmaker[Session]) -> Iterator[World]:
    made = make_world(server, db)
    yield made
    made.api.close()


def signed_in(browser: Callable[[], Browser], world: World, role: str = "analyst") -> Browser:
    client = browser()
    assert client.log_in(world.org.emails[role]).status_code == 303
    return client


def form_fields(world: World, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "Trygghetsvärdar i Hjällbo",
        "category": "trygghetsvardar",
        "area_ids": [str(world.area_ids["Hjällbo"])],
        "start_date": "2025-06-01",
        "end_date": "",
        "cost_sek": "1 800 000",
        "description": "Två trygghetsvärdar kvällar och helger.",
        **overrides,
    }


def register(client: Browser, world: World, **overrides: Any) -> int:
    page = client.get("/console/interventions/new")
    assert page.status_code == 200
    data = {"csrf_token": csrf_of(page.text), **form_fields(world, **overrides)}
    created = client.post("/console/interventions/new", data=data)
    assert created.status_code == 303, created.text
    found = _ID.search(created.headers["location"])
    assert found
    return int(found.group(1))


def test_registered_in_the_console_is_the_api_s_intervention(
    browser: Callable[[], Browser], world: World
) -> None:
    client = signed_in(browser, world)
    intervention_id = register(client, world)
    stored = ok(world.api.get(f"/api/v1/interventions/{intervention_id}"))
    assert {k: stored[k] for k in ("name", "category", "area_ids", "start_date")} == {
        "name": "Trygghetsvärdar i Hjällbo",
        "category": "trygghetsvardar",
        "area_ids": [world.area_ids["Hjällbo"]],
        "start_date": "2025-06-01",
    }
    assert stored["end_date"] is None and stored["cost_sek"] == 1_800_000
    assert stored["description"] == "Två trygghetsvärdar kvällar och helger."
    page = client.get(f"/console/interventions/{intervention_id}?done=created")
    assert "Insatsen är registrerad" in page.text
    listing = client.get("/console/interventions")
    assert listing.status_code == 200
    assert f'href="/console/interventions/{intervention_id}"' in listing.text
    assert f"1{NBSP}800{NBSP}000{NBSP}kr" in listing.text and "Hjällbo" in listing.text
    # The API's registration appears in the console's list just the same.
    ok(
        world.api.post(
            "/api/v1/interventions",
            json={
                "name": "Belysning",
                "category": "belysning",
                "area_ids": [world.area_ids["Kortedala"]],
                "start_date": "2025-09-01",
            },
        ),
        201,
    )
    assert "Belysning" in client.get("/console/interventions").text


def test_errors_beside_the_fields_and_in_a_summary(
    browser: Callable[[], Browser], world: World
) -> None:
    client = signed_in(browser, world)
    page = client.get("/console/interventions/new")
    bad = client.post(
        "/console/interventions/new",
        data={
            "csrf_token": csrf_of(page.text),
            **form_fields(world, name="", category="Trygghet!", area_ids=[], cost_sek="många"),
        },
    )
    assert bad.status_code == 422
    assert "Det finns ett problem" in bad.text
    for name in ("name", "category", "area_ids", "cost_sek"):
        assert f'id="{name}-error"' in bad.text, name
    assert 'value="Trygghet!"' in bad.text  # what was typed stays
    dates = client.post(
        "/console/interventions/new",
        data={"csrf_token": csrf_of(page.text), **form_fields(world, end_date="2025-01-01")},
    )
    assert dates.status_code == 422 and 'id="end_date-error"' in dates.text
    # The service's own refusal (an area that is not the organisation's) is shown too.
    foreign = client.post(
        "/console/interventions/new",
        data={"csrf_token": csrf_of(page.text), **form_fields(world, area_ids=["2000000000"])},
    )
    assert foreign.status_code == 422 and "no areas with ids 2000000000" in foreign.text
    assert ok(world.api.get("/api/v1/interventions"))["total"] == 0


def test_edit_and_delete(browser: Callable[[], Browser], world: World) -> None:
    client = signed_in(browser, world)
    intervention_id = register(client, world)
    path = f"/console/interventions/{intervention_id}"
    edit = client.get(f"{path}/edit")
    assert edit.status_code == 200 and 'value="1800000"' in edit.text
    areas = [str(world.area_ids["Hjällbo"]), str(world.area_ids["Hammarkullen"])]
    saved = client.post(
        f"{path}/edit",
        data={
            "csrf_token": csrf_of(edit.text),
            **form_fields(world, area_ids=areas, end_date="2026-12-31", cost_sek="", name="Värdar"),
        },
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("done=saved")
    stored = ok(world.api.get(f"/api/v1/interventions/{intervention_id}"))
    assert stored["name"] == "Värdar" and stored["end_date"] == "2026-12-31"
    assert stored["area_ids"] == sorted(int(a) for a in areas) and stored["cost_sek"] is None
    # A refused change stores nothing, not even the fields that were fine.
    refused = client.post(
        f"{path}/edit",
        data={"csrf_token": csrf_of(edit.text), **form_fields(world, name="X", start_date="")},
    )
    assert refused.status_code == 422 and 'id="start_date-error"' in refused.text
    assert ok(world.api.get(f"/api/v1/interventions/{intervention_id}"))["name"] == "Värdar"

    confirm = client.get(f"{path}/delete")
    assert confirm.status_code == 200 and "Ja, ta bort insatsen" in confirm.text
    deleted = client.post(f"{path}/delete", data={"csrf_token": csrf_of(confirm.text)})
    assert deleted.status_code == 303 and deleted.headers["location"].endswith("done=deleted")
    assert world.api.get(f"/api/v1/interventions/{intervention_id}").status_code == 404
    assert client.get(path).status_code == 404


def test_the_evaluation_page_shows_the_api_s_numbers_in_swedish(
    browser: Callable[[], Browser], world: World
) -> None:
    client = signed_in(browser, world, "viewer")
    analyst = signed_in(browser, world)
    intervention_id = register(analyst, world)
    api = ok(
        world.api.get(
            f"/api/v1/interventions/{intervention_id}/evaluation",
            params={"indicator": "andel_otrygga_kvall"},
        )
    )
    page = client.get(f"/console/interventions/{intervention_id}/evaluation")
    assert page.status_code == 200, page.text
    text = page.text
    assert 'value="indicator:andel_otrygga_kvall" selected' in text
    did = api["did"]
    for value in (did["estimate"], did["low"], did["high"]):
        assert points(value, "sv") in text
    assert f"{points(did['estimate'], 'sv')} procentenheter" in text
    assert points(did["estimate"], "sv").startswith("\u2212") and "," in points(did["low"], "sv")
    for cell in api["cells"]:
        if cell["when"] != "earlier":
            assert formatting.percent(cell["p"], "sv") in text
            assert f"n = {formatting.number(cell['n'], 'sv')}" in text
    [pre] = api["pre_trend"]
    assert points(pre["estimate"]["estimate"], "sv") in text
    assert "Hammarkullen" in text and "Kortedala" in text  # the comparison areas
    assert api["period_note"]["sv"] in text
    # One survey only: the page and the note name no survey, and there is no survey picker.
    assert "Enkät:" not in text and 'id="questionnaire"' not in text
    assert "regression mot medelvärdet" in text and api["caveat"]["sv"] in text
    english = client.get(f"/console/interventions/{intervention_id}/evaluation?lang=en")
    assert api["caveat"]["en"] in english.text and "percentage points" in english.text
    # Chosen periods are the API's before=/after=.
    chosen = client.get(
        f"/console/interventions/{intervention_id}/evaluation",
        params={"measure": "indicator:andel_otrygga_kvall", "before": "2023", "after": "2026"},
    )
    api_chosen = ok(
        world.api.get(
            f"/api/v1/interventions/{intervention_id}/evaluation",
            params={"indicator": "andel_otrygga_kvall", "before": "2023", "after": "2026"},
        )
    )
    assert api_chosen["period_note"]["sv"] in chosen.text
    assert points(api_chosen["did"]["estimate"], "sv") in chosen.text


def test_suppressed_cells_show_fewer_than_n(
    browser: Callable[[], Browser], world: World, db: sessionmaker[Session]
) -> None:
    analyst = signed_in(browser, world)
    intervention_id = register(analyst, world)
    with db() as session:
        organisations_service.get_organisation(session, world.org.id).min_cell_size = 50
        session.commit()
    page = analyst.get(f"/console/interventions/{intervention_id}/evaluation")
    assert page.status_code == 200
    assert "färre än 50" in page.text
    assert "Ingen skattning" in page.text and "procentenheter (" not in page.text


def test_viewers_read_but_may_not_change(browser: Callable[[], Browser], world: World) -> None:
    analyst = signed_in(browser, world)
    intervention_id = register(analyst, world)
    viewer = signed_in(browser, world, "viewer")
    path = f"/console/interventions/{intervention_id}"
    listing = viewer.get("/console/interventions")
    assert listing.status_code == 200 and "Registrera en insats" not in listing.text
    assert viewer.get(path).status_code == 200 and "Ta bort insatsen" not in viewer.get(path).text
    token = csrf_of(listing.text)
    for get in ("/console/interventions/new", f"{path}/edit", f"{path}/delete"):
        assert viewer.get(get).status_code == 403, get
    for post, data in (
        ("/console/interventions/new", form_fields(world)),
        (f"{path}/edit", form_fields(world, name="Viewer")),
        (f"{path}/delete", {}),
    ):
        answer = viewer.post(post, data={"csrf_token": token, **data})
        assert answer.status_code == 403 and "Inte tillåtet" in answer.text, post
    stored = ok(world.api.get("/api/v1/interventions"))
    assert stored["total"] == 1 and stored["items"][0]["name"] == "Trygghetsvärdar i Hjällbo"


def test_posts_without_the_csrf_token_change_nothing(
    browser: Callable[[], Browser], world: World
) -> None:
    client = signed_in(browser, world, "admin")
    intervention_id = register(client, world)
    path = f"/console/interventions/{intervention_id}"
    for post, data in (
        ("/console/interventions/new", form_fields(world, name="Ny")),
        (f"{path}/edit", form_fields(world, name="Ändrad")),
        (f"{path}/delete", {}),
    ):
        for token in (None, "fel"):
            sent = data | ({"csrf_token": token} if token else {})
            answer = client.post(post, data=sent)
            assert answer.status_code == 403, (post, token)
            assert "Inget har ändrats" in answer.text
    stored = ok(world.api.get("/api/v1/interventions"))
    assert stored["total"] == 1 and stored["items"][0]["name"] == "Trygghetsvärdar i Hjällbo"


# Every console interventions route with an id, walked with another organisation's id.
INTERVENTION_ROUTES = (
    ("GET", "/console/interventions/{intervention_id}"),
    ("GET", "/console/interventions/{intervention_id}/edit"),
    ("POST", "/console/interventions/{intervention_id}/edit"),
    ("GET", "/console/interventions/{intervention_id}/delete"),
    ("POST", "/console/interventions/{intervention_id}/delete"),
    ("GET", "/console/interventions/{intervention_id}/evaluation"),
)


def test_another_organisations_intervention_is_exactly_like_a_missing_one(
    browser: Callable[[], Browser], world: World, server: LiveServer, db: sessionmaker[Session]
) -> None:
    theirs_world = make_world(server, db)
    try:
        theirs = register(signed_in(browser, theirs_world), theirs_world)
        client = signed_in(browser, world, "admin")
        token = csrf_of(client.get("/console/interventions").text)
        data = {"csrf_token": token, **form_fields(world, name="Kapad")}
        missing = 2_000_000_000
        for method, template in INTERVENTION_ROUTES:
            answers = [
                client.request(
                    method,
                    template.format(intervention_id=intervention_id),
                    data=data if method == "POST" else None,
                )
                for intervention_id in (theirs, missing, "abc")
            ]
            assert [a.status_code for a in answers] == [404, 404, 404], (method, template)
            texts = {
                a.text.replace(str(missing), "ID").replace(str(theirs), "ID").replace("abc", "ID")
                for a in answers
            }
            assert len(texts) == 1, (method, template)
            assert "Här finns ingenting" in answers[0].text
        stored = ok(theirs_world.api.get(f"/api/v1/interventions/{theirs}"))
        assert stored["name"] == "Trygghetsvärdar i Hjällbo"
    finally:
        theirs_world.api.close()


def test_the_list_pages(browser: Callable[[], Browser], world: World) -> None:
    client = signed_in(browser, world, "viewer")
    for n in range(22):
        body = {
            "name": f"Insats {n:02d}",
            "category": "sommarjobb",
            "area_ids": [world.area_ids["Kortedala"]],
            "start_date": f"20{10 + n}-01-01",
        }
        ok(world.api.post("/api/v1/interventions", json=body), 201)
    first = client.get("/console/interventions?lang=en")
    assert first.status_code == 200 and "page 1 of 2" in first.text
    names = re.findall(r'interventions/\d+\?lang=en">([^<]+)</a>', first.text)
    assert names[0] == "Insats 00" and len(names) == 20
    second = client.get("/console/interventions?page=2&lang=en")
    assert re.findall(r'interventions/\d+\?lang=en">([^<]+)</a>', second.text) == [
        "Insats 20",
        "Insats 21",
    ]
