"""Shared steps of the webhook event tests: reading an organisation's outbox, adding
responses (dated today, or on a chosen date as if they had come then), ticks at chosen
Swedish moments, and a clock for the outbox so an event's `timestamp` is the tick's."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Response, WebhookEvent, utcnow
from survey_api.webhooks import outbox
from survey_api.webhooks.due import emit_due_events
from tests.helpers import full_answers, ok

SWEDEN = ZoneInfo("Europe/Stockholm")


def events_of(
    db: sessionmaker[Session], organisation_id: int, event_type: str | None = None
) -> list[dict[str, Any]]:
    """The organisation's outbox, oldest first: each event's round id and sent body."""
    with db() as session:
        query = select(WebhookEvent).where(WebhookEvent.organisation_id == organisation_id)
        if event_type is not None:
            query = query.where(WebhookEvent.event_type == event_type)
        return [
            {"round_id": e.survey_round_id, "type": e.event_type, **e.payload}
            for e in session.scalars(query.order_by(WebhookEvent.id))
        ]


def tick(db: sessionmaker[Session], now: datetime, *, interval_days: int = 1) -> int:
    """One dispatcher tick's events at ``now``, committed as the dispatcher does."""
    with db() as session:
        emitted = emit_due_events(session, now, results_interval_days=interval_days)
        session.commit()
    return emitted


class Clock:
    """The outbox's clock, set by the test: events written while it is set carry its time
    as their `timestamp`, as a dispatcher ticking at that moment would write them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now: datetime | None = None
        monkeypatch.setattr(outbox, "utcnow", lambda: self.now or utcnow())

    def tick(self, db: sessionmaker[Session], now: datetime, *, interval_days: int = 1) -> int:
        self.now = now.astimezone(UTC)
        try:
            return tick(db, now, interval_days=interval_days)
        finally:
            self.now = None


def swedish(day: date, at: time = time(0, 0, 1)) -> datetime:
    """A moment of a Swedish calendar day."""
    return datetime.combine(day, at, tzinfo=SWEDEN)


def add_responses(client: httpx.Client, round_id: int, area_id: int, n: int) -> None:
    """n paper answers entered by staff (stored at once, no batch wait)."""
    body = {
        "responses": [
            {"area_id": area_id, "language": "sv", "channel": "paper", "answers": full_answers()}
            for _ in range(n)
        ]
    }
    ok(
        client.post(
            f"/api/v1/rounds/{round_id}/responses/bulk",
            json=body,
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ),
        201,
    )


def add_dated(
    db: sessionmaker[Session],
    client: httpx.Client,
    round_id: int,
    area_id: int,
    n: int,
    day: date,
) -> None:
    """n answers dated ``day`` (a Swedish date), as if they had come that day: a response
    holds its date and nothing finer."""
    with db() as session:
        before = session.scalar(select(func.coalesce(func.max(Response.id), 0)))
    add_responses(client, round_id, area_id, n)
    with db() as session:
        session.execute(
            update(Response)
            .where(Response.survey_round_id == round_id, Response.id > before)
            .values(submitted_date=day)
        )
        session.commit()
