"""List endpoints answer pages: a bounded limit, a stable order, a total and a next link."""

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Area
from tests.api.support import days, error_locs, problem
from tests.conftest import Org
from tests.helpers import create_area, ok, publish_standard, standard_definition

LISTS = ("/api/v1/areas", "/api/v1/questionnaires", "/api/v1/rounds", "/api/v1/interventions")


def add_areas(db: sessionmaker[Session], organisation_id: int, codes: list[str]) -> None:
    """Store areas directly: hundreds of POSTs would only slow the test down."""
    with db() as session:
        session.add_all(
            Area(organisation_id=organisation_id, code=c, name=c.title(), municipality_code="1480")
            for c in codes
        )
        session.commit()


def pages(client: httpx.Client, url: str) -> Iterator[dict[str, Any]]:
    """Follow `next` from url to the last page, checking the Link header on the way."""
    next_url: str | None = url
    while next_url is not None:
        response = client.get(next_url)
        page = ok(response)
        assert set(page) == {"items", "total", "limit", "offset", "next"}
        if page["next"] is None:
            assert "link" not in response.headers
        else:
            assert response.headers["link"] == f'<{page["next"]}>; rel="next"'
        yield page
        next_url = page["next"]


def test_250_areas_come_in_pages_of_100_100_50(
    org: Org, make_org: Any, db: sessionmaker[Session]
) -> None:
    codes = [f"omr{i:03d}" for i in range(250)]
    shuffled = codes[:]
    random.Random(8).shuffle(shuffled)  # ids in another order than codes
    add_areas(db, org.id, shuffled)
    other = make_org()
    add_areas(db, other.id, [f"grannen{i}" for i in range(30)])

    walked = list(pages(org.integrator, "/api/v1/areas?limit=100"))

    assert [len(p["items"]) for p in walked] == [100, 100, 50]
    assert [(p["total"], p["limit"], p["offset"]) for p in walked] == [
        (250, 100, 0),
        (250, 100, 100),
        (250, 100, 200),
    ]
    assert walked[0]["next"] == "/api/v1/areas?limit=100&offset=100"
    listed = [a for p in walked for a in p["items"]]
    assert [a["code"] for a in listed] == codes  # every area once, by code
    assert len({a["id"] for a in listed}) == 250
    # The default page is 100, and the order is the same on every call.
    first = ok(org.analyst.get("/api/v1/areas"))
    assert first["items"] == walked[0]["items"] and first["limit"] == 100
    # Another organisation sees and counts only its own.
    theirs = ok(other.analyst.get("/api/v1/areas"))
    assert theirs["total"] == 30 and theirs["next"] is None
    assert {a["code"] for a in theirs["items"]} == {f"grannen{i}" for i in range(30)}


def test_no_link_when_the_page_ends_the_list(org: Org, db: sessionmaker[Session]) -> None:
    add_areas(db, org.id, [f"a{i:02d}" for i in range(10)])
    exact = org.analyst.get("/api/v1/areas?limit=10")
    assert (ok(exact)["next"], len(ok(exact)["items"])) == (None, 10)
    assert "link" not in exact.headers
    beyond = org.analyst.get("/api/v1/areas?offset=50")
    assert ok(beyond) == {"items": [], "total": 10, "limit": 100, "offset": 50, "next": None}
    assert "link" not in beyond.headers
    last = ok(org.analyst.get("/api/v1/areas?limit=3&offset=9"))
    assert [a["code"] for a in last["items"]] == ["a09"] and last["next"] is None


def test_round_filters_are_paged_and_counted_in_sql(org: Org, make_org: Any) -> None:
    version = publish_standard(org.analyst)
    area = create_area(org.analyst, "norr")

    def make(period: str, open_in: int, close_in: int) -> int:
        body = {
            "name": f"Omgång {period}",
            "questionnaire_version_id": version["id"],
            "period": period,
            "area_ids": [area["id"]],
            "open_date": days(open_in),
            "close_date": days(close_in),
        }
        return int(ok(org.analyst.post("/api/v1/rounds", json=body), 201)["id"])

    open_2026 = [make("2026", -5, 30) for _ in range(5)]
    closed_early = make("2026", -5, 30)
    ok(org.analyst.post(f"/api/v1/rounds/{closed_early}/close"))
    closed = make("2026", -400, -300)
    scheduled = make("2026", 100, 130)
    make("2025", -5, 30)  # open, but another period
    other = make_org()
    other_version = publish_standard(other.analyst)
    other_area = create_area(other.analyst, "grannen")
    ok(
        other.analyst.post(
            "/api/v1/rounds",
            json={
                "name": "Grannens",
                "questionnaire_version_id": other_version["id"],
                "period": "2026",
                "area_ids": [other_area["id"]],
                "open_date": days(-5),
                "close_date": days(30),
            },
        ),
        201,
    )

    walked = list(pages(org.integrator, "/api/v1/rounds?period=2026&status=open&limit=2"))

    assert [len(p["items"]) for p in walked] == [2, 2, 1]
    assert {p["total"] for p in walked} == {5}
    assert walked[0]["next"] == "/api/v1/rounds?period=2026&status=open&limit=2&offset=2"
    listed = [r for p in walked for r in p["items"]]
    assert [r["id"] for r in listed] == sorted(open_2026)  # ties on period: by id
    assert {(r["period"], r["status"]) for r in listed} == {("2026", "open")}

    def ids(query: str) -> list[int]:
        page = ok(org.integrator.get(f"/api/v1/rounds?{query}"))
        assert page["total"] == len(page["items"])
        return [r["id"] for r in page["items"]]

    assert ids("status=closed&period=2026") == [closed_early, closed]
    assert ids("status=scheduled") == [scheduled]
    assert ok(org.integrator.get("/api/v1/rounds?limit=1"))["total"] == 9


def test_intervention_filters_stay_in_the_next_link(org: Org) -> None:
    treated = create_area(org.analyst, "treated")
    elsewhere = create_area(org.analyst, "elsewhere")

    def register(category: str, area_id: int, start: str = "2025-03-01") -> int:
        body = {"name": category, "category": category, "area_ids": [area_id], "start_date": start}
        return int(ok(org.analyst.post("/api/v1/interventions", json=body), 201)["id"])

    same_day = [register("trygghetsvardar", treated["id"]) for _ in range(4)]
    earlier = register("trygghetsvardar", treated["id"], start="2024-06-01")
    register("belysning", treated["id"])
    register("trygghetsvardar", elsewhere["id"])

    url = f"/api/v1/interventions?category=trygghetsvardar&area_id={treated['id']}&limit=2"
    walked = list(pages(org.integrator, url))

    assert [len(p["items"]) for p in walked] == [2, 2, 1]
    assert {p["total"] for p in walked} == {5}
    assert "category=trygghetsvardar" in walked[0]["next"]
    assert f"area_id={treated['id']}" in walked[0]["next"]
    listed = [i for p in walked for i in p["items"]]
    assert [i["id"] for i in listed] == [earlier, *sorted(same_day)]  # start date, then id


def test_questionnaires_are_paged_oldest_first(org: Org, make_org: Any) -> None:
    made = []
    for key in ("forsta", "andra", "tredje"):
        definition = standard_definition()
        definition["key"] = key
        made.append(ok(org.analyst.post("/api/v1/questionnaires", json=definition), 201))
    ok(make_org().analyst.post("/api/v1/questionnaires", json=standard_definition()), 201)

    walked = list(pages(org.integrator, "/api/v1/questionnaires?limit=2"))

    assert [len(p["items"]) for p in walked] == [2, 1]
    assert {p["total"] for p in walked} == {3}
    listed = [q for p in walked for q in p["items"]]
    assert [q["key"] for q in listed] == ["forsta", "andra", "tredje"]
    assert [q["versions"][0]["number"] for q in listed] == [1, 1, 1]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("offset=99999999999999999999999", "offset"),
    ],
)
def test_out_of_range_paging_is_a_422_problem(org: Org, path: str, query: str, field: str) -> None:
    body = problem(org.integrator.get(f"{path}?{query}"), 422)
    assert error_locs(body) == [["query", field]]


@pytest.mark.parametrize("path", LISTS)
def test_every_list_is_a_page(org: Org, path: str) -> None:
    response = org.integrator.get(f"{path}?limit=500")
    assert ok(response) == {"items": [], "total": 0, "limit": 500, "offset": 0, "next": None}
    assert "link" not in response.headers
