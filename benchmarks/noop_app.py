"""The benchmark's server: the real app plus a no-op twin of the submit route (the floor).

``create_bench_app`` builds the product app with ``survey_api.main.create_app`` and adds one
route that exists only here, never in the product app:

    POST /bench/noop/rounds/{round_id}/responses

It takes the same path parameter, the same body model (``ResponseSubmit``, validated the same
way) and the same ``Authorization: Bearer`` header (parsed by the same ``HTTPBearer`` scheme), is
a plain ``def`` run in the thread pool like the real handler, and does nothing else: no database,
no key lookup, answers ``201 {}``. Everything the real route pays on top of it (sessions, queries,
the answer validation, the insert and commit, the receipt) is the application's own cost.

The route is inserted just before the real submit route so that both are found after the same
number of route matches.

Serve it with ``uvicorn --factory --app-dir benchmarks noop_app:create_bench_app``.
"""

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials

from survey_api.auth.dependencies import bearer
from survey_api.exceptions import Unauthenticated
from survey_api.main import create_app
from survey_api.responses.schemas import ResponseSubmit

NOOP_PATH = "/bench/noop/rounds/{round_id}/responses"
SUBMIT_PATH = "/api/v1/rounds/{round_id}/responses"


def noop_submit(
    round_id: Annotated[int, Path(description="The survey round's id.")],
    body: ResponseSubmit,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> dict[str, Any]:
    """Accept a response body and a bearer header, store nothing."""
    if credentials is None:  # the same 401 as the real route when the header is missing
        raise Unauthenticated("send an API key as 'Authorization: Bearer <key>'")
    return {}


def add_noop_route(app: FastAPI) -> FastAPI:
    """Add the no-op submit route to ``app``, just before the real submit route."""
    app.add_api_route(
        NOOP_PATH,
        noop_submit,
        methods=["POST"],
        status_code=201,
        include_in_schema=False,
        name="bench_noop_submit",
    )
    routes = app.router.routes
    noop = routes.pop()
    position = next(
        (
            i
            for i, route in enumerate(routes)
            if isinstance(route, APIRoute) and route.path == SUBMIT_PATH and "POST" in route.methods
        ),
        len(routes),
    )
    routes.insert(position, noop)
    return app


def create_bench_app() -> FastAPI:
    """The product app (settings from the environment) plus the no-op route."""
    return add_noop_route(create_app())
