from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from fastapi import Response as HTTPResponse

from survey_api.auth.dependencies import SessionDep, Uploader
from survey_api.config import Settings
from survey_api.exceptions import problem_responses
from survey_api.ids import MAX_ID
from survey_api.responses import service
from survey_api.responses.schemas import BulkReceipt, BulkUpload, ResponseReceipt, ResponseSubmit

router = APIRouter(prefix="/rounds/{round_id}/responses", tags=["responses"])
RoundId = Annotated[int, Path(description="The survey round's id.", ge=1, le=MAX_ID)]


@router.post(
    "",
    operation_id="submit_response",
    response_model=ResponseReceipt,
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 413, 422),
)
def submit_response(
    round_id: RoundId,
    body: ResponseSubmit,
    principal: Uploader,
    session: SessionDep,
    request: Request,
) -> ResponseReceipt:
    """Submit one response to an open round, for an area or through an invitation code.

    A used invitation code answers 409, an unknown one 404; a closed round 409.
    """
    settings: Settings = request.app.state.settings
    return service.submit(
        session,
        principal.organisation_id,
        round_id,
        body,
        secret=settings.secret_key.get_secret_value(),
    )


@router.post(
    "/bulk",
    operation_id="upload_responses",
    response_model=BulkReceipt,
    status_code=201,
    responses={
        200: {
            "description": "A replay: this Idempotency-Key and body were stored before; the "
            "first upload's receipt, and nothing stored again.",
            "model": BulkReceipt,
            "headers": {
                "Idempotent-Replayed": {
                    "description": "`true` on a replay.",
                    "schema": {"type": "string", "enum": ["true"]},
                }
            },
        },
        **problem_responses(401, 403, 404, 409, 413, 422),
    },
)
def upload_responses(
    round_id: RoundId,
    body: BulkUpload,
    principal: Uploader,
    session: SessionDep,
    response: HTTPResponse,
    idempotency_key: Annotated[
        str,
        Header(
            min_length=1,
            max_length=200,
            description="Your unique id for this batch (a UUID, or your batch number). Required: "
            "a bulk upload is the call most often retried after a timeout, and a retry without "
            "a key would store every paper answer twice, with nothing in the results to show "
            "it. Resending the same batch with the same key returns the first receipt (200) "
            "and stores nothing; the same key with another batch answers 422.",
        ),
    ],
) -> BulkReceipt:
    """Upload paper and phone responses in bulk: all stored, or none (errors name each index).

    Send an `Idempotency-Key` with every upload and reuse it when you retry: it makes a retry
    after a lost answer safe.
    """
    receipt, replayed = service.bulk_upload(
        session, principal.organisation_id, round_id, body, idempotency_key
    )
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return receipt
