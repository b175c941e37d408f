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
            "description": "A replay: this Idempotency-Key and body were stored before.",
            "model": BulkReceipt,
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
            description="Your unique id for this batch; resending the same batch with the same key "
            "returns the first result and stores nothing twice.",
        ),
    ],
) -> BulkReceipt:
    """Upload paper and phone responses in bulk: all stored, or none (errors name each index)."""
    receipt, replayed = service.bulk_upload(
        session, principal.organisation_id, round_id, body, idempotency_key
    )
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return receipt
