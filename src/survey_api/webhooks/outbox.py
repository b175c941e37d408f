"""The transactional outbox: an event is written in the same transaction as the change it
reports, so it is delivered if and only if that change committed."""

from __future__ import annotations

import secrets
from typing import Any, Literal, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_api.models import WebhookDelivery, WebhookEvent, WebhookSubscription, utcnow

EventType = Literal["round.opened", "round.closed", "results.updated", "import.finished"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)


def new_message_id() -> str:
    """A Standard Webhooks message id (``webhook-id``): unique, the same on every retry."""
    return "msg_" + secrets.token_urlsafe(18)


def emit(
    session: Session,
    organisation_id: int,
    event_type: str,
    data: dict[str, Any],
    *,
    round_id: int | None = None,
) -> WebhookEvent:
    """Record an event of the organisation in the caller's transaction (no commit here).

    ``data`` is the event's aggregate-level payload (never a single response's content or
    time); ``round_id`` orders a subscription's deliveries per round. Writes the event and one
    pending delivery for every enabled subscription of the organisation that wants this type;
    if the caller's transaction rolls back, neither exists and nothing is sent.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    now = utcnow()
    event = WebhookEvent(
        organisation_id=organisation_id,
        event_type=event_type,
        survey_round_id=round_id,
        payload={
            "type": event_type,
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "data": data,
        },
        created_at=now,
    )
    session.add(event)
    session.flush()
    subscriptions = session.scalars(
        select(WebhookSubscription)
        .where(
            WebhookSubscription.organisation_id == organisation_id,
            WebhookSubscription.enabled.is_(True),
        )
        .order_by(WebhookSubscription.id)
    )
    for subscription in subscriptions:
        if event_type in subscription.event_types:
            session.add(
                WebhookDelivery(
                    event_id=event.id,
                    subscription_id=subscription.id,
                    survey_round_id=round_id,
                    message_id=new_message_id(),
                    status="pending",
                    next_attempt_at=now,
                    retrying_since=now,
                    created_at=now,
                )
            )
    session.flush()
    return event
