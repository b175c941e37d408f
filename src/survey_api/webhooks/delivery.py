"""Delivering the outbox: claim due deliveries, POST them signed, record what happened.

A claim moves a delivery's ``next_attempt_at`` ahead by a lease and commits, so the POST runs
outside any transaction, and a dispatcher that dies mid-attempt (kill -9) leaves a delivery
that is simply due again when the lease ends: at least once, with the same ``webhook-id``.
PostgreSQL claims with ``FOR UPDATE SKIP LOCKED`` (any number of dispatchers); SQLite's
``BEGIN IMMEDIATE`` serialises claims.

Per subscription and round, deliveries go out in event order: only a round's earliest
pending delivery is claimable, so a later event waits while an earlier one is retrying (a
failed, given-up delivery no longer holds the others back).

An attempt has a total deadline (``timeout``, 15 s by default, well under the lease): the
answer is streamed against it, and a watchdog shuts the connection's socket when it passes,
so a receiver that trickles its answer a byte at a time is cut off and the attempt recorded
as a timeout. Whatever goes wrong in an attempt becomes a failed :class:`Outcome`, never an
exception. Retries follow RETRY_SCHEDULE until a day after the event; the last attempt is
made at exactly that day's end, then the delivery is given up on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_, delete, exists, select
from sqlalchemy.orm import Session, aliased

from survey_api.config import DEV_SECRET
from survey_api.models import WebhookDelivery, WebhookEvent, WebhookSubscription, utcnow
from survey_api.timestamps import as_utc
from survey_api.webhooks import destinations, signing

logger = logging.getLogger(__name__)

# The Standard Webhooks retry schedule after each failed attempt (seconds); the last repeats.
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
GIVE_UP_AFTER = timedelta(hours=24)
LEASE = timedelta(seconds=60)
# An attempt's whole time: connecting, TLS, sending and reading the answer.
TIMEOUT_SECONDS = 15.0
RETENTION = timedelta(days=30)
PRUNE_BATCH = 500
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
    # The secret_key setting: the stored signing secrets are encrypted under it.
    secret_key: str = DEV_SECRET
    retention: timedelta = RETENTION

    @classmethod
    def from_settings(cls, settings: Any) -> DeliveryOptions:
        return cls(
            backoff_scale=settings.webhook_backoff_scale,
            disable_after=settings.webhook_disable_after,
            allowed_networks=destinations.parse_networks(settings.webhook_allowed_networks),
            ca_bundle=settings.webhook_ca_bundle,
            secret_key=settings.secret_key.get_secret_value(),
            retention=timedelta(days=settings.webhook_retention_days),
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
    subscription_id: int = 0

    @property
    def host(self) -> str:
        """The destination's host (attempts at once are limited per host)."""
        try:
            return urlsplit(self.url).hostname or ""
        except ValueError:
            return ""


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


def signing_secrets(
    subscription: WebhookSubscription, now: datetime, secret_key: str
) -> tuple[str, ...]:
    """The current secret, and the previous one while its rotation overlap lasts, decrypted
    (SecretUnreadable if the current one cannot be; an unreadable previous one is left out)."""
    found = [signing.unseal(subscription.secret, secret_key)]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret and expires is not None and as_utc(expires) > now:
        with contextlib.suppress(signing.SecretUnreadable):
            found.append(signing.unseal(subscription.previous_secret, secret_key))
    return tuple(found)


def _disable(subscription: WebhookSubscription, now: datetime, reason: str) -> None:
    subscription.enabled = False
    subscription.disabled_at = now
    subscription.disabled_reason = _short(reason)


def claim(
    session: Session,
    now: datetime,
    options: DeliveryOptions,
    *,
    due_by: datetime | None = None,
    limit: int | None = None,
    admit: Callable[[Claimed], bool] | None = None,
    exclude_subscriptions: set[int] | None = None,
) -> list[Claimed]:
    """Claim up to ``limit`` (default ``options.batch``) deliveries due by ``due_by`` (default
    now), leased from ``now`` (the caller commits). A delivery ``admit`` turns down is left
    unclaimed and its subscription added to ``exclude_subscriptions`` (skipped from then on).
    A subscription whose secret cannot be decrypted is disabled with the reason."""
    excluded = exclude_subscriptions if exclude_subscriptions is not None else set()
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
        .limit(options.batch if limit is None else limit)
    )
    if excluded:
        query = query.where(WebhookDelivery.subscription_id.not_in(sorted(excluded)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
    claimed: list[Claimed] = []
    for delivery in session.scalars(query).all():
        subscription = session.get_one(WebhookSubscription, delivery.subscription_id)
        if subscription.id in excluded or not subscription.enabled:
            continue
        try:
            secrets = signing_secrets(subscription, now, options.secret_key)
        except signing.SecretUnreadable as unreadable:
            _disable(
                subscription,
                now,
                f"disabled: {unreadable}; rotate the secret, then enable the subscription",
            )
            excluded.add(subscription.id)
            continue
        event = session.get_one(WebhookEvent, delivery.event_id)
        one = Claimed(
            delivery_id=delivery.id,
            message_id=delivery.message_id,
            url=subscription.url,
            secrets=secrets,
            body=body_of(event),
            subscription_id=subscription.id,
        )
        if admit is not None and not admit(one):
            excluded.add(subscription.id)
            continue
        delivery.next_attempt_at = now + options.lease
        claimed.append(one)
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


class _Watchdog:
    """Shuts an attempt's socket when its deadline passes (or the dispatcher stops), so a
    read that blocks, or a receiver that trickles, ends the attempt at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self.fired = False

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpcore's trace extension: keep a duplicate of the TCP socket once connected (TLS
        detaches the original; a shutdown through the duplicate ends the connection)."""
        if not name.endswith("connect_tcp.complete"):
            return
        stream = info.get("return_value")
        found = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(found, socket.socket):
            with self._lock:
                self._socket = socket.socket(fileno=os.dup(found.fileno()))
                if self.fired:
                    self._shut()

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            self._shut()

    def _shut(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None


class UnderWay:
    """A dispatcher's attempts under way (their watchdogs), so that stopping it cuts them
    short."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watchdogs: set[_Watchdog] = set()

    def add(self, watchdog: _Watchdog) -> None:
        with self._lock:
            self._watchdogs.add(watchdog)

    def discard(self, watchdog: _Watchdog) -> None:
        with self._lock:
            self._watchdogs.discard(watchdog)

    def abort(self) -> None:
        with self._lock:
            watchdogs = list(self._watchdogs)
        for watchdog in watchdogs:
            watchdog.fire()


def attempt(
    claimed: Claimed,
    options: DeliveryOptions,
    context: ssl.SSLContext,
    under_way: UnderWay | None = None,
) -> Outcome:
    """POST one delivery to the address its URL resolves to now (checked by the SSRF guard);
    no redirect is followed, at most MAX_RESPONSE_BYTES of the answer are read, and the whole
    attempt ends by ``options.timeout``. Never raises: any error is a failed Outcome."""
    try:
        return _attempt(claimed, options, context, under_way or UnderWay())
    except Exception as error:  # noqa: BLE001 - one attempt's error never stops the others
        logger.warning("webhook attempt %s failed unexpectedly", claimed.message_id, exc_info=True)
        return Outcome(error=_short(f"not delivered: {type(error).__name__}: {error}"))


def _attempt(
    claimed: Claimed, options: DeliveryOptions, context: ssl.SSLContext, under_way: UnderWay
) -> Outcome:
    started = time.monotonic()
    deadline = started + options.timeout
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
    watchdog = _Watchdog()
    extensions: dict[str, Any] = {"trace": watchdog.trace}
    if not destination.host_is_address:
        # TLS checks the certificate against the URL's host name (ASCII form), while the
        # connection goes to the address checked above (no second lookup to rebind).
        extensions["sni_hostname"] = destination.host
    remaining = max(deadline - time.monotonic(), 0.001)
    timer = threading.Timer(remaining, watchdog.fire)
    timer.daemon = True
    under_way.add(watchdog)
    timer.start()
    too_late = f"no complete answer within {options.timeout:g} s"
    try:
        with (
            httpx.Client(
                verify=context, timeout=remaining, follow_redirects=False, trust_env=False
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
                if read >= MAX_RESPONSE_BYTES or time.monotonic() >= deadline:
                    break
            status = response.status_code
    except httpx.TimeoutException:
        return Outcome(error=too_late, sent=True)
    except Exception as error:  # noqa: BLE001 - the watchdog's shutdown surfaces as anything
        if watchdog.fired:
            return Outcome(error=too_late, sent=True)
        return Outcome(error=_short(f"{type(error).__name__}: {error}"), sent=True)
    finally:
        timer.cancel()
        under_way.discard(watchdog)
        watchdog.close()
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
    give_up_at = as_utc(delivery.retrying_since) + options.give_up_after
    if now < give_up_at:  # the last attempt is made when the day ends
        delivery.next_attempt_at = min(now + options.retry_delay(delivery.attempts), give_up_at)
        return delivery.status
    delivery.status = "failed"
    delivery.next_attempt_at = None
    subscription.consecutive_failures += 1
    if subscription.enabled and subscription.consecutive_failures >= options.disable_after:
        _disable(
            subscription,
            now,
            f"disabled after {subscription.consecutive_failures} deliveries in a row were given "
            f"up on; the last: {outcome.error}",
        )
    return delivery.status


def prune(
    session: Session, now: datetime, options: DeliveryOptions, batch: int = PRUNE_BATCH
) -> int:
    """Delete up to ``batch`` delivered or given-up deliveries of events older than the
    retention, then up to ``batch`` such events with no delivery left, except the latest
    event of each type per round (webhooks/due.py asks the outbox what a round announced).
    Returns how many rows went (the caller commits)."""
    cutoff = now - options.retention
    old_deliveries = list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status.in_(("delivered", "failed")),
                WebhookDelivery.created_at < cutoff,
            )
            .order_by(WebhookDelivery.id)
            .limit(batch)
        )
    )
    if old_deliveries:
        session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(old_deliveries)))
    later = aliased(WebhookEvent)
    superseded = (
        exists()
        .where(
            later.survey_round_id == WebhookEvent.survey_round_id,
            later.event_type == WebhookEvent.event_type,
            later.id > WebhookEvent.id,
        )
        .correlate(WebhookEvent)
    )
    still_delivering = (
        exists().where(WebhookDelivery.event_id == WebhookEvent.id).correlate(WebhookEvent)
    )
    old_events = list(
        session.scalars(
            select(WebhookEvent.id)
            .where(
                WebhookEvent.created_at < cutoff,
                ~still_delivering,
                WebhookEvent.survey_round_id.is_(None) | superseded,
            )
            .order_by(WebhookEvent.id)
            .limit(batch)
        )
    )
    if old_events:
        session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(old_events)))
    return len(old_deliveries) + len(old_events)
