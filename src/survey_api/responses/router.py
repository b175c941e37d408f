from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi import Response as HTTPResponse
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ValidationError

from survey_api.auth.dependencies import (
    UPLOADER_ROLES,
    Credentials,
    SessionDep,
    Uploader,
    authorize,
)
from survey_api.config import Settings
from survey_api.db import PoolTimeout, db_unavailable, transaction
from survey_api.exceptions import Unauthenticated, problem_responses
from survey_api.ids import MAX_ID
from survey_api.responses import fast, service
from survey_api.responses.schemas import BulkReceipt, BulkUpload, ResponseReceipt, ResponseSubmit

router = APIRouter(prefix="/rounds/{round_id}/responses", tags=["responses"])
RoundId = Annotated[int, Path(description="The survey round's id.", ge=1, le=MAX_ID)]


async def _json_body(request: Request) -> Any:
    """The body as FastAPI will validate it, when it is plain JSON; else None (undecided)."""
    media_type = request.headers.get("content-type", "application/json").split(";")[0]
    if media_type.strip().lower() != "application/json" or not await request.body():
        return None
    try:
        return await request.json()  # parsed once: FastAPI reads the same cached value
    except ValueError:
        return None


def _authorize(request: Request, credentials: HTTPAuthorizationCredentials | None) -> None:
    with transaction(request.app.state.sessionmaker) as session:
        authorize(session, credentials, UPLOADER_ROLES)


@dataclass(frozen=True)
class _Submission:
    """Who submits to which round, and the receipt if the fast path stored the response."""

    round_id: int
    credentials: HTTPAuthorizationCredentials
    stored: ResponseReceipt | None = None


async def _fast_submission(
    round_id: RoundId, request: Request, credentials: Credentials
) -> _Submission:
    """The submission, stored by the fast path (responses/fast.py) when it can.

    A dependency, because FastAPI validates the body only after the dependencies have run:
    the key and its role are checked first (401, 403), then the body (422), as on every other
    route. So this reads the body itself, with the model FastAPI will use on the same value;
    when that fails, it checks the key and role (in the thread pool, on the usual session) and
    leaves the 422 to FastAPI.
    """
    if credentials is None:
        raise Unauthenticated("send an API key as 'Authorization: Bearer <key>'")
    body = await _json_body(request)
    try:
        data = None if body is None else ResponseSubmit.model_validate(body)
    except ValidationError:
        data = None
    if data is None:
        await run_in_threadpool(_authorize, request, credentials)
        return _Submission(round_id, credentials)
    pool = getattr(request.app.state, "async_pool", None)
    if pool is None:
        return _Submission(round_id, credentials)
    try:
        stored = await fast.try_submit(pool, credentials.credentials, round_id, data)
    except (psycopg.OperationalError, PoolTimeout) as error:
        # As the synchronous path's OperationalError and pool timeout (main.py): 503.
        raise db_unavailable(error, request.method, request.url.path) from error
    return _Submission(round_id, credentials, stored)


def _submit(request: Request, submission: _Submission, body: ResponseSubmit) -> ResponseReceipt:
    """The synchronous path: one session and transaction, committed before the answer."""
    settings: Settings = request.app.state.settings
    with transaction(request.app.state.sessionmaker) as session:
        principal = authorize(session, submission.credentials, UPLOADER_ROLES)
        return service.submit(
            session,
            principal.organisation_id,
            submission.round_id,
            body,
            secret=settings.secret_key.get_secret_value(),
        )


@router.post(
    "",
    operation_id="submit_response",
    response_model=ResponseReceipt,
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 413, 422),
)
async def submit_response(
    body: ResponseSubmit,
    request: Request,
    submission: Annotated[_Submission, Depends(_fast_submission)],
) -> ResponseReceipt:
    """Submit one response to an open round, for an area or through an invitation code.

    A used invitation code answers 409, an unknown one 404; a closed round 409.
    """
    # An async route: the common case was stored by the dependency without leaving the event
    # loop; everything else takes one trip to the thread pool for the whole transaction. (The
    # round's id, a path parameter, is taken and validated by the dependency.)
    if submission.stored is not None:
        return submission.stored
    return await run_in_threadpool(_submit, request, submission, body)


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


# Submissions are the one route taken thousands of times a minute during fieldwork. FastAPI
# finds a route by trying each in turn, and the whole /api/v1 router lies before this one: about
# a tenth of a submission's CPU. main.py includes this twin of the route (the same function,
# hidden from the contract, which documents the one above) ahead of every other router.
hot_router = APIRouter(prefix=f"/api/v1{router.prefix}", include_in_schema=False)
hot_router.add_api_route(
    "",
    submit_response,
    methods=["POST"],
    response_model=ResponseReceipt,
    status_code=201,
    name="submit_response_first",
)
