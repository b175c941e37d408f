"""The dispatcher tick's events (webhooks/due.py): rounds opening and closing by their Swedish
dates, exactly once however many ticks run, and results.updated debounced per round (an
interval, at least k new responses, never while the round's total may not be shown, never a
response's time). Both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import PendingResponse, SurveyRound, utcnow
from survey_api.responses import pending
from survey_api.rounds import service as rounds_service
from survey_api.webhooks import events
from survey_api.webhooks.due import emit_due_events
from survey_api.webhooks.events import ResultsUpdatedEvent, RoundClosedEvent
from tests.conftest import Org
from tests.helpers import full_answers, ok, open_round
from tests.webhooks.events_support import add_responses, events_of, swedish, tick


def test_a_scheduled_round_opens_and_closes_by_its_dates_once_across_many_ticks(
    org: Org, db: sessionmaker[Session]
) -> None:
    today = rounds_service.today()
    opens, closes = today + timedelta(days=2), today + timedelta(days=4)
    r = open_round(org.admin, open_date=opens.isoformat(), close_date=closes.isoformat())
    for now in (utcnow(), swedish(opens - timedelta(days=1), time(23, 59, 59))):
        tick(db, now)
    assert events_of(db, org.id) == []
    # Midnight in Sweden, whatever the server's zone: 22:00:01 UTC in summer, 23:00:01 in winter.
    for minutes in (0, 1, 60, 600, 1439):
        tick(db, swedish(opens) + timedelta(minutes=minutes))
    [opened] = events_of(db, org.id)
    assert opened["type"] == "round.opened" and opened["data"]["status"] == "open"
    assert opened["data"]["round_id"] == r.id
    for now in (swedish(closes, time(23, 59, 58)), swedish(closes, time(12))):
        tick(db, now)
    assert len(events_of(db, org.id)) == 1  # the close date is the last day open
    for days in (1, 1, 2, 30):
        tick(db, swedish(closes + timedelta(days=days)))
    opened_again, closed = events_of(db, org.id)
    assert opened_again == opened
    RoundClosedEvent.model_validate(closed)
    assert closed["type"] == "round.closed" and closed["round_id"] == r.id
    assert closed["data"]["status"] == "closed" and closed["data"]["closed_early"] is False
    assert closed["data"]["response_count"] is None  # no answers: a suppressed 0
    assert closed["data"]["response_count_suppressed"] is True


def test_closing_by_date_releases_waiting_code_answers_into_the_count(
    org: Org, db: sessionmaker[Session]
) -> None:
    today = rounds_service.today()
    r = open_round(org.admin, n_areas=2, close_date=(today + timedelta(days=1)).isoformat())
    add_responses(org.integrator, r.id, r.area_ids[1], 12)
    with db() as session:
        survey_round = session.get(SurveyRound, r.id)
        assert survey_round is not None
        for _ in range(15):  # fewer than 2k: they all wait for a batch
            pending.hold(
                session,
                survey_round,
                area_id=r.area_ids[0],
                language="sv",
                channel="web",
                answers=full_answers(),
            )
        session.commit()
    tick(db, swedish(today + timedelta(days=1), time(23)))
    assert [e["type"] for e in events_of(db, org.id)] == ["round.opened"]
    tick(db, swedish(today + timedelta(days=2)))
    [closed] = events_of(db, org.id, "round.closed")
    assert closed["data"]["response_count"] == 27
    assert closed["data"]["response_count_suppressed"] is False
    with db() as session:
        waiting = session.scalar(
            select(func.count())
            .select_from(PendingResponse)
            .where(PendingResponse.survey_round_id == r.id)
        )
    assert waiting == 0


def test_a_round_closed_early_or_never_seen_open_gets_no_tick_event(
    org: Org, db: sessionmaker[Session]
) -> None:
    today = rounds_service.today()
    early = open_round(org.admin)
    ok(org.analyst.post(f"/api/v1/rounds/{early.id}/close"))
    # Scheduled for two days that pass with no dispatcher running: never open as far as an
    # integrator could see, so neither opened nor closed is sent afterwards.
    unseen = ok(
        org.admin.post(
            "/api/v1/rounds",
            json={
                "name": "Kort enkät",
                "questionnaire_version_id": early.version_id,
                "period": "2026-Q4",
                "area_ids": early.area_ids,
                "open_date": (today + timedelta(days=1)).isoformat(),
                "close_date": (today + timedelta(days=2)).isoformat(),
            },
        ),
        201,
    )
    for days in (5, 6, 40):
        tick(db, swedish(today + timedelta(days=days)))
    events = events_of(db, org.id)
    assert [(e["type"], e["round_id"]) for e in events] == [
        ("round.opened", early.id),
        ("round.closed", early.id),
    ]
    assert events[1]["data"]["closed_early"] is True
    assert all(e["round_id"] != unseen["id"] for e in events)


def test_results_updated_is_debounced_by_interval_and_minimum_cell_size(
    org: Org, db: sessionmaker[Session]
) -> None:
    r = open_round(org.admin, n_areas=2)
    t0 = utcnow()
    add_responses(org.integrator, r.id, r.area_ids[0], 12)
    tick(db, t0)
    # 12 answers, all in one area: the total would tell the other area has none.
    assert events_of(db, org.id, "results.updated") == []

    add_responses(org.integrator, r.id, r.area_ids[1], 10)
    before = utcnow()
    tick(db, t0)
    after = utcnow()
    [first] = events_of(db, org.id, "results.updated")
    ResultsUpdatedEvent.model_validate(first)
    assert first["round_id"] == r.id
    assert set(first["data"]) == {"round_id", "period", "as_of", "new_responses", "response_count"}
    assert (first["data"]["new_responses"], first["data"]["response_count"]) == (22, 22)
    as_of = datetime.fromisoformat(first["data"]["as_of"])
    assert before <= as_of <= after  # the tick's fold, never a response's time
    assert before <= datetime.fromisoformat(first["timestamp"]) <= after

    add_responses(org.integrator, r.id, r.area_ids[0], 10)
    for minutes in (1, 30, 59):
        tick(db, t0 + timedelta(minutes=minutes))
    assert len(events_of(db, org.id, "results.updated")) == 1  # within the interval
    tick(db, t0 + timedelta(minutes=61))
    second = events_of(db, org.id, "results.updated")[1]["data"]
    assert (second["new_responses"], second["response_count"]) == (10, 32)

    add_responses(org.integrator, r.id, r.area_ids[1], 9)
    for hours in (3, 4, 5):
        tick(db, t0 + timedelta(hours=hours))
    assert len(events_of(db, org.id, "results.updated")) == 2  # 9 new: fewer than k = 10
    add_responses(org.integrator, r.id, r.area_ids[1], 1)
    tick(db, t0 + timedelta(hours=5))
    third = events_of(db, org.id, "results.updated")[2]["data"]
    assert (third["new_responses"], third["response_count"]) == (10, 42)
    shown = ok(org.analyst.get(f"/api/v1/rounds/{r.id}"))
    assert shown["response_count"] == 42
    results = ok(org.analyst.get(f"/api/v1/rounds/{r.id}/results"))
    assert datetime.fromisoformat(results["as_of"]) >= datetime.fromisoformat(third["as_of"])

    # Once closed, the remainder is in round.closed's total: no results.updated after it.
    add_responses(org.integrator, r.id, r.area_ids[0], 15)
    ok(org.analyst.post(f"/api/v1/rounds/{r.id}/close"))
    tick(db, t0 + timedelta(hours=9))
    assert len(events_of(db, org.id, "results.updated")) == 3
    [closed] = events_of(db, org.id, "round.closed")
    assert closed["data"]["response_count"] == 57


def test_the_minimum_cell_size_is_the_organisations(org: Org, db: sessionmaker[Session]) -> None:
    ok(org.admin.patch("/api/v1/organisation", json={"min_cell_size": 5}))
    r = open_round(org.admin, n_areas=1)
    add_responses(org.integrator, r.id, r.area_ids[0], 4)
    t0 = utcnow()
    tick(db, t0, interval=0)
    assert events_of(db, org.id, "results.updated") == []
    add_responses(org.integrator, r.id, r.area_ids[0], 1)
    tick(db, t0, interval=0)
    add_responses(org.integrator, r.id, r.area_ids[0], 5)
    tick(db, t0 + timedelta(seconds=1), interval=0)
    counts = [
        (e["data"]["new_responses"], e["data"]["response_count"])
        for e in events_of(db, org.id, "results.updated")
    ]
    assert counts == [(5, 5), (5, 10)]


def test_another_organisations_rounds_never_appear(
    make_org: Callable[[], Org], db: sessionmaker[Session]
) -> None:
    mine, theirs = make_org(), make_org()
    a = open_round(mine.admin, n_areas=1)
    b = open_round(theirs.admin, n_areas=1)
    add_responses(mine.integrator, a.id, a.area_ids[0], 11)
    add_responses(theirs.integrator, b.id, b.area_ids[0], 13)
    tick(db, utcnow())
    ok(theirs.analyst.post(f"/api/v1/rounds/{b.id}/close"))
    for org, own in ((mine, a), (theirs, b)):
        events = events_of(db, org.id)
        assert {e["round_id"] for e in events} == {own.id}
        assert all(e["data"]["round_id"] == own.id for e in events)
    assert [e["data"]["response_count"] for e in events_of(db, mine.id, "results.updated")] == [11]
    assert [e["data"]["response_count"] for e in events_of(db, theirs.id, "results.updated")] == [
        13
    ]


def test_two_dispatchers_ticking_at_once_write_each_event_once(
    org: Org, db: sessionmaker[Session], backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has one writer: two ticks cannot overlap there")
    today = rounds_service.today()
    r = open_round(
        org.admin,
        open_date=(today + timedelta(days=1)).isoformat(),
        close_date=(today + timedelta(days=9)).isoformat(),
    )
    now = swedish(today + timedelta(days=1), time(1)).astimezone(UTC)
    first, second = db(), db()
    try:
        emit_due_events(first, now)  # holds the round's row until it commits
        emit_due_events(second, now)  # skips the held round: the first one writes it
        second.commit()
        first.commit()
        emit_due_events(second, now)  # and now it is written: nothing is due
        second.commit()
    finally:
        first.close()
        second.close()
    assert [(e["type"], e["round_id"]) for e in events_of(db, org.id)] == [("round.opened", r.id)]


def test_a_round_that_fails_holds_back_no_other_round(
    org: Org, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    today = rounds_service.today()
    dates = {
        "open_date": (today + timedelta(days=1)).isoformat(),
        "close_date": (today + timedelta(days=9)).isoformat(),
    }
    broken = open_round(org.admin, **dates)
    body = {
        "name": "Andra rundan",
        "questionnaire_version_id": broken.version_id,
        "period": "2026-Q3",
        "area_ids": broken.area_ids,
        **dates,
    }
    fine = ok(org.admin.post("/api/v1/rounds", json=body), 201)
    real = events.round_data

    def failing(session: Session, survey_round: SurveyRound, **kw: Any) -> dict[str, Any]:
        if survey_round.id == broken.id:
            raise RuntimeError("a definition that no longer loads")
        return real(session, survey_round, **kw)

    monkeypatch.setattr(events, "round_data", failing)
    opens = swedish(today + timedelta(days=1))
    tick(db, opens)  # does not raise: the dispatcher goes on to its deliveries
    assert [e["round_id"] for e in events_of(db, org.id)] == [fine["id"]]
    monkeypatch.setattr(events, "round_data", real)
    tick(db, opens)
    assert [e["round_id"] for e in events_of(db, org.id)] == [fine["id"], broken.id]
