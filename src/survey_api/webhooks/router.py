"""(admin) Webhook subscriptions: create (the secret shown once), list, read, change, delete,
rotate the secret, read the delivery log and re-send a delivery."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from survey_api.auth.dependencies import Admin, SessionDep
from survey_api.config import Settings
from survey_api.exceptions import problem_responses
from survey_api.ids import MAX_ID
from survey_api.paging import LINK_HEADER_RESPONSE, PageParams, with_link_header
from survey_api.webhooks import service
from survey_api.webhooks.destinations import IPNetwork, parse_networks
from survey_api.webhooks.schemas import (
    DeliveryPage,
    DeliveryRead,
    DeliveryStatus,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
    WebhookRead,
    WebhookSecret,
    WebhookUpdate,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

WebhookId = Annotated[int, Path(description="The subscription's id.", ge=1, le=MAX_ID)]
DeliveryId = Annotated[int, Path(description="The delivery's id.", ge=1, le=MAX_ID)]


def _allowed(request: Request) -> tuple[IPNetwork, ...]:
    settings: Settings = request.app.state.settings
    return parse_networks(settings.webhook_allowed_networks)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post(
    "",
    operation_id="create_webhook",
    response_model=WebhookCreated,
    status_code=201,
    responses=problem_responses(401, 403, 409, 422),
)
def create_webhook(
    body: WebhookCreate, principal: Admin, session: SessionDep, request: Request
) -> WebhookCreated:
    """Subscribe an https endpoint to the organisation's events of the given types. Each
    delivery is signed by the Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`,
    `webhook-signature`); the secret to verify it with is in this answer only. 409 when the
    organisation has the most subscriptions allowed (setting `webhook_max_subscriptions`,
    default 10) or already one to this URL."""
    settings = _settings(request)
    subscription, secret = service.create_subscription(
        session,
        principal.organisation_id,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        allowed=_allowed(request),
        secret_key=settings.secret_key.get_secret_value(),
        max_subscriptions=settings.webhook_max_subscriptions,
    )
    read = service.subscription_read(subscription)
    return WebhookCreated.model_validate({**read.model_dump(), "secret": secret})


@router.get(
    "",
    operation_id="list_webhooks",
    response_model=WebhookPage,
    responses={**LINK_HEADER_RESPONSE, **problem_responses(401, 403, 422)},
)
def list_webhooks(
    principal: Admin, session: SessionDep, page: PageParams, response: Response
) -> WebhookPage:
    """List the organisation's webhook subscriptions, oldest first; never a secret."""
    found, total = service.page_subscriptions(session, principal.organisation_id, page)
    items = [service.subscription_read(s) for s in found]
    return with_link_header(response, WebhookPage.of(items, total, page))


@router.get(
    "/{webhook_id}",
    operation_id="get_webhook",
    response_model=WebhookRead,
    responses=problem_responses(401, 403, 404, 422),
)
def get_webhook(webhook_id: WebhookId, principal: Admin, session: SessionDep) -> WebhookRead:
    """One subscription, with why it is disabled if it is."""
    return service.subscription_read(
        service.get_subscription(session, principal.organisation_id, webhook_id)
    )


@router.patch(
    "/{webhook_id}",
    operation_id="update_webhook",
    response_model=WebhookRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_webhook(
    webhook_id: WebhookId,
    body: WebhookUpdate,
    principal: Admin,
    session: SessionDep,
    request: Request,
) -> WebhookRead:
    """Change the URL, the event types, the description, or enable or disable the
    subscription. Re-enabling sends what is still pending. 409 for a URL another of the
    organisation's subscriptions has."""
    subscription = service.update_subscription(
        session,
        principal.organisation_id,
        webhook_id,
        body.model_dump(exclude_unset=True),
        allowed=_allowed(request),
    )
    return service.subscription_read(subscription)


@router.delete(
    "/{webhook_id}",
    operation_id="delete_webhook",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
def delete_webhook(webhook_id: WebhookId, principal: Admin, session: SessionDep) -> Response:
    """Delete the subscription and its delivery log; nothing more is sent to it."""
    service.delete_subscription(session, principal.organisation_id, webhook_id)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/secret",
    operation_id="rotate_webhook_secret",
    response_model=WebhookSecret,
    responses=problem_responses(401, 403, 404, 422),
)
def rotate_webhook_secret(
    webhook_id: WebhookId, principal: Admin, session: SessionDep, request: Request
) -> WebhookSecret:
    """Rotate the signing secret. The new one is in this answer only; for 24 hours every
    delivery carries a signature by each secret, so receivers can switch without a gap."""
    subscription, secret = service.rotate_secret(
        session,
        principal.organisation_id,
        webhook_id,
        secret_key=_settings(request).secret_key.get_secret_value(),
    )
    return WebhookSecret.model_validate(
        {"secret": secret, "previous_secret_expires_at": subscription.previous_secret_expires_at}
    )


@router.get(
    "/{webhook_id}/deliveries",
    operation_id="list_webhook_deliveries",
    response_model=DeliveryPage,
    responses={**LINK_HEADER_RESPONSE, **problem_responses(401, 403, 404, 422)},
)
def list_webhook_deliveries(
    webhook_id: WebhookId,
    principal: Admin,
    session: SessionDep,
    page: PageParams,
    response: Response,
    status: Annotated[
        DeliveryStatus | None, Query(description="Only deliveries of this status.")
    ] = None,
) -> DeliveryPage:
    """The subscription's delivery log, newest first: each event's status, attempts, next
    attempt and the last answer or error."""
    found = service.page_deliveries(
        session, principal.organisation_id, webhook_id, page, status=status
    )
    return with_link_header(response, found)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/resend",
    operation_id="resend_webhook_delivery",
    response_model=DeliveryRead,
    status_code=202,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def resend_webhook_delivery(
    webhook_id: WebhookId, delivery_id: DeliveryId, principal: Admin, session: SessionDep
) -> DeliveryRead:
    """Send a delivery again (delivered or failed ones too): the same `webhook-id` and body,
    attempts from zero, retried for a day. 409 while the subscription is disabled."""
    return service.resend(session, principal.organisation_id, webhook_id, delivery_id)
