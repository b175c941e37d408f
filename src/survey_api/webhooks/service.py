"""Webhook subscriptions and their delivery logs: the rules the API (and any console page)
share. Every function works inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey_api.exceptions import Conflict, NotFound, ValidationFailed
from survey_api.models import WebhookDelivery, WebhookEvent, WebhookSubscription, utcnow
from survey_api.paging import PageRequest, fetch
from survey_api.timestamps import as_utc
from survey_api.webhooks import destinations, signing
from survey_api.webhooks.schemas import DeliveryPage, DeliveryRead, WebhookRead

# After a rotation the previous secret keeps signing beside the new one this long.
ROTATION_OVERLAP = timedelta(hours=24)
DISABLED_BY_ADMIN = "disabled by an admin"
# The default of the webhook_max_subscriptions setting.
MAX_SUBSCRIPTIONS = 10


def checked_url(url: str, allowed: Sequence[destinations.IPNetwork]) -> str:
    """The URL as stored (its host in ASCII form) if it may receive webhooks now (the SSRF
    guard), else 422 saying why."""
    try:
        stored = destinations.normalised_url(url)
        destinations.check_destination(stored, allowed)
    except destinations.DestinationRefused as refused:
        raise ValidationFailed(
            f"url: {refused}",
            errors=[{"loc": ["body", "url"], "msg": str(refused), "type": "destination_refused"}],
        ) from None
    return stored


def _refuse_a_second_to(
    session: Session, organisation_id: int, url: str, other_than: int | None = None
) -> None:
    query = select(WebhookSubscription.id).where(
        WebhookSubscription.organisation_id == organisation_id, WebhookSubscription.url == url
    )
    if other_than is not None:
        query = query.where(WebhookSubscription.id != other_than)
    existing = session.scalars(query.limit(1)).first()
    if existing is not None:
        message = (
            f"the organisation already has a webhook subscription to this URL (id "
            f"{existing}); change its event types instead of adding another"
        )
        raise Conflict(
            message, errors=[{"loc": ["body", "url"], "msg": message, "type": "duplicate_url"}]
        )


def _refuse_past_the_cap(session: Session, organisation_id: int, cap: int) -> None:
    count = session.scalar(
        select(func.count())
        .select_from(WebhookSubscription)
        .where(WebhookSubscription.organisation_id == organisation_id)
    )
    if (count or 0) >= cap:
        message = (
            f"the organisation has {count} webhook subscriptions, the most allowed "
            f"({cap}, setting webhook_max_subscriptions); delete one before adding another"
        )
        raise Conflict(
            message, errors=[{"loc": ["body"], "msg": message, "type": "too_many_subscriptions"}]
        )


def create_subscription(
    session: Session,
    organisation_id: int,
    *,
    url: str,
    event_types: Sequence[str],
    description: str,
    allowed: Sequence[destinations.IPNetwork],
    secret_key: str,
    max_subscriptions: int = MAX_SUBSCRIPTIONS,
) -> tuple[WebhookSubscription, str]:
    """A new, enabled subscription and its secret (the caller shows it once; it is stored
    encrypted under ``secret_key``). 409 past ``max_subscriptions`` of the organisation, or
    for a second subscription to the same URL."""
    stored_url = checked_url(url, allowed)
    _refuse_past_the_cap(session, organisation_id, max_subscriptions)
    _refuse_a_second_to(session, organisation_id, stored_url)
    secret = signing.new_secret()
    subscription = WebhookSubscription(
        organisation_id=organisation_id,
        url=stored_url,
        event_types=list(event_types),
        description=description,
        secret=signing.seal(secret, secret_key),
        enabled=True,
        consecutive_failures=0,
        created_at=utcnow(),
    )
    session.add(subscription)
    session.flush()
    return subscription, secret


def subscription_read(
    subscription: WebhookSubscription, now: datetime | None = None
) -> WebhookRead:
    """The subscription as the API shows it (the previous secret's end only while it lasts)."""
    read = WebhookRead.model_validate(subscription)
    expires = subscription.previous_secret_expires_at
    if expires is not None and as_utc(expires) <= (now or utcnow()):
        read.previous_secret_expires_at = None
    return read


def page_subscriptions(
    session: Session, organisation_id: int, page: PageRequest
) -> tuple[list[WebhookSubscription], int]:
    """A page of the organisation's subscriptions, oldest first."""
    query = select(WebhookSubscription).where(
        WebhookSubscription.organisation_id == organisation_id
    )
    return fetch(
        session,
        query,
        page,
        order_by=[WebhookSubscription.created_at],
        id_column=WebhookSubscription.id,
    )


def get_subscription(
    session: Session, organisation_id: int, subscription_id: int
) -> WebhookSubscription:
    """One of the organisation's subscriptions; another organisation's answers like a missing
    one."""
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None or subscription.organisation_id != organisation_id:
        raise NotFound(f"no webhook subscription with id {subscription_id}")
    return subscription


def update_subscription(
    session: Session,
    organisation_id: int,
    subscription_id: int,
    changes: dict[str, Any],
    *,
    allowed: Sequence[destinations.IPNetwork],
) -> WebhookSubscription:
    """Change the fields given. Re-enabling starts the count of failures again (pending
    deliveries go out again); disabling keeps them pending until it is enabled again."""
    subscription = get_subscription(session, organisation_id, subscription_id)
    for name in ("url", "event_types", "description", "enabled"):
        if changes.get(name) is None and name in changes:
            raise ValidationFailed(
                f"{name}: may not be null (omit it to keep it)",
                errors=[{"loc": ["body", name], "msg": "may not be null", "type": "not_null"}],
            )
    if "url" in changes:
        stored_url = checked_url(changes["url"], allowed)
        _refuse_a_second_to(session, organisation_id, stored_url, other_than=subscription.id)
        subscription.url = stored_url
    if "event_types" in changes:
        subscription.event_types = list(changes["event_types"])
    if "description" in changes:
        subscription.description = changes["description"]
    if "enabled" in changes and changes["enabled"] != subscription.enabled:
        subscription.enabled = changes["enabled"]
        if subscription.enabled:
            subscription.disabled_reason = None
            subscription.disabled_at = None
            subscription.consecutive_failures = 0
        else:
            subscription.disabled_reason = DISABLED_BY_ADMIN
            subscription.disabled_at = utcnow()
    session.flush()
    return subscription


def delete_subscription(session: Session, organisation_id: int, subscription_id: int) -> None:
    """Delete the subscription with its delivery log; nothing more is sent to it."""
    session.delete(get_subscription(session, organisation_id, subscription_id))
    session.flush()


def rotate_secret(
    session: Session, organisation_id: int, subscription_id: int, *, secret_key: str
) -> tuple[WebhookSubscription, str]:
    """A new secret; the current one keeps signing beside it for ROTATION_OVERLAP (a secret
    still in an earlier overlap stops signing now: two at most). A current secret that
    ``secret_key`` cannot decrypt (the key was changed) is dropped, not kept signing."""
    subscription = get_subscription(session, organisation_id, subscription_id)
    secret = signing.new_secret()
    try:
        signing.unseal(subscription.secret, secret_key)
    except signing.SecretUnreadable:
        subscription.previous_secret = None
        subscription.previous_secret_expires_at = None
    else:
        subscription.previous_secret = subscription.secret
        subscription.previous_secret_expires_at = utcnow() + ROTATION_OVERLAP
    subscription.secret = signing.seal(secret, secret_key)
    session.flush()
    return subscription, secret


def _delivery_read(delivery: WebhookDelivery, event_type: str) -> DeliveryRead:
    return DeliveryRead.model_validate(
        {
            "id": delivery.id,
            "event_id": delivery.event_id,
            "event_type": event_type,
            "survey_round_id": delivery.survey_round_id,
            "webhook_id": delivery.message_id,
            "status": delivery.status,
            "attempts": delivery.attempts,
            "next_attempt_at": delivery.next_attempt_at if delivery.status == "pending" else None,
            "last_attempt_at": delivery.last_attempt_at,
            "last_status_code": delivery.last_status_code,
            "last_error": delivery.last_error,
            "delivered_at": delivery.delivered_at,
            "created_at": delivery.created_at,
        }
    )


def page_deliveries(
    session: Session,
    organisation_id: int,
    subscription_id: int,
    page: PageRequest,
    *,
    status: str | None = None,
) -> DeliveryPage:
    """A page of the subscription's delivery log, newest first, of one status if given."""
    get_subscription(session, organisation_id, subscription_id)
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    found, total = fetch(
        session, query, page, order_by=[WebhookDelivery.id.desc()], id_column=WebhookDelivery.id
    )
    types: dict[int, str] = {
        event_id: event_type
        for event_id, event_type in session.execute(
            select(WebhookEvent.id, WebhookEvent.event_type).where(
                WebhookEvent.id.in_({d.event_id for d in found})
            )
        )
    }
    return DeliveryPage.of([_delivery_read(d, types[d.event_id]) for d in found], total, page)


def resend(
    session: Session, organisation_id: int, subscription_id: int, delivery_id: int
) -> DeliveryRead:
    """Send a delivery again, whatever its status: the same ``webhook-id`` and body, attempts
    from zero, retried for a day from now. The subscription must be enabled."""
    subscription = get_subscription(session, organisation_id, subscription_id)
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.subscription_id != subscription.id:
        raise NotFound(f"no delivery with id {delivery_id} for this webhook subscription")
    if not subscription.enabled:
        raise Conflict(
            "the webhook subscription is disabled; enable it first (PATCH with enabled: true)"
        )
    now = utcnow()
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.retrying_since = now
    delivery.delivered_at = None
    session.flush()
    event = session.get_one(WebhookEvent, delivery.event_id)
    return _delivery_read(delivery, event.event_type)
