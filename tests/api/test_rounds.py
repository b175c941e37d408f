"""Survey rounds: periods, published versions only, own areas only, status by the dates."""

from typing import Any

import pytest

from tests.api.support import days, error_locs, problem
from tests.conftest import Org
from tests.helpers import create_area, ok, publish_standard, standard_definition


def round_body(version_id: int, areas: list[int], **fields: Any) -> dict[str, Any]:
    return {
        "name": "Trygghetsmätning",
        "questionnaire_version_id": version_id,
        "period": "2026",
        "area_ids": areas,
        "open_date": days(-5),
        "close_date": days(30),
        **fields,
    }


@pytest.fixture
def setup(org: Org) -> tuple[int, list[int]]:
    """A published version and two areas."""
    version = publish_standard(org.analyst)
    areas = [create_area(org.analyst, code)["id"] for code in ("norr", "syd")]
    return version["id"], areas


@pytest.mark.parametrize(
    "period", ["2026", "2026-H1", "2026-H2", "2026-Q1", "2026-Q3", "2026-Q4", "2026-01", "2026-12"]
)
def test_period_formats_accepted(org: Org, setup: tuple[int, list[int]], period: str) -> None:
    version_id, areas = setup
    created = ok(
        org.analyst.post("/api/v1/rounds", json=round_body(version_id, areas, period=period)), 201
    )
    assert created["period"] == period
    assert ok(org.analyst.get(f"/api/v1/rounds/{created['id']}"))["period"] == period


@pytest.mark.parametrize(
    "period",
    [
        "26",
        "2026-H3",
        "2026-Q0",
        "2026-Q5",
        "2026-13",
        "2026-00",
        "2026-1",
        "2026H1",
        "2026-q1",
        "2026-h1",
        "2026-W12",
        "2026-01-01",
        "",
        " 2026",
    ],
)
def test_period_formats_rejected(org: Org, setup: tuple[int, list[int]], period: str) -> None:
    version_id, areas = setup
    body = problem(
        org.analyst.post("/api/v1/rounds", json=round_body(version_id, areas, period=period)), 422
    )
    assert error_locs(body) == [["body", "period"]]
    assert ok(org.analyst.get("/api/v1/rounds"))["items"] == []


def test_a_round_reads_back_as_created(org: Org, setup: tuple[int, list[int]]) -> None:
    version_id, areas = setup
    body = round_body(version_id, areas, period="2026-H1")
    created = ok(org.analyst.post("/api/v1/rounds", json=body), 201)
    assert {k: created[k] for k in body} == body
    assert created["questionnaire_version_number"] == 1
    assert (created["status"], created["closed_at"]) == ("open", None)
    # No responses yet: a small cell, shown like any suppressed count (null, suppressed).
    assert (created["response_count"], created["response_count_suppressed"]) == (None, True)
    assert ok(org.integrator.get(f"/api/v1/rounds/{created['id']}")) == created


def test_a_draft_version_is_refused(org: Org) -> None:
    created = ok(org.analyst.post("/api/v1/questionnaires", json=standard_definition()), 201)
    area = create_area(org.analyst, "norr")
    body = problem(
        org.analyst.post("/api/v1/rounds", json=round_body(created["version"]["id"], [area["id"]])),
        409,
    )
    assert "draft" in body["detail"]
    assert ok(org.analyst.get("/api/v1/rounds"))["items"] == []


def test_an_unknown_version_is_404(org: Org, setup: tuple[int, list[int]]) -> None:
    _, areas = setup
    problem(org.analyst.post("/api/v1/rounds", json=round_body(999999, areas)), 404)


def test_another_organisations_areas_and_versions_are_404(
    org: Org, make_org: Any, setup: tuple[int, list[int]]
) -> None:
    version_id, areas = setup
    other = make_org()
    other_version = publish_standard(other.analyst)
    other_area = create_area(other.analyst, "grannen")
    body = problem(
        org.analyst.post("/api/v1/rounds", json=round_body(version_id, [*areas, other_area["id"]])),
        404,
    )
    assert str(other_area["id"]) in body["detail"] and "grannen" not in body["detail"]
    missing = problem(
        org.analyst.post("/api/v1/rounds", json=round_body(version_id, [*areas, 999999])), 404
    )
    assert body["detail"].replace(str(other_area["id"]), "N") == missing["detail"].replace(
        "999999", "N"
    )
    problem(org.analyst.post("/api/v1/rounds", json=round_body(other_version["id"], areas)), 404)
    assert ok(org.analyst.get("/api/v1/rounds"))["items"] == []
    assert ok(other.analyst.get("/api/v1/rounds"))["items"] == []


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"open_date": days(5), "close_date": days(4)}, ["body"]),
        ({"area_ids": []}, ["body", "area_ids"]),
        ({"open_date": "2026-02-30"}, ["body", "open_date"]),
        ({"name": ""}, ["body", "name"]),
    ],
)
def test_invalid_rounds_are_rejected(
    org: Org, setup: tuple[int, list[int]], fields: dict[str, Any], loc: list[Any]
) -> None:
    version_id, areas = setup
    body = problem(
        org.analyst.post("/api/v1/rounds", json=round_body(version_id, areas, **fields)), 422
    )
    assert error_locs(body) == [loc]


def test_an_area_listed_twice_is_rejected(org: Org, setup: tuple[int, list[int]]) -> None:
    version_id, areas = setup
    problem(
        org.analyst.post("/api/v1/rounds", json=round_body(version_id, [areas[0], areas[0]])), 422
    )
    assert ok(org.analyst.get("/api/v1/rounds"))["items"] == []


@pytest.mark.parametrize(
    ("open_in", "close_in", "status"),
    [
        (3, 10, "scheduled"),
        (1, 1, "scheduled"),
        (-10, -1, "closed"),
        (-10, 10, "open"),
        (0, 0, "open"),
        (-3, 0, "open"),
        (0, 5, "open"),
    ],
)
def test_status_follows_the_dates(
    org: Org, setup: tuple[int, list[int]], open_in: int, close_in: int, status: str
) -> None:
    version_id, areas = setup
    created = ok(
        org.analyst.post(
            "/api/v1/rounds",
            json=round_body(version_id, areas, open_date=days(open_in), close_date=days(close_in)),
        ),
        201,
    )
    assert created["status"] == status
    assert ok(org.analyst.get(f"/api/v1/rounds/{created['id']}"))["status"] == status


def test_close_early(org: Org, setup: tuple[int, list[int]]) -> None:
    version_id, areas = setup
    created = ok(org.analyst.post("/api/v1/rounds", json=round_body(version_id, areas)), 201)
    closed = ok(org.analyst.post(f"/api/v1/rounds/{created['id']}/close"))
    assert closed["status"] == "closed" and closed["closed_at"]
    assert closed["close_date"] == created["close_date"]
    assert ok(org.analyst.get(f"/api/v1/rounds/{created['id']}"))["status"] == "closed"
    problem(org.analyst.post(f"/api/v1/rounds/{created['id']}/close"), 409)
    problem(org.analyst.post("/api/v1/rounds/999999/close"), 404)


def test_list_filters_by_period_and_status(org: Org, setup: tuple[int, list[int]]) -> None:
    version_id, areas = setup

    def make(period: str, open_in: int, close_in: int) -> int:
        created = ok(
            org.analyst.post(
                "/api/v1/rounds",
                json=round_body(
                    version_id,
                    areas,
                    period=period,
                    open_date=days(open_in),
                    close_date=days(close_in),
                ),
            ),
            201,
        )
        return int(created["id"])

    old = make("2024", -400, -300)
    current = make("2026", -5, 30)
    early = make("2026-H1", -5, 30)
    ok(org.analyst.post(f"/api/v1/rounds/{early}/close"))
    upcoming = make("2027", 100, 130)

    def ids(query: str) -> list[int]:
        page = ok(org.integrator.get(f"/api/v1/rounds{query}"))
        assert page["total"] == len(page["items"])  # filtered in SQL, so counted right
        return [r["id"] for r in page["items"]]

    # Newest period first in time: 2026 ends after 2026-H1 (as text "2026-H1" sorts above it).
    assert ids("") == [upcoming, current, early, old]
    assert ids("?period=2026") == [current]
    assert ids("?period=2026-H1") == [early]
    assert ids("?status=open") == [current]
    assert ids("?status=closed") == [early, old]
    assert ids("?status=scheduled") == [upcoming]
    assert ids("?period=2024&status=closed") == [old]
    assert ids("?period=2024&status=open") == []
    problem(org.integrator.get("/api/v1/rounds?period=2026-H3"), 422)
    problem(org.integrator.get("/api/v1/rounds?status=paused"), 422)
