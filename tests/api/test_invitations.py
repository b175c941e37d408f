"""Invitation codes: issued once, stored hashed, redeemed exactly once, never linked to answers."""

import string
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Invitation, Response
from tests.api.support import at_once, days, problem, received_count, response_count
from tests.conftest import LiveServer, Org
from tests.helpers import OpenRound, create_area, full_answers, ok, open_round

LOOK_ALIKES = set("0O1IL2Z5S6G8B")


def issue(org: Org, r: OpenRound, area_id: int, count: int) -> list[str]:
    """Issue codes; returns them as printed on the letters."""
    result = ok(
        org.analyst.post(
            f"/api/v1/rounds/{r.id}/invitations", json={"area_id": area_id, "count": count}
        ),
        201,
    )
    assert (result["survey_round_id"], result["area_id"]) == (r.id, area_id)
    return [c["code"] for c in result["codes"]]


def redeem(client: httpx.Client, r: OpenRound, code: str, **fields: Any) -> httpx.Response:
    return client.post(
        f"/api/v1/rounds/{r.id}/responses",
        json={
            "invitation_code": code,
            "language": "sv",
            "channel": "web",
            "answers": full_answers(),
            **fields,
        },
    )


def counts(org: Org, r: OpenRound) -> dict[int, tuple[int, int | None]]:
    """(issued, used) per area as the API shows them: used is None when suppressed."""
    body = ok(org.integrator.get(f"/api/v1/rounds/{r.id}/invitations"))
    assert body["survey_round_id"] == r.id
    for a in body["areas"]:
        assert a["suppressed"] == (a["used"] is None)
    return {a["area_id"]: (a["issued"], a["used"]) for a in body["areas"]}


def used_codes(db: sessionmaker[Session], r: OpenRound) -> int:
    """Codes of the round marked used, read from the database (not suppressed)."""
    with db() as session:
        return len(
            session.scalars(
                select(Invitation.id).where(
                    Invitation.survey_round_id == r.id, Invitation.used_date.is_not(None)
                )
            ).all()
        )


def bare(code: str) -> str:
    return code.replace("-", "")


def test_issued_codes_are_long_unique_and_free_of_look_alikes(org: Org) -> None:
    r = open_round(org.analyst)
    result = ok(
        org.analyst.post(
            f"/api/v1/rounds/{r.id}/invitations", json={"area_id": r.area_ids[0], "count": 200}
        ),
        201,
    )
    codes = [bare(c["code"]) for c in result["codes"]]
    assert len(codes) == 200 and len(set(codes)) == 200
    for code in codes:
        assert len(code) >= 10
        assert set(code) <= set(string.ascii_uppercase + string.digits) - LOOK_ALIKES, code
    for entry in result["codes"]:
        assert entry["url"] == f"http://testserver.invalid/i/{bare(entry['code'])}"


def test_codes_are_stored_only_as_hashes(org: Org, db: sessionmaker[Session]) -> None:
    r = open_round(org.analyst)
    codes = issue(org, r, r.area_ids[0], 30)
    with db() as session:
        rows = session.scalars(select(Invitation).where(Invitation.survey_round_id == r.id)).all()
        assert len(rows) == 30
        columns = [c["name"] for c in inspect(session.connection()).get_columns("invitation")]
        stored = " ".join(str(getattr(row, c)) for row in rows for c in columns).upper()
    for code in codes:
        assert bare(code) not in stored and code not in stored


def test_counts_issued_and_used_per_area(org: Org) -> None:
    ok(org.admin.patch("/api/v1/organisation", json={"min_cell_size": 5}))
    r = open_round(org.analyst, n_areas=4)
    first, second, third, fourth = r.area_ids
    codes = {first: issue(org, r, first, 8), second: issue(org, r, second, 6)}
    codes[third] = issue(org, r, third, 3)
    issue(org, r, first, 3)
    assert counts(org, r) == {
        first: (11, None),
        second: (6, None),
        third: (3, None),
        fourth: (0, None),
    }
    for area, used in ((first, 7), (second, 6), (third, 2)):
        for code in codes[area][:used]:
            ok(redeem(org.integrator, r, code), 201)
    body = ok(org.analyst.get(f"/api/v1/rounds/{r.id}/invitations"))
    assert body["min_cell_size"] == 5
    assert body["total"] == {"issued": 20, "used": 15, "suppressed": False}
    # third (2 used) is below 5; fourth (0) too, and shows exactly the same. Together they add
    # up to 2, which 15 - 7 - 6 would give away, so the smallest shown area (second) is hidden
    # as well: the reader learns only that second + third + fourth = 8.
    assert counts(org, r) == {
        first: (11, 7),
        second: (6, None),
        third: (3, None),
        fourth: (0, None),
    }
    hidden = [a for a in body["areas"] if a["area_id"] in (third, fourth)]
    assert [{k: v for k, v in a.items() if k not in ("area_id", "issued")} for a in hidden] == [
        {"used": None, "suppressed": True}
    ] * 2


def test_a_small_round_total_is_suppressed_too(org: Org) -> None:
    r = open_round(org.analyst)
    code = issue(org, r, r.area_ids[0], 2)[0]
    ok(redeem(org.integrator, r, code), 201)
    body = ok(org.analyst.get(f"/api/v1/rounds/{r.id}/invitations"))
    assert body["min_cell_size"] == 10
    assert body["total"] == {"issued": 2, "used": None, "suppressed": True}


def test_a_code_redeems_into_a_response_for_its_area(org: Org, db: sessionmaker[Session]) -> None:
    r = open_round(org.analyst)
    code = issue(org, r, r.area_ids[1], 1)[0]
    receipt = ok(redeem(org.integrator, r, code), 201)
    assert receipt["area_id"] == r.area_ids[1]
    assert receipt["pending"] is True and receipt["id"] is None and receipt["entry"] == "code"
    ok(org.analyst.post(f"/api/v1/rounds/{r.id}/close"))  # releases what waits
    with db() as session:
        stored = session.scalars(select(Response).where(Response.survey_round_id == r.id)).one()
        assert stored.area_id == r.area_ids[1] and stored.entry == "code"


def test_codes_work_as_typed_from_paper(org: Org) -> None:
    r = open_round(org.analyst)
    code = issue(org, r, r.area_ids[0], 1)[0]
    ok(redeem(org.integrator, r, " " + code.lower().replace("-", " ") + " "), 201)


def test_a_used_code_is_a_conflict(org: Org, db: sessionmaker[Session]) -> None:
    r = open_round(org.analyst)
    code = issue(org, r, r.area_ids[0], 2)[0]
    ok(redeem(org.integrator, r, code), 201)
    body = problem(redeem(org.integrator, r, code), 409)
    assert "already been used" in body["detail"]
    problem(redeem(org.admin, r, bare(code)), 409)
    assert received_count(db, r.id) == 1


def test_an_unknown_code_is_404(org: Org, db: sessionmaker[Session]) -> None:
    r = open_round(org.analyst)
    issue(org, r, r.area_ids[0], 2)
    problem(redeem(org.integrator, r, "ACDE-FHJK-MNPQ"), 404)
    assert response_count(db, r.id) == 0


def test_a_code_from_another_round_is_404(org: Org, db: sessionmaker[Session]) -> None:
    r = open_round(org.analyst)
    other = ok(
        org.analyst.post(
            "/api/v1/rounds",
            json={
                "name": "Andra",
                "questionnaire_version_id": r.version_id,
                "period": "2026-H2",
                "area_ids": r.area_ids,
                "open_date": days(-1),
                "close_date": days(9),
            },
        ),
        201,
    )
    other_round = OpenRound(id=other["id"], version_id=r.version_id, area_ids=r.area_ids)
    code = issue(org, other_round, r.area_ids[0], 1)[0]
    problem(redeem(org.integrator, r, code), 404)
    assert response_count(db, r.id) == 0
    # It still works where it belongs.
    ok(redeem(org.integrator, other_round, code), 201)


def test_a_rejected_response_keeps_its_code_unused(org: Org, db: sessionmaker[Session]) -> None:
    r = open_round(org.analyst)
    code = issue(org, r, r.area_ids[0], 1)[0]
    problem(redeem(org.integrator, r, code, answers={"trivsel": 42}), 422)
    problem(redeem(org.integrator, r, code, area_id=r.area_ids[1]), 422)
    assert used_codes(db, r) == 0
    assert received_count(db, r.id) == 0
    ok(redeem(org.integrator, r, code, area_id=r.area_ids[0]), 201)
    assert used_codes(db, r) == 1


def test_issuing_is_refused_for_a_closed_round_or_an_area_outside_it(org: Org) -> None:
    r = open_round(org.analyst)
    outside = create_area(org.analyst, "utanfor")
    problem(
        org.analyst.post(
            f"/api/v1/rounds/{r.id}/invitations", json={"area_id": outside["id"], "count": 5}
        ),
        404,
    )
    for count in (0, -1, 10_001):
        problem(
            org.analyst.post(
                f"/api/v1/rounds/{r.id}/invitations",
                json={"area_id": r.area_ids[0], "count": count},
            ),
            422,
        )
    ok(org.analyst.post(f"/api/v1/rounds/{r.id}/close"))
    problem(
        org.analyst.post(
            f"/api/v1/rounds/{r.id}/invitations", json={"area_id": r.area_ids[0], "count": 5}
        ),
        409,
    )
    assert counts(org, r) == {a: (0, None) for a in r.area_ids}


@pytest.mark.parametrize("attempt", range(2))
def test_a_code_redeemed_by_20_concurrent_requests_works_exactly_once(
    org: Org, server: LiveServer, db: sessionmaker[Session], attempt: int
) -> None:
    r = open_round(org.analyst)
    code = issue(org, r, r.area_ids[0], 3)[attempt]
    url = f"{server.base_url}/api/v1/rounds/{r.id}/responses"
    headers = {"Authorization": f"Bearer {org.keys['integrator']}"}
    body = {"invitation_code": code, "language": "sv", "answers": full_answers()}

    def post() -> httpx.Response:
        return httpx.post(url, json=body, headers=headers, timeout=60)

    results = at_once(20, post)
    statuses = sorted(res.status_code for res in results)
    assert statuses == [201] + [409] * 19, [res.text for res in results if res.status_code != 409]
    for res in results:
        if res.status_code == 409:
            problem(res, 409)
    assert received_count(db, r.id) == 1
    assert used_codes(db, r) == 1


def test_a_response_keeps_no_link_to_its_invitation(org: Org, db: sessionmaker[Session]) -> None:
    r = open_round(org.analyst)
    code = issue(org, r, r.area_ids[0], 1)[0]
    receipt = ok(redeem(org.integrator, r, code), 201)
    assert set(receipt) == {
        "id",
        "survey_round_id",
        "area_id",
        "entry",
        "pending",
        "submitted_date",
    }
    assert receipt["id"] is None  # no id that the submitter could match to a stored row
    with db() as session:
        inspector = inspect(session.connection())
        invitation_columns = {c["name"] for c in inspector.get_columns("invitation")}
        assert not any("response" in c for c in invitation_columns), invitation_columns
        for table in ("response", "pending_response"):
            columns = {c["name"] for c in inspector.get_columns(table)}
            assert not any("invitation" in c or "code" in c or "_at" in c for c in columns)
            assert "invitation" not in {
                fk["referred_table"] for fk in inspector.get_foreign_keys(table)
            }
        assert "response" not in {
            fk["referred_table"] for fk in inspector.get_foreign_keys("invitation")
        }
        assert "invitation" not in {
            fk["referred_table"] for fk in inspector.get_foreign_keys("response")
        }
        invitation = session.scalars(
            select(Invitation).where(Invitation.survey_round_id == r.id)
        ).one()
        # Used on a date, like the response: nothing finer to match the two by.
        assert invitation.used_date is not None and not hasattr(invitation.used_date, "hour")
