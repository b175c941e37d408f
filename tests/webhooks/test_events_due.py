"""The dispatcher tick's events (webhooks/due.py): rounds opening and closing by their Swedish
dates, exactly once however many ticks run, and results.updated by whole Swedish dates (after
midnight, responses dated before it, at least k new ones, never while the round's total may
not be shown; its time and as_of never a response's). Both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
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
from tests.webhooks.events_support import (
    Clock,
    add_dated,
    add_responses,
    events_of,
    swedish,
    tick,
)


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


def _counts(db: sessionmaker[Session], org: Org) -> list[tuple[str, str, int, int]]:
    """(as_of, through_date, new_responses, response_count) of each results.updated."""
    return [
        (
            e["data"]["as_of"],
            e["data"]["through_date"],
            e["data"]["new_responses"],
            e["data"]["response_count"],
        )
        for e in events_of(db, org.id, "results.updated")
    ]


def _midnight(day: date) -> str:
    """00:00 in Sweden at the start of ``day``, as the events write it (UTC, Z)."""
    return swedish(day, time(0)).astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_results_updated_counts_whole_dates_after_they_end(
    org: Org, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    today = rounds_service.today()
    d0 = today - timedelta(days=6)  # the round opened ten days ago
    r = open_round(org.admin, n_areas=2)
    add_dated(db, org.integrator, r.id, r.area_ids[0], 12, d0)
    clock.tick(db, swedish(d0 + timedelta(days=1), time(0, 5)))
    # 12 answers, all in one area: the total would tell the other area has none.
    assert events_of(db, org.id, "results.updated") == []

    add_dated(db, org.integrator, r.id, r.area_ids[1], 10, d0 + timedelta(days=1))
    for at in (time(0, 0, 1), time(0, 4, 59)):  # midnight, but not yet settled
        clock.tick(db, swedish(d0 + timedelta(days=2), at))
    assert events_of(db, org.id, "results.updated") == []
    first_tick = swedish(d0 + timedelta(days=2), time(0, 5, 2))
    clock.tick(db, first_tick)
    [first] = events_of(db, org.id, "results.updated")
    ResultsUpdatedEvent.model_validate(first)
    assert first["round_id"] == r.id
    assert set(first["data"]) == {
        "round_id",
        "period",
        "as_of",
        "through_date",
        "new_responses",
        "response_count",
    }
    assert _counts(db, org) == [
        (_midnight(d0 + timedelta(days=2)), (d0 + timedelta(days=1)).isoformat(), 22, 22)
    ]
    assert datetime.fromisoformat(first["timestamp"]) == first_tick  # the tick, no answer's

    # Answers dated that day: later ticks that day write nothing, the next midnight does.
    add_dated(db, org.integrator, r.id, r.area_ids[0], 10, d0 + timedelta(days=2))
    for at in (time(0, 6), time(9), time(17, 30), time(23, 59, 59)):
        clock.tick(db, swedish(d0 + timedelta(days=2), at))
    assert len(events_of(db, org.id, "results.updated")) == 1
    clock.tick(db, swedish(d0 + timedelta(days=3), time(0, 5)))
    clock.tick(db, swedish(d0 + timedelta(days=3), time(0, 6)))
    assert _counts(db, org)[1:] == [
        (_midnight(d0 + timedelta(days=3)), (d0 + timedelta(days=2)).isoformat(), 10, 32)
    ]

    # 9 on one date: fewer than k = 10, nothing; one more the next date makes 10 over two.
    add_dated(db, org.integrator, r.id, r.area_ids[1], 9, d0 + timedelta(days=3))
    clock.tick(db, swedish(d0 + timedelta(days=4), time(0, 5)))
    add_dated(db, org.integrator, r.id, r.area_ids[1], 1, d0 + timedelta(days=4))
    clock.tick(db, swedish(d0 + timedelta(days=4), time(20)))
    assert len(events_of(db, org.id, "results.updated")) == 2
    clock.tick(db, swedish(d0 + timedelta(days=5), time(3)))  # after an outage: later, same
    assert _counts(db, org)[2:] == [
        (_midnight(d0 + timedelta(days=5)), (d0 + timedelta(days=4)).isoformat(), 10, 42)
    ]
    shown = ok(org.analyst.get(f"/api/v1/rounds/{r.id}"))
    assert shown["response_count"] == 42

    # Once closed, the remainder is in round.closed's total: no results.updated after it.
    add_responses(org.integrator, r.id, r.area_ids[0], 15)
    ok(org.analyst.post(f"/api/v1/rounds/{r.id}/close"))
    clock.tick(db, swedish(today + timedelta(days=1), time(0, 5)))
    assert len(events_of(db, org.id, "results.updated")) == 3
    [closed] = events_of(db, org.id, "round.closed")
    assert closed["data"]["response_count"] == 57


def test_an_answer_at_any_time_of_day_never_moves_the_event(
    make_org: Callable[[], Org], db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two organisations alike but for when their tenth answer of a date came: early in the
    morning between ticks, or the last moment before midnight. Their events are written by
    the same tick, with the same as_of and counts: nothing tells the two apart."""
    clock = Clock(monkeypatch)
    day = rounds_service.today() - timedelta(days=3)
    early, late = make_org(), make_org()
    rounds = {org.id: (org, open_round(org.admin, n_areas=1)) for org in (early, late)}
    for org, r in rounds.values():
        add_dated(db, org.integrator, r.id, r.area_ids[0], 9, day)
    moments = [time(h, m) for h in range(0, 24, 3) for m in (0, 1)] + [time(23, 59, 59)]
    for at in moments:
        if at == time(6, 1):
            org, r = rounds[early.id]
            add_dated(db, org.integrator, r.id, r.area_ids[0], 1, day)
        if at == time(23, 59, 59):
            org, r = rounds[late.id]
            add_dated(db, org.integrator, r.id, r.area_ids[0], 1, day)
        clock.tick(db, swedish(day, at))
        for org in (early, late):
            assert events_of(db, org.id, "results.updated") == []
    # Answers dated the next day, before and after its first tick, change nothing either.
    org, r = rounds[late.id]
    add_dated(db, org.integrator, r.id, r.area_ids[0], 5, day + timedelta(days=1))
    clock.tick(db, swedish(day + timedelta(days=1), time(0, 6)))
    add_dated(db, org.integrator, r.id, r.area_ids[0], 5, day + timedelta(days=1))
    clock.tick(db, swedish(day + timedelta(days=1), time(0, 7)))
    [a] = events_of(db, early.id, "results.updated")
    [b] = events_of(db, late.id, "results.updated")
    assert a["timestamp"] == b["timestamp"]
    assert datetime.fromisoformat(a["timestamp"]) == swedish(day + timedelta(days=1), time(0, 6))
    for event in (a, b):
        data = event["data"]
        assert data["as_of"] == _midnight(day + timedelta(days=1))
        assert data["through_date"] == day.isoformat()
        assert (data["new_responses"], data["response_count"]) == (10, 10)


def test_the_interval_is_in_whole_dates(
    org: Org, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    d0 = rounds_service.today() - timedelta(days=9)
    r = open_round(org.admin, n_areas=1)
    for days in range(8):
        add_dated(db, org.integrator, r.id, r.area_ids[0], 10, d0 + timedelta(days=days))
        clock.tick(db, swedish(d0 + timedelta(days=days + 1), time(0, 5)), interval_days=3)
    assert _counts(db, org) == [
        (_midnight(d0 + timedelta(days=n)), (d0 + timedelta(days=n - 1)).isoformat(), new, total)
        for n, new, total in ((1, 10, 10), (4, 30, 40), (7, 30, 70))
    ]


def test_the_minimum_cell_size_is_the_organisations(org: Org, db: sessionmaker[Session]) -> None:
    ok(org.admin.patch("/api/v1/organisation", json={"min_cell_size": 5}))
    d0 = rounds_service.today() - timedelta(days=5)
    r = open_round(org.admin, n_areas=1)
    add_dated(db, org.integrator, r.id, r.area_ids[0], 4, d0)
    tick(db, swedish(d0 + timedelta(days=1), time(0, 5)))
    assert events_of(db, org.id, "results.updated") == []
    add_dated(db, org.integrator, r.id, r.area_ids[0], 1, d0 + timedelta(days=1))
    tick(db, swedish(d0 + timedelta(days=2), time(0, 5)))
    add_dated(db, org.integrator, r.id, r.area_ids[0], 5, d0 + timedelta(days=2))
    tick(db, swedish(d0 + timedelta(days=3), time(0, 5)))
    assert [c[2:] for c in _counts(db, org)] == [(5, 5), (5, 10)]


def test_another_organisations_rounds_never_appear(
    make_org: Callable[[], Org], db: sessionmaker[Session]
) -> None:
    mine, theirs = make_org(), make_org()
    a = open_round(mine.admin, n_areas=1)
    b = open_round(theirs.admin, n_areas=1)
    yesterday = rounds_service.today() - timedelta(days=1)
    add_dated(db, mine.integrator, a.id, a.area_ids[0], 11, yesterday)
    add_dated(db, theirs.integrator, b.id, b.area_ids[0], 13, yesterday)
    tick(db, swedish(rounds_service.today(), time(0, 5)))
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
