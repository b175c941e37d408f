"""Code answers cannot be linked to their invitation, even by someone with the database.

DESIGN.md's threat model: an attacker has a full copy of the database and the letters' mailing
list (so knows which household got which invitation, and the database says which invitations
were used). For answers that came in through codes, the best they can do must be to narrow an
answer to a group of at least the minimum cell size k. These tests play that attacker.
"""

from collections import defaultdict
from typing import Any

import httpx
import pytest
from scipy.stats import spearmanr
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from tests.api.support import problem, received_count, response_count
from tests.conftest import Org
from tests.helpers import OpenRound, full_answers, ok, open_round

K = 5  # the smallest minimum cell size an organisation can choose


def issue(org: Org, r: OpenRound, area_id: int, count: int) -> list[str]:
    body = ok(
        org.analyst.post(
            f"/api/v1/rounds/{r.id}/invitations", json={"area_id": area_id, "count": count}
        ),
        201,
    )
    return [c["code"] for c in body["codes"]]


def answer(client: httpx.Client, r: OpenRound, code: str, marker: str) -> dict[str, Any]:
    """Send a code answer whose free text says which code it came from (for the test only)."""
    answers = {**full_answers(), "fritext_plats": marker}
    return ok(
        client.post(
            f"/api/v1/rounds/{r.id}/responses",
            json={"invitation_code": code, "language": "sv", "answers": answers},
        ),
        201,
    )


def small_k(org: Org) -> None:
    ok(org.admin.patch("/api/v1/organisation", json={"min_cell_size": K}))


def pending_of(org: Org, r: OpenRound) -> int:
    body = ok(org.analyst.get(f"/api/v1/rounds/{r.id}"))
    return int(body["pending_responses"])


def test_code_answers_wait_and_join_results_in_batches_of_at_least_k(
    org: Org, db: sessionmaker[Session]
) -> None:
    small_k(org)
    r = open_round(org.analyst)
    a, b = r.area_ids
    codes_a, codes_b = issue(org, r, a, 23), issue(org, r, b, 7)

    receipts = []
    for i, code in enumerate(codes_a[: 2 * K - 1]):
        receipts.append(answer(org.integrator, r, code, f"a{i}"))
    # Fewer than 2k waiting: nothing is in the response table yet.
    assert response_count(db, r.id) == 0
    assert pending_of(org, r) == 2 * K - 1
    assert all(x["id"] is None and x["pending"] and x["entry"] == "code" for x in receipts)

    answer(org.integrator, r, codes_a[2 * K - 1], f"a{2 * K - 1}")
    # The 2k-th answer releases all but k of them, chosen at random.
    assert response_count(db, r.id) == K
    assert pending_of(org, r) == K
    results = ok(org.analyst.get(f"/api/v1/rounds/{r.id}/results"))
    assert results["pending"] == K

    for i, code in enumerate(codes_b):
        answer(org.integrator, r, code, f"b{i}")
    assert pending_of(org, r) == K + 7  # area b never reached 2k: it waits for the close
    for i, code in enumerate(codes_a[2 * K :], start=2 * K):
        answer(org.integrator, r, code, f"a{i}")
    assert received_count(db, r.id) == 30

    closed = ok(org.analyst.post(f"/api/v1/rounds/{r.id}/close"))
    # None waiting: 0 is below k, so shown as suppressed like any small count.
    assert (closed["pending_responses"], closed["pending_responses_suppressed"]) == (None, True)
    assert closed["response_count"] == 30
    results = ok(org.analyst.get(f"/api/v1/rounds/{r.id}/results"))
    assert results["pending"] is None  # none waiting: 0 is below k, suppressed like any
    by_area = {x["area_id"]: x["responses"] for x in results["areas"]}
    assert by_area[a]["responses"] == 23 and by_area[b]["responses"] == 7
    with db() as session:
        entries = session.execute(
            text("SELECT entry, count(*) FROM response WHERE survey_round_id = :r GROUP BY entry"),
            {"r": r.id},
        ).all()
        markers = sorted(
            row[0]["fritext_plats"]
            for row in session.execute(
                text("SELECT answers FROM response WHERE survey_round_id = :r"), {"r": r.id}
            ).all()
            if isinstance(row[0], dict)
        )
    assert dict(entries) == {"code": 30}
    if markers:  # PostgreSQL decodes JSONB; every answer arrived exactly once
        assert markers == sorted([f"a{i}" for i in range(23)] + [f"b{i}" for i in range(7)])


def test_a_used_code_and_a_rejected_answer_do_not_wait(org: Org, db: sessionmaker[Session]) -> None:
    r = open_round(org.analyst)
    code = issue(org, r, r.area_ids[0], 1)[0]
    bad = org.integrator.post(
        f"/api/v1/rounds/{r.id}/responses",
        json={"invitation_code": code, "language": "sv", "answers": {"trivsel": 99}},
    )
    problem(bad, 422)
    assert received_count(db, r.id) == 0
    answer(org.integrator, r, code, "x")
    problem(
        org.integrator.post(
            f"/api/v1/rounds/{r.id}/responses",
            json={"invitation_code": code, "language": "sv", "answers": full_answers()},
        ),
        409,
    )
    assert received_count(db, r.id) == 1


@pytest.mark.postgres
def test_a_database_copy_cannot_link_a_code_answer_to_fewer_than_k_households(
    org: Org, backend: str, engine: Engine
) -> None:
    """The attacks of the review, on PostgreSQL: shared xmin, id order, physical order."""
    if backend != "postgresql":
        pytest.skip("xmin and ctid are PostgreSQL system columns")
    small_k(org)
    r = open_round(org.analyst, n_areas=1)
    area = r.area_ids[0]
    codes = issue(org, r, area, 120)
    # Invitation ids follow the order letters were printed; answer in that order (the worst
    # case for the tenants: redemption order == print order == the mailing list's order).
    for i, code in enumerate(codes[:117]):
        answer(org.integrator, r, code, f"m{i}")
    ok(org.analyst.post(f"/api/v1/rounds/{r.id}/close"))

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM pending_response"))
        conn.execute(text("VACUUM response"))
        conn.execute(text("VACUUM invitation"))
        assert (
            conn.scalar(
                text("SELECT count(*) FROM pending_response WHERE survey_round_id = :r"),
                {"r": r.id},
            )
            == 0
        )
        invitations = conn.execute(
            text(
                "SELECT id, xmin::text::bigint FROM invitation "
                "WHERE survey_round_id = :r AND used_date IS NOT NULL ORDER BY id"
            ),
            {"r": r.id},
        ).all()
        responses = conn.execute(
            text(
                "SELECT id, xmin::text::bigint, ctid::text, answers->>'fritext_plats' "
                "FROM response WHERE survey_round_id = :r ORDER BY id"
            ),
            {"r": r.id},
        ).all()
        # 1. The review's join: each used invitation pairs with no answer or with a whole batch.
        joined = conn.execute(
            text(
                "SELECT i.id, count(r.id) FROM invitation i JOIN response r ON i.xmin = r.xmin "
                "WHERE i.survey_round_id = :r AND r.survey_round_id = :r GROUP BY i.id"
            ),
            {"r": r.id},
        ).all()
    assert len(invitations) == 117 and len(responses) == 117
    assert all(count >= K for _, count in joined), joined

    # 2. Release batches: the rows of a batch share one transaction; every batch has >= k.
    batches: dict[int, list[Any]] = defaultdict(list)
    for row in responses:
        batches[row[1]].append(row)
    assert all(len(rows) >= K for rows in batches.values()), {x: len(v) for x, v in batches.items()}

    # 3. What the attacker can narrow an answer to: invitations redeemed before its batch was
    #    written (xid order; xids do not wrap around in a test). At least 2k (k at the close).
    redeemed_before = {xid: sum(1 for _, ixid in invitations if ixid <= xid) for xid in batches}
    assert min(redeemed_before.values()) >= 2 * K

    # 4. Id order and physical order inside a batch say nothing about arrival: the within-batch
    #    rank correlation of either with the true arrival order is near zero.
    arrival = {f"m{i}": i for i in range(117)}

    def ctid(row: Any) -> tuple[int, ...]:
        return tuple(int(x) for x in row[2].strip("()").split(","))

    for order_key in (lambda row: row[0], ctid):
        stored_ranks: list[float] = []
        arrival_ranks: list[float] = []
        for rows in batches.values():
            by_arrival = sorted(rows, key=lambda row: arrival[row[3]])
            stored = sorted(rows, key=order_key)
            for position, row in enumerate(by_arrival):
                arrival_ranks.append(position / len(rows))
                stored_ranks.append(stored.index(row) / len(rows))
        rho = spearmanr(stored_ranks, arrival_ranks).statistic
        # Under no link rho ~ N(0, 1/sqrt(n)), n = 117: |rho| > 0.5 is a 5-sigma event.
        assert abs(rho) < 0.5, rho
