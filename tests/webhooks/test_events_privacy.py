"""What someone holding the outbox (or a receiver's log) and a dump of `response` can learn
from the events about when an answer came: nothing finer than its date (DESIGN.md, Privacy;
the R1 review's probes). Both databases."""

from __future__ import annotations

import threading
import time as clock
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Response, utcnow
from survey_api.rounds import service as rounds_service
from survey_api.webhooks.due import SETTLE
from tests.conftest import Org
from tests.helpers import ok, open_round
from tests.webhooks.events_support import (
    Clock,
    add_dated,
    add_responses,
    events_of,
    swedish,
    tick,
)


def _stored_dates(db: sessionmaker[Session], round_id: int) -> set[str]:
    with db() as session:
        return {
            day.isoformat()
            for day in session.scalars(
                select(Response.submitted_date).where(Response.survey_round_id == round_id)
            )
        }


def test_the_kth_answer_is_not_pinned_by_a_dispatcher_ticking_all_the_time(
    org: Org, db: sessionmaker[Session]
) -> None:
    """The review's probe: a dispatcher ticking every 0.2 s, nine answers, then the tenth.
    The event used to follow the tenth within a tick, pinning its time and (ids being in
    arrival order) its row. Now nothing is sent while the date lasts, and the event after
    midnight says no more than the date the rows hold already."""
    r = open_round(org.admin, n_areas=1)
    stop = threading.Event()

    def ticking() -> None:
        while not stop.wait(0.2):
            tick(db, utcnow())

    thread = threading.Thread(target=ticking, daemon=True)
    thread.start()
    try:
        add_responses(org.integrator, r.id, r.area_ids[0], 9)
        clock.sleep(0.6)
        add_responses(org.integrator, r.id, r.area_ids[0], 1)  # the tenth tenant answers
        clock.sleep(1.5)  # several ticks
    finally:
        stop.set()
        thread.join()
    assert events_of(db, org.id, "results.updated") == []

    [answered] = _stored_dates(db, r.id)  # today in Sweden, for all ten
    day = datetime.fromisoformat(answered).date()
    after = swedish(day + timedelta(days=1), time(0, 0)) + SETTLE
    tick(db, after)
    [event] = events_of(db, org.id, "results.updated")
    data = event["data"]
    assert data["through_date"] == answered  # the date every row holds anyway
    midnight = swedish(day + timedelta(days=1), time(0, 0)).astimezone(UTC)
    assert datetime.fromisoformat(data["as_of"]) == midnight
    assert (data["new_responses"], data["response_count"]) == (10, 10)


def test_round_closed_minus_the_last_results_updated_is_a_count_of_whole_dates(
    org: Org, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's second probe: one answer after the last results.updated, then a close.
    The difference still shows, but it is the answers dated on or after the event's as_of
    date, through the close that ended answering: what the rows' dates say already."""
    times = Clock(monkeypatch)
    today = rounds_service.today()
    r = open_round(org.admin, n_areas=1)
    add_dated(db, org.integrator, r.id, r.area_ids[0], 10, today - timedelta(days=2))
    times.tick(db, swedish(today - timedelta(days=1), time(0, 5)))
    [updated] = events_of(db, org.id, "results.updated")
    add_dated(db, org.integrator, r.id, r.area_ids[0], 1, today - timedelta(days=1))
    add_responses(org.integrator, r.id, r.area_ids[0], 1)  # today, then the close
    ok(org.analyst.post(f"/api/v1/rounds/{r.id}/close"))
    [closed] = events_of(db, org.id, "round.closed")
    difference = closed["data"]["response_count"] - updated["data"]["response_count"]
    as_of_date = (
        datetime.fromisoformat(updated["data"]["as_of"]).astimezone(rounds_service.SWEDEN).date()
    )
    with db() as session:
        dated_since = session.scalar(
            select(func.count()).where(
                Response.survey_round_id == r.id, Response.submitted_date >= as_of_date
            )
        )
    assert difference == dated_since == 2
    assert as_of_date == today - timedelta(days=1)


def test_a_closed_rounds_small_total_stays_hidden(org: Org, db: sessionmaker[Session]) -> None:
    """Fewer than k answers in all: round.closed's count is null, so there is no difference
    to take, whatever the events before it."""
    r = open_round(org.admin, n_areas=1)
    add_responses(org.integrator, r.id, r.area_ids[0], 3)
    ok(org.analyst.post(f"/api/v1/rounds/{r.id}/close"))
    tick(db, swedish(rounds_service.today() + timedelta(days=1), time(0, 5)))
    assert events_of(db, org.id, "results.updated") == []
    [closed] = events_of(db, org.id, "round.closed")
    assert closed["data"]["response_count"] is None
    assert closed["data"]["response_count_suppressed"] is True
