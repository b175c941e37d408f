"""(admin) The console's webhook subscriptions, on the service the API's /webhooks routes use.

GET  /console/webhooks                              the subscriptions and a create form
POST /console/webhooks                              a new subscription; its secret shown once
GET  /console/webhooks/{id}                         one subscription: change it, its delivery
                                                    log (newest first, by status, 20 a page)
POST /console/webhooks/{id}                         save the URL, event types, description, on/off
POST /console/webhooks/{id}/secret                  rotate the secret; the new one shown once
GET  /console/webhooks/{id}/delete                  "delete this subscription?"
POST /console/webhooks/{id}/delete                  delete it with its delivery log
POST /console/webhooks/{id}/deliveries/{d}/resend   send a delivery again

No rule lives here: the form is validated by the API's WebhookCreate and WebhookUpdate and
stored by webhooks/service.py, so the console refuses exactly what POST and PATCH /webhooks
refuse (http, a host that is not public, no event type) with the same message.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from survey_api.console.auth import AdminStaff, Fields, SessionDep, StaffPost
from survey_api.console.forms import (
    FormErrors,
    app_settings,
    form_state,
    model_errors,
    page_number,
    paging,
    path_id,
)
from survey_api.console.rendering import ConsoleRoute, PageLanguage, page_language, redirect, render
from survey_api.console.settings import FormLists
from survey_api.exceptions import Conflict, ValidationFailed
from survey_api.models import WebhookSubscription
from survey_api.paging import MAX_LIMIT, PageRequest
from survey_api.rounds import service as rounds_service
from survey_api.staff.service import StaffPrincipal
from survey_api.webhooks import service
from survey_api.webhooks.destinations import IPNetwork, parse_networks
from survey_api.webhooks.outbox import EVENT_TYPES
from survey_api.webhooks.schemas import DeliveryRead, WebhookCreate, WebhookUpdate

router = APIRouter(prefix="/webhooks", route_class=ConsoleRoute)

PAGE_SIZE = 20
FIELDS = ("url", "event_types", "description")
STATUSES = ("pending", "delivered", "failed")
NOTICES = ("created", "saved", "deleted", "resent")
WHAT = "webhook subscription"


def _allowed(request: Request) -> tuple[IPNetwork, ...]:
    return parse_networks(app_settings(request).webhook_allowed_networks)


def _local(moment: datetime | None) -> str:
    """A moment as Swedish wall-clock time, to the minute ('' for none)."""
    if moment is None:
        return ""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(rounds_service.SWEDEN).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription as the pages show it: never its secret."""

    id: int
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_by_admin: bool
    disabled_reason: str | None
    disabled_at: str
    consecutive_failures: int
    previous_secret_until: str
    created: str


def _view(subscription: WebhookSubscription) -> SubscriptionView:
    read = service.subscription_read(subscription)
    return SubscriptionView(
        id=read.id,
        url=read.url,
        description=read.description,
        event_types=list(read.event_types),
        enabled=read.enabled,
        disabled_by_admin=read.disabled_reason == service.DISABLED_BY_ADMIN,
        disabled_reason=read.disabled_reason,
        disabled_at=_local(read.disabled_at),
        consecutive_failures=read.consecutive_failures,
        previous_secret_until=_local(read.previous_secret_expires_at),
        created=_local(read.created_at),
    )


@dataclass(frozen=True)
class DeliveryView:
    """A row of the delivery log."""

    id: int
    event_type: str
    survey_round_id: int | None
    webhook_id: str
    status: str
    attempts: int
    next_attempt: str
    last_attempt: str
    last_status_code: int | None
    last_error: str | None
    delivered: str
    created: str


def _delivery_view(delivery: DeliveryRead) -> DeliveryView:
    return DeliveryView(
        id=delivery.id,
        event_type=delivery.event_type,
        survey_round_id=delivery.survey_round_id,
        webhook_id=delivery.webhook_id,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt=_local(delivery.next_attempt_at),
        last_attempt=_local(delivery.last_attempt_at),
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        delivered=_local(delivery.delivered_at),
        created=_local(delivery.created_at),
    )


def _all_subscriptions(session: Session, organisation_id: int) -> list[WebhookSubscription]:
    found: list[WebhookSubscription] = []
    while True:
        page = PageRequest(limit=MAX_LIMIT, offset=len(found), path="/console/webhooks")
        items, total = service.page_subscriptions(session, organisation_id, page)
        found += items
        if not items or len(found) >= total:
            return found


def _errors(problems: Iterable[Mapping[str, Any]], fallback: str) -> FormErrors:
    """The schema's or the service's errors beside the form's fields (by their loc)."""

    def field_of(loc: list[Any], _message: str) -> str:
        named = [str(part) for part in loc if str(part) in (*FIELDS, "enabled")]
        return named[-1] if named else ""

    return model_errors(problems, field_of, fallback)


def _values(fields: dict[str, str], lists: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "url": fields.get("url", "").strip(),
        "event_types": [t for t in lists.get("event_types", []) if t],
        "description": fields.get("description", "").strip(),
    }


# --- the list and the create form ----------------------------------------------------------


def _list_page(
    request: Request,
    session: Session,
    principal: StaffPrincipal,
    *,
    lang: PageLanguage,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    notice = request.query_params.get("done") if request.method == "GET" else None
    return render(
        request,
        "webhooks/list.html",
        lang=lang,
        csrf_token=principal.csrf_token,
        subscriptions=[_view(s) for s in _all_subscriptions(session, principal.organisation_id)],
        event_types=EVENT_TYPES,
        values=values or {"url": "", "event_types": [], "description": ""},
        notice=notice if notice in NOTICES else None,
        **form_state(errors, FIELDS),
    )


@router.get("")
def webhooks_page(request: Request, session: SessionDep, principal: AdminStaff) -> Response:
    """(admin) The organisation's webhook subscriptions and a form to add one."""
    return _list_page(request, session, principal, lang=page_language(request))


@router.post("")
def create_webhook(
    request: Request,
    session: SessionDep,
    admin: AdminStaff,
    principal: StaffPost,
    fields: Fields,
    lists: FormLists,
) -> Response:
    """(admin) Subscribe (WebhookCreate and service.create_subscription, as POST /webhooks);
    the secret is on this answer only (Cache-Control: no-store)."""
    lang = page_language(request, fields.get("_lang"))
    values = _values(fields, lists)
    try:
        body = WebhookCreate.model_validate(values)
        subscription, secret = service.create_subscription(
            session,
            principal.organisation_id,
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            allowed=_allowed(request),
            secret_key=app_settings(request).secret_key.get_secret_value(),
            max_subscriptions=app_settings(request).webhook_max_subscriptions,
        )
    except ValidationError as invalid:
        errors = _errors(invalid.errors(include_url=False), "invalid input")
    except (ValidationFailed, Conflict) as refused:
        session.rollback()
        errors = _errors(refused.errors or [], refused.detail)
    else:
        return render(
            request,
            "webhooks/secret.html",
            lang=lang,
            subscription=_view(subscription),
            secret=secret,
            rotated=False,
        )
    return _list_page(request, session, principal, lang=lang, values=values, errors=errors)


# --- one subscription ----------------------------------------------------------------------


def _subscription(session: Session, principal: StaffPrincipal, raw_id: str) -> WebhookSubscription:
    """The organisation's subscription; the same NotFound for a missing id, another
    organisation's id and anything that is not an id."""
    return service.get_subscription(session, principal.organisation_id, path_id(raw_id, WHAT))


def _subscription_page(
    request: Request,
    session: Session,
    principal: StaffPrincipal,
    subscription: WebhookSubscription,
    *,
    lang: PageLanguage,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    resend_error: str | None = None,
) -> Response:
    view = _view(subscription)
    wanted = request.query_params.get("status", "")
    chosen = wanted if wanted in STATUSES else ""
    number = page_number(request)
    log = service.page_deliveries(
        session,
        principal.organisation_id,
        subscription.id,
        PageRequest(
            limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE, path=f"/console/webhooks/{view.id}"
        ),
        status=chosen or None,
    )
    notice = request.query_params.get("done") if request.method == "GET" else None
    kept = {"status": chosen} if chosen else {}
    state = form_state(errors, FIELDS)
    if resend_error is not None:
        state["status"] = 409
    return render(
        request,
        "webhooks/subscription.html",
        lang=lang,
        csrf_token=principal.csrf_token,
        subscription=view,
        event_types=EVENT_TYPES,
        statuses=STATUSES,
        chosen_status=chosen,
        deliveries=[_delivery_view(d) for d in log.items],
        values=values
        or {"url": view.url, "event_types": view.event_types, "description": view.description},
        enabled=view.enabled if values is None else values.get("enabled", view.enabled),
        notice=notice if notice in NOTICES else None,
        resend_error=resend_error,
        **paging(lang, f"/console/webhooks/{view.id}", number, log.total, PAGE_SIZE, **kept),
        **state,
    )


@router.get("/{webhook_id}")
def subscription_page(
    request: Request, session: SessionDep, principal: AdminStaff, webhook_id: str
) -> Response:
    """(admin) One subscription: its state, a form to change it, and its delivery log."""
    subscription = _subscription(session, principal, webhook_id)
    return _subscription_page(
        request, session, principal, subscription, lang=page_language(request)
    )


@router.post("/{webhook_id}")
def update_webhook(
    request: Request,
    session: SessionDep,
    admin: AdminStaff,
    principal: StaffPost,
    webhook_id: str,
    fields: Fields,
    lists: FormLists,
) -> Response:
    """(admin) Save the form (WebhookUpdate and service.update_subscription, as PATCH): the URL,
    the event types, the description, and whether it is enabled (re-enabling starts the count
    of failures again)."""
    lang = page_language(request, fields.get("_lang"))
    subscription = _subscription(session, principal, webhook_id)
    values = {**_values(fields, lists), "enabled": fields.get("enabled") == "1"}
    try:
        body = WebhookUpdate.model_validate(values)
        service.update_subscription(
            session,
            principal.organisation_id,
            subscription.id,
            body.model_dump(exclude_unset=True),
            allowed=_allowed(request),
        )
    except ValidationError as invalid:
        errors = _errors(invalid.errors(include_url=False), "invalid input")
    except (ValidationFailed, Conflict) as refused:
        session.rollback()
        errors = _errors(refused.errors or [], refused.detail)
    else:
        return redirect(lang.url(f"/console/webhooks/{subscription.id}", done="saved"))
    subscription = _subscription(session, principal, webhook_id)
    return _subscription_page(
        request, session, principal, subscription, lang=lang, values=values, errors=errors
    )


@router.post("/{webhook_id}/secret")
def rotate_secret(
    request: Request,
    session: SessionDep,
    admin: AdminStaff,
    principal: StaffPost,
    webhook_id: str,
    fields: Fields,
) -> Response:
    """(admin) A new secret, shown on this answer only; the old one keeps signing beside it
    for 24 hours (service.ROTATION_OVERLAP)."""
    subscription = _subscription(session, principal, webhook_id)
    subscription, secret = service.rotate_secret(
        session,
        principal.organisation_id,
        subscription.id,
        secret_key=app_settings(request).secret_key.get_secret_value(),
    )
    return render(
        request,
        "webhooks/secret.html",
        lang=page_language(request, fields.get("_lang")),
        subscription=_view(subscription),
        secret=secret,
        rotated=True,
        overlap_hours=int(service.ROTATION_OVERLAP.total_seconds() // 3600),
    )


@router.get("/{webhook_id}/delete")
def delete_page(
    request: Request, session: SessionDep, principal: AdminStaff, webhook_id: str
) -> Response:
    """(admin) Ask before deleting a subscription."""
    subscription = _subscription(session, principal, webhook_id)
    return render(
        request,
        "webhooks/delete.html",
        lang=page_language(request),
        subscription=_view(subscription),
        csrf_token=principal.csrf_token,
    )


@router.post("/{webhook_id}/delete")
def delete_webhook(
    request: Request,
    session: SessionDep,
    admin: AdminStaff,
    principal: StaffPost,
    webhook_id: str,
    fields: Fields,
) -> Response:
    """(admin) Delete the subscription and its delivery log; nothing more is sent to it."""
    subscription = _subscription(session, principal, webhook_id)
    service.delete_subscription(session, principal.organisation_id, subscription.id)
    lang = page_language(request, fields.get("_lang"))
    return redirect(lang.url("/console/webhooks", done="deleted"))


@router.post("/{webhook_id}/deliveries/{delivery_id}/resend")
def resend_delivery(
    request: Request,
    session: SessionDep,
    admin: AdminStaff,
    principal: StaffPost,
    webhook_id: str,
    delivery_id: str,
    fields: Fields,
) -> Response:
    """(admin) Send a delivery again (service.resend): the same webhook-id and body, attempts
    from zero. A disabled subscription is refused: its page says to enable it first."""
    lang = page_language(request, fields.get("_lang"))
    subscription = _subscription(session, principal, webhook_id)
    try:
        service.resend(
            session,
            principal.organisation_id,
            subscription.id,
            path_id(delivery_id, "delivery"),
        )
    except Conflict as refused:
        return _subscription_page(
            request, session, principal, subscription, lang=lang, resend_error=refused.detail
        )
    return redirect(lang.url(f"/console/webhooks/{subscription.id}", done="resent"))
