"""Delivering the outbox: claim due deliveries, POST them signed, record what happened.

A claim moves a delivery's ``next_attempt_at`` ahead by a lease and commits, so the POST runs
outside any transaction, and a dispatcher that dies mid-attempt (kill -9) leaves a delivery
that is simply due again when the lease ends: at least once, with the same ``webhook-id``.
PostgreSQL claims with ``FOR UPDATE SKIP LOCKED`` (any number of dispatchers); SQLite's
``BEGIN IMMEDIATE`` serialises claims.

Per subscription and round, deliveries go out in event order: only a round's earliest
pending delivery is claimable, so a later event waits while an earlier one is retrying (a
failed, given-up delivery no longer holds the others back).
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased

from survey_api.models import WebhookDelivery, WebhookEvent, WebhookSubscription, utcnow
from survey_api.timestamps import as_utc
from survey_api.webhooks import destinations, signing

# The Standard Webhooks retry schedule after each failed attempt (seconds); the last repeats.
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
GIVE_UP_AFTER = timedelta(hours=24)
LEASE = timedelta(seconds=60)
TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 4096
MAX_ERROR_LENGTH = 300
USER_AGENT = "survey_api-webhooks/1"


@dataclass(frozen=True)
class DeliveryOptions:
    """The settings a dispatcher delivers by (config.Settings' webhook_* fields)."""

    backoff_scale: float = 1.0
    disable_after: int = 5
    allowed_networks: tuple[destinations.IPNetwork, ...] = ()
    ca_bundle: str | None = None
    timeout: float = TIMEOUT_SECONDS
    batch: int = 20

    @classmethod
    def from_settings(cls, settings: Any) -> DeliveryOptions:
        return cls(
            backoff_scale=settings.webhook_backoff_scale,
            disable_after=settings.webhook_disable_after,
            allowed_networks=destinations.parse_networks(settings.webhook_allowed_networks),
            ca_bundle=settings.webhook_ca_bundle,
        )

    def retry_delay(self, attempts: int) -> timedelta:
        """How long to wait after the ``attempts``-th failed attempt."""
        seconds = RETRY_SCHEDULE[min(attempts, len(RETRY_SCHEDULE)) - 1]
        return timedelta(seconds=seconds * self.backoff_scale)

    @property
    def give_up_after(self) -> timedelta:
        return GIVE_UP_AFTER * self.backoff_scale

    @property
    def lease(self) -> timedelta:
        return max(LEASE * self.backoff_scale, timedelta(seconds=self.timeout * 2))


@dataclass(frozen=True)
class Claimed:
    """A claimed delivery with all an attempt needs (no session)."""

    delivery_id: int
    message_id: str
    url: str
    secrets: tuple[str, ...]
    body: str


@dataclass
class Outcome:
    """One attempt's result: a 2xx is delivered; anything else a failure with a short reason."""

    status_code: int | None = None
    error: str | None = None
    sent: bool = field(default=False)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def body_of(event: WebhookEvent) -> str:
    """The JSON body sent for an event: the same bytes on every attempt."""
    return json.dumps(event.payload, ensure_ascii=False, separators=(",", ":"))


def signing_secrets(subscription: WebhookSubscription, now: datetime) -> tuple[str, ...]:
    """The current secret, and the previous one while its rotation overlap lasts."""
    found = [subscription.secret]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret and expires is not None and as_utc(expires) > now:
        found.append(subscription.previous_secret)
    return tuple(found)


def claim(
    session: Session, now: datetime, options: DeliveryOptions, *, due_by: datetime | None = None
) -> list[Claimed]:
    """Claim up to ``options.batch`` deliveries due by ``due_by`` (default now), leased from
    ``now`` (the caller commits)."""
    earlier = aliased(WebhookDelivery)
    blocked = (
        exists()
        .where(
            and_(
                earlier.subscription_id == WebhookDelivery.subscription_id,
                earlier.survey_round_id == WebhookDelivery.survey_round_id,
                earlier.status == "pending",
                earlier.event_id < WebhookDelivery.event_id,
            )
        )
        .correlate(WebhookDelivery)
    )
    query = (
        select(WebhookDelivery)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= (due_by or now),
            WebhookSubscription.enabled.is_(True),
            ~blocked,
        )
        .order_by(WebhookDelivery.event_id, WebhookDelivery.id)
        .limit(options.batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
    claimed: list[Claimed] = []
    for delivery in session.scalars(query).all():
        subscription = session.get_one(WebhookSubscription, delivery.subscription_id)
        event = session.get_one(WebhookEvent, delivery.event_id)
        delivery.next_attempt_at = now + options.lease
        claimed.append(
            Claimed(
                delivery_id=delivery.id,
                message_id=delivery.message_id,
                url=subscription.url,
                secrets=signing_secrets(subscription, now),
                body=body_of(event),
            )
        )
    session.flush()
    return claimed


def ssl_context(options: DeliveryOptions) -> ssl.SSLContext:
    """Public certificate authorities (certifi), plus the operator's bundle if set."""
    import certifi

    context = ssl.create_default_context(cafile=certifi.where())
    if options.ca_bundle:
        context.load_verify_locations(cafile=options.ca_bundle)
    return context


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"


def attempt(claimed: Claimed, options: DeliveryOptions, context: ssl.SSLContext) -> Outcome:
    """POST one delivery to the address its URL resolves to now (checked by the SSRF guard);
    no redirect is followed, at most MAX_RESPONSE_BYTES of the answer are read."""
    try:
        destination = destinations.check_destination(claimed.url, options.allowed_networks)
    except destinations.DestinationRefused as refused:
        return Outcome(error=_short(f"not sent: {refused}"))
    address = destination.addresses[0]
    host_in_url = f"[{address}]" if address.version == 6 else str(address)
    pinned = f"https://{host_in_url}:{destination.port}{destination.target}"
    host_header = (f"[{destination.host}]" if ":" in destination.host else destination.host) + (
        "" if destination.port == 443 else f":{destination.port}"
    )
    headers = {
        **signing.headers(claimed.secrets, claimed.message_id, utcnow(), claimed.body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "host": host_header,
    }
    extensions: dict[str, Any] = {}
    if not destination.host_is_address:
        # TLS checks the certificate against the URL's host name, while the connection goes
        # to the address checked above (no second lookup to rebind).
        extensions["sni_hostname"] = destination.host
    try:
        with (
            httpx.Client(
                verify=context, timeout=options.timeout, follow_redirects=False, trust_env=False
            ) as client,
            client.stream(
                "POST",
                pinned,
                content=claimed.body.encode(),
                headers=headers,
                extensions=extensions,
            ) as response,
        ):
            read = 0
            for chunk in response.iter_bytes():
                read += len(chunk)
                if read >= MAX_RESPONSE_BYTES:
                    break
            status = response.status_code
    except httpx.TimeoutException:
        return Outcome(error=f"no answer within {options.timeout:g} s", sent=True)
    except httpx.HTTPError as error:
        return Outcome(error=_short(f"{type(error).__name__}: {error}"), sent=True)
    if 200 <= status < 300:
        return Outcome(status_code=status, sent=True)
    reason = "a redirect, not followed" if 300 <= status < 400 else "not a 2xx answer"
    return Outcome(status_code=status, error=f"HTTP {status}: {reason}", sent=True)


def record(
    session: Session, delivery_id: int, outcome: Outcome, now: datetime, options: DeliveryOptions
) -> str | None:
    """Store an attempt's outcome (the caller commits); return the delivery's new status, or
    None if it was deleted meanwhile."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != "pending":
        return None if delivery is None else delivery.status
    subscription = session.get_one(WebhookSubscription, delivery.subscription_id)
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    if outcome.ok:
        delivery.status = "delivered"
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        subscription.consecutive_failures = 0
        return delivery.status
    retry_at = now + options.retry_delay(delivery.attempts)
    if retry_at <= as_utc(delivery.retrying_since) + options.give_up_after:
        delivery.next_attempt_at = retry_at
        return delivery.status
    delivery.status = "failed"
    delivery.next_attempt_at = None
    subscription.consecutive_failures += 1
    if subscription.enabled and subscription.consecutive_failures >= options.disable_after:
        subscription.enabled = False
        subscription.disabled_at = now
        subscription.disabled_reason = _short(
            f"disabled after {subscription.consecutive_failures} deliveries in a row were given "
            f"up on; the last: {outcome.error}"
        )
    return delivery.status
