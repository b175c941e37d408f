"""The submission fast path (responses/fast.py): same answers, same rows, same refusals.

On PostgreSQL, once a process has taken one submission to a round, later ones are stored by a
single statement on the event loop. Everything here runs on both databases: on SQLite (no fast
path) the same requests must give the same answers. A spy on ``fast.try_submit`` tells which
path stored what, so the tests can insist the fast path was really taken on PostgreSQL.
"""

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from survey_api.db import PoolTimeout, make_async_pool
from survey_api.models import ApiKey, Response, SurveyRound, utcnow
from survey_api.responses import fast
from survey_api.responses.schemas import ResponseReceipt
from survey_api.results import fold
from tests.api.support import problem, response_count, today
from tests.conftest import LiveServer, Org
from tests.helpers import OpenRound, create_area, full_answers, ok, open_round


@pytest.fixture
def fast_stored(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ResponseReceipt]]:
    """The receipts of the responses the fast path stored during the test."""
    stored: list[ResponseReceipt] = []
    real = fast.try_submit

    async def spy(*args: Any, **kwargs: Any) -> ResponseReceipt | None:
        receipt = await real(*args, **kwargs)
        if receipt is not None:
            stored.append(receipt)
        return receipt

    monkeypatch.setattr(fast, "try_submit", spy)
    yield stored


def body(r: OpenRound, **fields: Any) -> dict[str, Any]:
    return {"area_id": r.area_ids[0], "language": "sv", "answers": full_answers(), **fields}


def submit(client: httpx.Client, r: OpenRound, **fields: Any) -> httpx.Response:
    return client.post(f"/api/v1/rounds/{r.id}/responses", json=body(r, **fields))


def warmed_round(org: Org) -> OpenRound:
    """An open round this server has taken one (slow) submission to."""
    r = open_round(org.analyst, n_areas=2)
    ok(submit(org.integrator, r), 201)
    return r


def stored_row(db: sessionmaker[Session], response_id: int) -> dict[str, Any]:
    with db() as session:
        row = session.get(Response, response_id)
        assert row is not None
        return {
            "survey_round_id": row.survey_round_id,
            "area_id": row.area_id,
            "language": row.language,
            "channel": row.channel,
            "entry": row.entry,
            "submitted_date": row.submitted_date,
            "answers": row.answers,
            "data_import_id": row.data_import_id,
        }


def test_a_repeated_submission_is_stored_alike_by_either_path(
    org: Org, db: sessionmaker[Session], backend: str, fast_stored: list[ResponseReceipt]
) -> None:
    r = open_round(org.analyst, n_areas=2)
    answers = {**full_answers(), "fritext_plats": "  Mörk gångtunnel  "}
    fields = {"area_id": r.area_ids[1], "channel": "phone", "answers": answers}
    first = ok(submit(org.integrator, r, **fields), 201)
    second = ok(submit(org.admin, r, **fields), 201)
    assert [s.id for s in fast_stored] == ([second["id"]] if backend == "postgresql" else [])
    assert second["id"] > first["id"]
    expected = {
        "survey_round_id": r.id,
        "area_id": r.area_ids[1],
        "entry": "api",
        "pending": False,
        "submitted_date": today().isoformat(),
    }
    for receipt in (first, second):
        assert {k: v for k, v in receipt.items() if k != "id"} == expected
        assert stored_row(db, receipt["id"]) == {
            "survey_round_id": r.id,
            "area_id": r.area_ids[1],
            "language": "sv",
            "channel": "phone",
            "entry": "api",
            "submitted_date": today(),
            "answers": {**full_answers(), "fritext_plats": "Mörk gångtunnel"},
            "data_import_id": None,
        }
    assert response_count(db, r.id) == 2


def test_after_a_first_submission_every_refusal_is_unchanged(
    org: Org, make_org: Any, db: sessionmaker[Session], fast_stored: list[ResponseReceipt]
) -> None:
    r = warmed_round(org)
    elsewhere = create_area(org.analyst, "utanfor")
    other = make_org()
    assert problem(submit(org.analyst, r), 403)["detail"].startswith("a key with role 'analyst'")
    problem(submit(other.integrator, r), 404)  # another organisation's round
    problem(submit(org.integrator, r, area_id=elsewhere["id"]), 404)
    bad = problem(submit(org.integrator, r, answers={"trivsel": 99}), 422)
    assert [e["loc"] for e in bad["errors"]] == [["body", "answers", "trivsel"]]
    problem(submit(org.integrator, r, language="xx"), 422)
    with httpx.Client(base_url=str(org.integrator.base_url), timeout=30) as anonymous:
        problem(anonymous.post(f"/api/v1/rounds/{r.id}/responses", json=body(r)), 401)
        wrong = {"Authorization": "Bearer sak_not-a-key"}
        problem(
            anonymous.post(f"/api/v1/rounds/{r.id}/responses", json=body(r), headers=wrong), 401
        )
    assert response_count(db, r.id) == 1 and fast_stored == []


@pytest.mark.parametrize("change", ["revoke the key", "close early", "dates passed", "imported"])
def test_what_changed_since_the_first_submission_is_seen_at_once(
    org: Org, db: sessionmaker[Session], fast_stored: list[ResponseReceipt], change: str
) -> None:
    """The process remembers a round's questionnaire, never its state: the key and the round
    are checked again by every submission."""
    r = warmed_round(org)
    with db() as session:
        if change == "revoke the key":
            session.execute(
                update(ApiKey)
                .where(ApiKey.organisation_id == org.id, ApiKey.role == "integrator")
                .values(revoked_at=utcnow())
            )
        else:
            round_row = session.get(SurveyRound, r.id)
            assert round_row is not None
            if change == "close early":
                round_row.closed_at = utcnow()
            elif change == "dates passed":
                round_row.open_date = today() - timedelta(days=20)
                round_row.close_date = today() - timedelta(days=1)
            else:
                round_row.source = "imported"
        session.commit()
    status = 401 if change == "revoke the key" else 409
    problem(submit(org.integrator, r), status)
    assert response_count(db, r.id) == 1 and fast_stored == []


@pytest.mark.parametrize(
    ("headers", "content", "status"),
    [
        ({}, b"", 401),
        ({"Authorization": "analyst"}, b"", 403),
        ({"Authorization": "analyst"}, b'{"language": "sv"}', 403),
        ({"Authorization": "integrator"}, b'{"language": "sv"}', 422),
        ({"Authorization": "integrator", "Content-Type": "text/plain"}, b"{}", 422),
    ],
)
def test_the_key_and_role_are_checked_before_the_body(
    org: Org,
    db: sessionmaker[Session],
    server: LiveServer,
    headers: dict[str, str],
    content: bytes,
    status: int,
) -> None:
    r = warmed_round(org)
    if "Authorization" in headers:
        headers = {**headers, "Authorization": f"Bearer {org.keys[headers['Authorization']]}"}
    headers = {"Content-Type": "application/json", **headers}
    sent = httpx.post(
        f"{server.base_url}/api/v1/rounds/{r.id}/responses",
        content=content,
        headers=headers,
        timeout=30,
    )
    problem(sent, status)
    assert response_count(db, r.id) == 1


def test_a_fold_waits_for_a_fast_submission_and_none_is_lost(
    org: Org, db: sessionmaker[Session], backend: str, fast_stored: list[ResponseReceipt]
) -> None:
    """The fast statement holds the round's shared advisory lock like every submitter
    (results/fold.py): while a folder holds the exclusive lock, a submission waits."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: no advisory lock, no fast path")
    r = warmed_round(org)
    ok(submit(org.integrator, r), 201)  # the fast path is ready (asserted below)
    answered: list[httpx.Response] = []
    folder = db()
    try:
        folder.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, :round_id)"),
            {"namespace": fold.LOCK_NAMESPACE, "round_id": r.id},
        )
        thread = threading.Thread(target=lambda: answered.append(submit(org.integrator, r)))
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "a submission must wait while a folder holds the lock"
        assert response_count(db, r.id) == 2
    finally:
        folder.commit()
        folder.close()
    thread.join(timeout=30)
    assert not thread.is_alive()
    receipt = ok(answered[0], 201)
    assert [s.id for s in fast_stored] == [fast_stored[0].id, receipt["id"]]
    assert response_count(db, r.id) == 3


def test_concurrent_submissions_and_reads_lose_nothing(
    org: Org, server: LiveServer, db: sessionmaker[Session], backend: str
) -> None:
    r = warmed_round(org)
    url = f"{server.base_url}/api/v1/rounds/{r.id}/responses"
    headers = {"Authorization": f"Bearer {org.keys['integrator']}"}
    errors: list[BaseException] = []

    def submitter(area_id: int) -> None:
        try:
            with httpx.Client(timeout=60) as client:
                for _ in range(10):
                    sent = client.post(url, json=body(r, area_id=area_id), headers=headers)
                    assert sent.status_code == 201, sent.text
                    results = org.analyst.get(f"/api/v1/rounds/{r.id}/results?item=trivsel")
                    assert results.status_code == 200, results.text
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submitter, args=(r.area_ids[i % 2],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert response_count(db, r.id) == 61
    final = ok(org.analyst.get(f"/api/v1/rounds/{r.id}/results"))
    assert sum(a["responses"]["responses"] or 0 for a in final["areas"]) == 61


def test_connections_the_server_ended_are_replaced(
    org: Org, db: sessionmaker[Session], backend: str, fast_stored: list[ResponseReceipt]
) -> None:
    """After a restart or pg_terminate_backend, the pooled connections are dead: the next
    submission still succeeds (the pool notices and connects afresh), it does not answer 503."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL connections only")
    r = warmed_round(org)
    ok(submit(org.integrator, r), 201)
    with db() as session:
        others = (
            "FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        ended = session.scalars(text(f"SELECT pg_terminate_backend(pid) {others}")).all()
        assert ended and all(ended)
        deadline = time.monotonic() + 30
        while session.scalar(text(f"SELECT count(*) {others}")) and time.monotonic() < deadline:
            time.sleep(0.05)
    receipt = ok(submit(org.integrator, r), 201)
    assert [s.id for s in fast_stored][-1] == receipt["id"]
    assert response_count(db, r.id) == 3
    with db() as session:
        assert session.scalar(select(Response.id).where(Response.id == receipt["id"]))


def test_the_fast_path_pool_is_bounded_and_gives_up_in_time(
    database_url: str, backend: str
) -> None:
    """As the synchronous pool: at most its size in connections, a bounded wait for one
    (then PoolTimeout, which the route answers as 503), and a freed one is used again."""
    if backend != "postgresql":
        pytest.skip("the fast path's pool is PostgreSQL's")
    pool = make_async_pool(database_url, pool_size=1, wait_seconds=0.3)
    assert pool is not None and pool.size == 2
    assert make_async_pool("sqlite:///x.sqlite") is None

    async def scenario() -> list[int]:
        pids: list[int] = []
        async with pool.connection() as first, pool.connection() as second:
            pids += [first.info.backend_pid, second.info.backend_pid]
            with pytest.raises(PoolTimeout):
                async with pool.connection():
                    pass
        async with pool.connection() as again:
            pids.append(again.info.backend_pid)
            cursor = await again.execute("SELECT 1")
            assert await cursor.fetchone() == (1,)
        await pool.close()
        return pids

    # A loop of its own in a thread: a browser test may have left one running in this worker.
    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        first, second, again = executor.submit(asyncio.run, scenario()).result()
    assert first != second and again in (first, second)
