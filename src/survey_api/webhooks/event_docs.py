"""The events as the contract documents them: OpenAPI 3.1 ``webhooks``, one per event type.

These operations are what this service sends to a subscription's URL, not routes it serves:
``create_app`` adds this router to ``app.webhooks`` only, so nothing here answers a request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.routing import APIRoute

from survey_api.webhooks.events import (
    ImportFinishedEvent,
    ResultsUpdatedEvent,
    RoundClosedEvent,
    RoundOpenedEvent,
)

webhooks_router = APIRouter(tags=["webhooks"])

WebhookId = Annotated[
    str,
    Header(
        alias="webhook-id",
        description="The message's id (Standard Webhooks): the same on every retry and "
        "re-send of this event to this subscription; drop a message whose id you have seen.",
        examples=["msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"],
    ),
]
WebhookTimestamp = Annotated[
    str,
    Header(
        alias="webhook-timestamp",
        description="Seconds since 1970 when this attempt was signed; refuse one far from now "
        "(a replay).",
        examples=["1775023203"],
    ),
]
WebhookSignature = Annotated[
    str,
    Header(
        alias="webhook-signature",
        description="Space-separated `v1,<base64 HMAC-SHA256>` signatures of "
        "`{webhook-id}.{webhook-timestamp}.{body}` with the subscription's secret (two during "
        "a secret rotation); check with any Standard Webhooks library.",
        examples=["v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="],
    ),
]

_RECEIVER_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "Received: any 2xx answers the delivery; nothing more is sent."},
    "default": {
        "description": "Any other answer, a timeout or no connection: the delivery is tried "
        "again with exponential back-off for 24 hours, with the same `webhook-id`."
    },
}
_COMMON = (
    "\n\nSent as a POST with the Standard Webhooks headers to every enabled subscription of the "
    "organisation that chose this type; deliveries of one round's events arrive in the order "
    "they were written. Aggregate-level only: no event carries a response's content, id or "
    "time, and `timestamp` is when the event was written, never an answer's."
)


@webhooks_router.post(
    "round.opened",
    operation_id="webhook_round_opened",
    summary="A survey round opened",
    responses=_RECEIVER_ANSWERS,
)
def round_opened(
    body: RoundOpenedEvent,
    webhook_id: WebhookId,
    webhook_timestamp: WebhookTimestamp,
    webhook_signature: WebhookSignature,
) -> None:
    """A round started taking answers: it was created open, or its open date came (sent
    within a dispatcher tick of midnight in Sweden). Once per round."""


@webhooks_router.post(
    "round.closed",
    operation_id="webhook_round_closed",
    summary="A survey round closed",
    responses=_RECEIVER_ANSWERS,
)
def round_closed(
    body: RoundClosedEvent,
    webhook_id: WebhookId,
    webhook_timestamp: WebhookTimestamp,
    webhook_signature: WebhookSignature,
) -> None:
    """A round stopped taking answers: a person closed it early, or its close date passed
    (sent within a dispatcher tick of midnight in Sweden). Its results are final; the
    responses dated on or after the last results.updated's `as_of` are in `response_count`
    too (a count of whole dates, as answering ends at the close). Once per round."""


@webhooks_router.post(
    "results.updated",
    operation_id="webhook_results_updated",
    summary="A round's results changed",
    responses=_RECEIVER_ANSWERS,
)
def results_updated(
    body: ResultsUpdatedEvent,
    webhook_id: WebhookId,
    webhook_timestamp: WebhookTimestamp,
    webhook_signature: WebhookSignature,
) -> None:
    """New responses joined an open round's results: read GET /rounds/{round_id}/results
    again. Counted by whole Swedish dates, since a response is dated and never timed: sent on
    the first dispatcher tick at least five minutes after midnight in Sweden, counting the
    round's responses dated before that midnight (`as_of`; `through_date` is the last date
    counted), and only when at least the organisation's minimum cell size of them were not in
    the previous results.updated, so `new_responses` never tells of fewer answers than that.
    At most once per round per date, or per the operator's
    `SURVEY_API_WEBHOOK_RESULTS_INTERVAL_DAYS` (1 by default). Neither the event's time nor
    anything in it depends on when an answer came. No event after the round closes
    (round.closed carries the final count), nor for historical rounds (see import.finished)."""


@webhooks_router.post(
    "import.finished",
    operation_id="webhook_import_finished",
    summary="An import was stored",
    responses=_RECEIVER_ANSWERS,
)
def import_finished(
    body: ImportFinishedEvent,
    webhook_id: WebhookId,
    webhook_timestamp: WebhookTimestamp,
    webhook_signature: WebhookSignature,
) -> None:
    """An import of past responses or answer counts into a historical round, or of area
    classifications, was stored: read the round's results (or the areas) again. A dry run, a
    refused file or a repeat of an import already stored sends nothing."""


for _route in webhooks_router.routes:
    if isinstance(_route, APIRoute):
        _route.description += _COMMON
