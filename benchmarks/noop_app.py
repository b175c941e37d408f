"""The benchmark's server: the real app plus a no-op twin of the submit route (the floor).

``create_bench_app`` builds the product app with ``survey_api.main.create_app`` and adds two
routes that exist only here, never in the product app:

    POST /bench/noop/rounds/{round_id}/responses          the floor
    POST /bench/noop-async/rounds/{round_id}/responses    the same, as an ``async def``
    GET  /bench/worker                                    which worker serves this connection

The no-op route takes the same path parameter, the same body model (``ResponseSubmit``, validated
the same way) and the same ``Authorization: Bearer`` header (parsed by the same ``HTTPBearer``
scheme), is a plain ``def`` run in the thread pool (as the real handler was when issue 2 set the
target: the floor of that stack), and does nothing else: no database, no key lookup, answers
``201 {}``. Everything the real route pays on top of it (sessions, queries, the answer
validation, the insert, the receipt) is the application's own cost.

Since issue 11 the real route is an ``async def`` whose common case never enters the thread pool
(responses/fast.py), so it no longer pays the hand-off the floor pays. The async no-op is the
stricter floor for it: the same no-op without that hand-off (``bench_submit.py --async-floor``
measures both).

The no-op route is first in the app's route table, so it matches at once, while a submission
walks the /api/v1 router to the responses routes (FastAPI's routing costs a few tenths of a
millisecond of CPU per request with this app and FastAPI version). The floor is thus the
framework's best case; the ratio real/floor errs low, not high. (Placed after the /api/v1 router,
the no-op pays a whole failed walk of it, more than a submission pays: too high a price.)

``GET /bench/worker`` answers the worker's process id: uvicorn's workers share one listening
socket, and a burst of keep-alive connections tends to land on one worker, so the load generator
uses it to open the same number of connections to each worker (what a load balancer in front of
many short-lived clients achieves).

Serve it with ``uvicorn --factory --app-dir benchmarks noop_app:create_bench_app``.
"""

import os
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path
from fastapi.security import HTTPAuthorizationCredentials

from survey_api.auth.dependencies import bearer
from survey_api.exceptions import Unauthenticated
from survey_api.main import create_app
from survey_api.responses.schemas import ResponseSubmit

NOOP_PATH = "/bench/noop/rounds/{round_id}/responses"
NOOP_ASYNC_PATH = "/bench/noop-async/rounds/{round_id}/responses"
WORKER_PATH = "/bench/worker"


def noop_submit(
    round_id: Annotated[int, Path(description="The survey round's id.")],
    body: ResponseSubmit,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> dict[str, Any]:
    """Accept a response body and a bearer header, store nothing."""
    if credentials is None:  # the same 401 as the real route when the header is missing
        raise Unauthenticated("send an API key as 'Authorization: Bearer <key>'")
    return {}


async def noop_submit_async(
    round_id: Annotated[int, Path(description="The survey round's id.")],
    body: ResponseSubmit,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> dict[str, Any]:
    """The no-op on the event loop: no thread-pool hand-off."""
    if credentials is None:
        raise Unauthenticated("send an API key as 'Authorization: Bearer <key>'")
    return {}


async def which_worker() -> dict[str, int]:
    """The serving worker's process id: the load generator spreads its connections evenly."""
    return {"pid": os.getpid()}


def add_noop_route(app: FastAPI) -> FastAPI:
    """Add the bench routes to ``app``; the no-ops first of all routes."""
    for path, endpoint in ((NOOP_ASYNC_PATH, noop_submit_async), (NOOP_PATH, noop_submit)):
        app.add_api_route(
            path,
            endpoint,
            methods=["POST"],
            status_code=201,
            include_in_schema=False,
            name=endpoint.__name__,
        )
        routes = app.router.routes
        routes.insert(0, routes.pop())
    # FastAPI caches route lookups per router version: say that the list changed.
    mark_changed = getattr(app.router, "_mark_routes_changed", None)
    if mark_changed is not None:
        mark_changed()
    app.add_api_route(WORKER_PATH, which_worker, methods=["GET"], include_in_schema=False)
    return app


def create_bench_app() -> FastAPI:
    """The product app (settings from the environment) plus the no-op route."""
    return add_noop_route(create_app())
