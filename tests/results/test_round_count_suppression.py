"""A round's response total and its waiting code answers never undo small-cell suppression
(DESIGN.md, Privacy: every count shown per area follows the same rule, wherever it appears).

The total is shown only when it is at least k and the areas hidden in the results (fewer than
k answers, 0 included) add up to at least k, or there are none; otherwise total − the areas
shown would give a hidden area's count. Checked on GET /rounds, GET /rounds/{id} and the area
overview, on both databases, with k = 10 (the default) unless said otherwise. Expected values
are worked out by hand from the answers uploaded, never from the code's own output.
"""

import random
import uuid
from datetime import date, timedelta
from typing import Any

import httpx

from survey_api.rounds import periods
from tests.conftest import Org
from tests.helpers import OpenRound, create_area, full_answers, ok, publish_standard
from tests.results.support import upload

COUNT_FIELDS = (
    "response_count",
    "response_count_suppressed",
    "pending_responses",
    "pending_responses_suppressed",
)


def _round_with(org: Org, answers_per_area: list[int]) -> OpenRound:
    """A round open today over new areas, with this many paper answers in each."""
    found = ok(org.analyst.get("/api/v1/questionnaires"))["items"]
    version = found[0]["versions"][-1]["id"] if found else publish_standard(org.analyst)["id"]
    areas = [create_area(org.analyst, f"a{uuid.uuid4().hex[:8]}")["id"] for _ in answers_per_area]
    body = {
        "name": "Omgång",
        "questionnaire_version_id": version,
        "period": "2026",
        "area_ids": areas,
        "open_date": (date.today() - timedelta(days=5)).isoformat(),
        "close_date": (date.today() + timedelta(days=30)).isoformat(),
    }
    r = OpenRound(
        id=ok(org.analyst.post("/api/v1/rounds", json=body), 201)["id"],
        version_id=version,
        area_ids=areas,
    )
    for area_id, n in zip(areas, answers_per_area, strict=True):
        if n:
            upload(org.integrator, r.id, area_id, [full_answers()] * n)
    return r


def _counts(round_json: dict[str, Any]) -> dict[str, Any]:
    return {field: round_json[field] for field in COUNT_FIELDS}


def _everywhere(org: Org, round_id: int) -> list[dict[str, Any]]:
    """The round's counts as GET /rounds/{id} and as GET /rounds list them."""
    one = ok(org.analyst.get(f"/api/v1/rounds/{round_id}"))
    listed = [r for r in ok(org.analyst.get("/api/v1/rounds"))["items"] if r["id"] == round_id]
    assert len(listed) == 1
    return [_counts(one), _counts(listed[0])]


HIDDEN = {
    "response_count": None,
    "response_count_suppressed": True,
    "pending_responses": None,
    "pending_responses_suppressed": True,
}


def _shown(total: int) -> dict[str, Any]:
    return {**HIDDEN, "response_count": total, "response_count_suppressed": False}


def _overview_round(client: httpx.Client, area_id: int, round_id: int) -> dict[str, Any]:
    overview = ok(client.get(f"/api/v1/areas/{area_id}/overview"))
    rounds = [r for s in overview["surveys"] for r in s["rounds"]]
    return next(r for r in rounds if r["survey_round_id"] == round_id)


def test_a_one_area_round_with_four_answers_shows_no_total(org: Org) -> None:
    r = _round_with(org, [4])
    (area,) = r.area_ids
    assert _overview_round(org.analyst, area, r.id)["responses"]["suppressed"] is True
    results = ok(org.analyst.get(f"/api/v1/rounds/{r.id}/results"))
    assert results["areas"][0]["responses"]["suppressed"] is True
    assert _everywhere(org, r.id) == [HIDDEN, HIDDEN]
    round_json = ok(org.analyst.get(f"/api/v1/rounds/{r.id}"))
    assert round_json["min_cell_size"] == 10 and "4" not in str(_counts(round_json))


def test_thirty_and_four_hides_the_total_that_would_give_the_four(org: Org) -> None:
    r = _round_with(org, [30, 4])
    big, small = r.area_ids
    assert _overview_round(org.analyst, small, r.id)["responses"]["suppressed"] is True
    shown_big = _overview_round(org.analyst, big, r.id)["responses"]
    assert (shown_big["suppressed"], shown_big["responses"]) == (False, 30)
    assert _everywhere(org, r.id) == [HIDDEN, HIDDEN]


def test_two_hidden_areas_adding_up_to_k_let_the_total_show(org: Org) -> None:
    # 6 + 5 = 11 >= 10: only their sum can be worked out, and 11 is a publishable cell.
    r = _round_with(org, [30, 6, 5])
    assert _everywhere(org, r.id) == [_shown(41), _shown(41)]
    # 4 + 5 = 9 < 10: their sum would be a small cell, so the total hides.
    r = _round_with(org, [30, 4, 5])
    assert _everywhere(org, r.id) == [HIDDEN, HIDDEN]


def test_a_hidden_area_with_no_answers_hides_the_total_like_one_with_a_few(org: Org) -> None:
    # Shown, 30 + 20 would reveal that the third area has 0 answers.
    empty = _round_with(org, [30, 20, 0])
    few = _round_with(org, [30, 20, 3])
    assert _everywhere(org, empty.id) == [HIDDEN, HIDDEN]
    assert _everywhere(org, few.id) == [HIDDEN, HIDDEN]
    # A suppressed total looks the same whatever its true n, 0 included.
    nothing = _round_with(org, [0])
    assert _everywhere(org, nothing.id) == [HIDDEN, HIDDEN]
    # Every area at least k: the total shows.
    full = _round_with(org, [30, 20])
    assert _everywhere(org, full.id) == [_shown(50), _shown(50)]


def test_a_smaller_minimum_cell_size_is_the_k_applied(org: Org) -> None:
    ok(org.admin.patch("/api/v1/organisation", json={"min_cell_size": 5}))
    assert _everywhere(org, _round_with(org, [30, 5]).id) == [_shown(35), _shown(35)]
    assert _everywhere(org, _round_with(org, [30, 4]).id) == [
        {**HIDDEN, "pending_responses": None},
        {**HIDDEN, "pending_responses": None},
    ]


def _code_answers(org: Org, r: OpenRound, area_id: int, count: int) -> None:
    issued = ok(
        org.analyst.post(
            f"/api/v1/rounds/{r.id}/invitations", json={"area_id": area_id, "count": count}
        ),
        201,
    )
    for code in (c["code"] for c in issued["codes"]):
        body = {"invitation_code": code, "language": "sv", "answers": full_answers()}
        ok(org.integrator.post(f"/api/v1/rounds/{r.id}/responses", json=body), 201)


def test_waiting_code_answers_show_only_from_k(org: Org) -> None:
    r = _round_with(org, [0])
    (area,) = r.area_ids
    _code_answers(org, r, area, 3)  # 3 waiting in a one-area round: a small cell
    overview = _overview_round(org.analyst, area, r.id)
    assert (overview["pending"], overview["pending_suppressed"]) == (None, True)
    assert _everywhere(org, r.id) == [HIDDEN, HIDDEN]
    # The round's results and its ways in say the same (the results twice: built, then cached).
    for _ in range(2):
        assert ok(org.analyst.get(f"/api/v1/rounds/{r.id}/results"))["pending"] is None
    assert ok(org.admin.get(f"/api/v1/rounds/{r.id}/results/entries"))["pending"] is None
    _code_answers(org, r, area, 9)  # 12 waiting (fewer than 2k, so no batch joins yet)
    overview = _overview_round(org.analyst, area, r.id)
    assert (overview["pending"], overview["pending_suppressed"]) == (12, False)
    for _ in range(2):
        assert ok(org.analyst.get(f"/api/v1/rounds/{r.id}/results"))["pending"] == 12
    assert ok(org.admin.get(f"/api/v1/rounds/{r.id}/results/entries"))["pending"] == 12
    waiting = {**HIDDEN, "pending_responses": 12, "pending_responses_suppressed": False}
    assert _everywhere(org, r.id) == [waiting, waiting]


def _round_in(client: httpx.Client, version_id: int, period: str, area_id: int) -> None:
    body = {
        "name": f"Omgång {period}",
        "questionnaire_version_id": version_id,
        "period": period,
        "area_ids": [area_id],
        "open_date": (date.today() - timedelta(days=5)).isoformat(),
        "close_date": (date.today() + timedelta(days=30)).isoformat(),
    }
    ok(client.post("/api/v1/rounds", json=body), 201)


def test_the_overview_s_periods_are_newest_first_in_time_not_as_text(org: Org) -> None:
    version = publish_standard(org.analyst)["id"]
    area = create_area(org.analyst, "perioder")["id"]
    for period in ("2026-Q1", "2025-Q4", "2026", "2026-12", "2026-H2", "2026-Q4", "2026-H1"):
        _round_in(org.analyst, version, period, area)
    overview = ok(org.analyst.get(f"/api/v1/areas/{area}/overview"))
    # By last day, then first day (later first): all but two end on 31 December 2026.
    expected = ["2026-12", "2026-Q4", "2026-H2", "2026", "2026-H1", "2026-Q1", "2025-Q4"]
    assert overview["available_periods"] == expected
    assert overview["period"] == "2026-12"


def test_period_bounds() -> None:
    assert periods.bounds("2026") == (date(2026, 1, 1), date(2026, 12, 31))
    assert periods.bounds("2026-H1") == (date(2026, 1, 1), date(2026, 6, 30))
    assert periods.bounds("2026-H2") == (date(2026, 7, 1), date(2026, 12, 31))
    assert periods.bounds("2024-Q1") == (date(2024, 1, 1), date(2024, 3, 31))
    assert periods.bounds("2026-Q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert periods.bounds("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert periods.newest_first(["2026-Q1", "2026-H2", "2026-12"]) == [
        "2026-12",
        "2026-H2",
        "2026-Q1",
    ]


def test_the_round_list_is_newest_first_in_time_not_as_text(org: Org) -> None:
    """GET /rounds orders periods in the database as periods.newest_first does in Python, page
    after page; a period of every kind and every value of one year, and a year before."""
    version = publish_standard(org.analyst)["id"]
    area = create_area(org.analyst, "ordning")["id"]
    written = [
        "2025",
        *(f"2026-{m:02d}" for m in range(1, 13)),
        "2026-Q1",
        "2026-Q2",
        "2026-Q3",
        "2026-Q4",
        "2026-H1",
        "2026-H2",
        "2026",
        "2025-12",
    ]
    for period in random.Random(7).sample(written, len(written)):
        _round_in(org.analyst, version, period, area)
    listed: list[str] = []
    path: str | None = "/api/v1/rounds?limit=4"
    while path is not None:
        page = ok(org.integrator.get(path))
        listed += [r["period"] for r in page["items"]]
        path = page["next"]
    assert listed == periods.newest_first(written)
    assert listed[:4] == ["2026-12", "2026-Q4", "2026-H2", "2026"]
    assert listed[-3:] == ["2026-01", "2025-12", "2025"]
