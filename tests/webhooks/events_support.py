"""Shared steps of the webhook event tests: reading an organisation's outbox, adding
responses, and ticks at chosen Swedish moments."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import WebhookEvent
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


def tick(db: sessionmaker[Session], now: datetime, *, interval: float = 3600.0) -> int:
    """One dispatcher tick's events at ``now``, committed as the dispatcher does."""
    with db() as session:
        emitted = emit_due_events(session, now, results_interval_seconds=interval)
        session.commit()
    return emitted


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
