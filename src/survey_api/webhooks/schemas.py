"""Request and response bodies of the webhook subscription API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from survey_api.input_types import RequestModel
from survey_api.paging import Page
from survey_api.timestamps import UtcDatetime
from survey_api.webhooks.destinations import MAX_URL_LENGTH
from survey_api.webhooks.outbox import EventType

DeliveryStatus = Literal["pending", "delivered", "failed"]
EXAMPLE_URL = "https://integration.example.se/survey-webhooks"


def _distinct(value: list[EventType] | None) -> list[EventType] | None:
    if value is not None and len(set(value)) != len(value):
        raise ValueError("each event type may be named once")
    return value


class WebhookCreate(RequestModel):
    """A subscription: where to send which of the organisation's events."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "url": EXAMPLE_URL,
                    "event_types": ["round.closed", "results.updated"],
                    "description": "Results to the BI warehouse",
                }
            ]
        },
    )

    url: str = Field(
        max_length=MAX_URL_LENGTH,
        description="An https URL whose host resolves to public addresses only (unless the "
        "operator allows other networks); no user name or password.",
    )
    event_types: list[EventType] = Field(min_length=1, max_length=20)
    description: str = Field(default="", max_length=500)

    _types = field_validator("event_types")(_distinct)


class WebhookUpdate(RequestModel):
    """Fields to change; omitted fields stay. `enabled: true` re-enables a disabled
    subscription (its count of failures starts again); `false` pauses it."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"enabled": True}, {"url": EXAMPLE_URL}]},
    )

    url: str | None = Field(default=None, max_length=MAX_URL_LENGTH)
    event_types: list[EventType] | None = Field(default=None, min_length=1, max_length=20)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None

    _types = field_validator("event_types")(_distinct)


class WebhookRead(BaseModel):
    """A subscription, without its secret (shown once, when created or rotated)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    description: str
    event_types: list[EventType]
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why it is disabled (repeated failure, or an admin); null while enabled."
    )
    disabled_at: UtcDatetime | None
    consecutive_failures: int = Field(
        description="Deliveries given up on in a row since the last delivered one."
    )
    previous_secret_expires_at: UtcDatetime | None = Field(
        description="After a rotation: until when the previous secret still signs beside "
        "the new one; null when only one secret signs."
    )
    created_at: UtcDatetime


class WebhookCreated(WebhookRead):
    """A new subscription with its signing secret: shown in this answer only."""

    secret: str = Field(
        description="The Standard Webhooks secret (`whsec_…`) to verify `webhook-signature` "
        "with. Store it now."
    )


class WebhookSecret(BaseModel):
    """A rotated secret: shown in this answer only."""

    secret: str = Field(description="The new `whsec_…` secret; it signs from now on.")
    previous_secret_expires_at: UtcDatetime = Field(
        description="Until then every delivery is signed with both secrets (two `v1,…` "
        "signatures in `webhook-signature`); after it, with the new one only."
    )


class WebhookPage(Page[WebhookRead]):
    """A page of the organisation's webhook subscriptions, oldest first."""


class DeliveryRead(BaseModel):
    """One event's delivery to the subscription: the delivery log's row."""

    id: int
    event_id: int
    event_type: EventType
    survey_round_id: int | None = Field(description="The round the event is about, if any.")
    webhook_id: str = Field(
        description="The `webhook-id` header: the same on every attempt and re-send, so a "
        "receiver can drop duplicates."
    )
    status: DeliveryStatus = Field(
        description="`pending` (not yet delivered; retried with back-off), `delivered` (a 2xx "
        "answer), `failed` (given up on a day after the event or the last re-send)."
    )
    attempts: int
    next_attempt_at: UtcDatetime | None = Field(description="When it is next tried, if pending.")
    last_attempt_at: UtcDatetime | None
    last_status_code: int | None = Field(description="The receiver's HTTP status, if it answered.")
    last_error: str | None = Field(description="Why the last attempt failed, if it did.")
    delivered_at: UtcDatetime | None
    created_at: UtcDatetime


class DeliveryPage(Page[DeliveryRead]):
    """A page of the subscription's delivery log, newest first."""
