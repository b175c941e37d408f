"""Assertions and building blocks shared by the API tests."""

import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Area, PendingResponse, Response

PROBLEM_JSON = "application/problem+json"
T = TypeVar("T")


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 error with this status and return its body."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"].startswith("https://")
    return body


def error_locs(body: dict[str, Any]) -> list[list[str | int]]:
    """The `loc` of every field error in a 422 body."""
    assert isinstance(body.get("errors"), list) and body["errors"], body
    return [e["loc"] for e in body["errors"]]


def today() -> date:
    """Today in Sweden, the calendar round dates are in (whatever this machine's zone is)."""
    return datetime.now(ZoneInfo("Europe/Stockholm")).date()


def days(n: int) -> str:
    """The ISO date n days from today (in Sweden)."""
    return (today() + timedelta(days=n)).isoformat()


def response_count(db: sessionmaker[Session], round_id: int) -> int:
    """Responses stored for a round."""
    with db() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Response)
                .where(Response.survey_round_id == round_id)
            )
            or 0
        )


def received_count(db: sessionmaker[Session], round_id: int) -> int:
    """Answers received for a round: stored, or waiting to join a batch (code answers)."""
    with db() as session:
        return response_count(db, round_id) + int(
            session.scalar(
                select(func.count())
                .select_from(PendingResponse)
                .where(PendingResponse.survey_round_id == round_id)
            )
            or 0
        )


def area_count(db: sessionmaker[Session], organisation_id: int) -> int:
    """Areas stored for an organisation."""
    with db() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Area)
                .where(Area.organisation_id == organisation_id)
            )
            or 0
        )


def at_once(n: int, call: Callable[[], T]) -> list[T]:
    """Run `call` in n threads released together by a barrier; return every result."""
    barrier = threading.Barrier(n)
    results: list[T | None] = [None] * n
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert all(not t.is_alive() for t in threads), "a request hung"
    return [r for r in results if r is not None]
