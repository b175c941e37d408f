"""Webhooks: an organisation's subscriptions, the transactional outbox of events, and each
event's delivery to each subscription.

Nothing here holds a response's content or time: events are aggregate-level (a round opened
or closed, results updated with a count of new responses, an import finished), and the times
stored are of events, deliveries and attempts, never of an answer.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from survey_api.models.base import Base, utcnow

DELIVERY_STATUSES = ("pending", "delivered", "failed")


class WebhookSubscription(Base):
    """An integrator's endpoint: the https URL that receives the organisation's events of the
    chosen types, signed with the subscription's secret (Standard Webhooks)."""

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    # whsec_<base64>, encrypted under a key derived from the secret_key setting
    # (webhooks.signing.seal): every delivery is signed with it, a dump alone cannot.
    secret: Mapped[str] = mapped_column(String(300))
    # After a rotation the previous secret (encrypted too) signs beside the new one until
    # this time.
    previous_secret: Mapped[str | None] = mapped_column(String(300), default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    # Deliveries given up on in a row; a delivered one resets it.
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEvent(Base):
    """One event in the outbox, written in the transaction of the change it reports.

    ``payload`` is the body sent (``{"type", "timestamp", "data"}``). ``survey_round_id`` is
    the round the event is about, if any, and orders deliveries per round; it is not a
    foreign key, so an event outlives its round.
    """

    __tablename__ = "webhook_event"
    # What was last announced of a round (due.py): latest id per round and type, no scan.
    __table_args__ = (Index("ix_webhook_event_round_type", "survey_round_id", "event_type", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(40))
    survey_round_id: Mapped[int | None] = mapped_column(default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event to one subscription: pending until delivered, or failed when given up on.

    ``message_id`` is the Standard Webhooks ``webhook-id``, the same on every attempt and
    re-send, so a receiver can drop duplicates. ``next_attempt_at`` is when a dispatcher may
    next try it (a dispatcher that claims it moves it ahead by a lease, so a crashed attempt is
    retried). ``last_error`` is short and never holds a secret.
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_subscription_event", "subscription_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_event.id", ondelete="CASCADE"), index=True
    )
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscription.id", ondelete="CASCADE")
    )
    # Copied from the event: the per-round order is checked without a join.
    survey_round_id: Mapped[int | None] = mapped_column(default=None)
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    # Retries go on until a day (scaled by the back-off setting) after this: the event's
    # time, or the last manual re-send's.
    retrying_since: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
