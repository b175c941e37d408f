"""create_app() and its lifespan: the engine and sessionmaker are made here, never at import."""

import json
import logging
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI, Request, routing
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from survey_api import __version__
from survey_api.config import DEV_SECRET, Settings, get_settings
from survey_api.db import db_unavailable, make_async_pool, make_engine, make_sessionmaker
from survey_api.exceptions import (
    ERROR_DESCRIPTIONS,
    PROBLEM_JSON,
    PayloadTooLarge,
    Problem,
    ServiceUnavailable,
    SurveyError,
    ValidationFailed,
    problem_content,
)
from survey_api.web.throttle import FormThrottle

logger = logging.getLogger("survey_api")

API_DESCRIPTION = """
Tenant safety and well-being surveys for Swedish public housing companies.

Authenticate every call with an organisation API key: `Authorization: Bearer sak_…`.
Every resource is scoped to the key's organisation; another organisation's id answers 404,
exactly like a missing one. Roles: `admin` (everything, including free text and settings),
`analyst` (definitions and results), `integrator` (reading, results and bulk upload of paper
and phone answers). Errors are `application/problem+json` (RFC 9457); validation errors list
every invalid field in `errors`.
"""


def problem_response(
    error: SurveyError, request: Request, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """Render a domain error as application/problem+json."""
    if isinstance(error, ServiceUnavailable):
        headers = {**(headers or {}), "Retry-After": str(error.retry_after)}
    return JSONResponse(
        error.problem(instance=request.url.path),
        status_code=error.status_code,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            detail = f"the body is not valid JSON: {ctx.get('error', 'parse error')}"
            problem = SurveyError(detail)
            return problem_response(problem, request)
        errors.append(
            {
                "loc": [str(p) if not isinstance(p, int) else p for p in err["loc"]],
                "msg": err["msg"],
                "type": err["type"],
            }
        )
    fields = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
    return problem_response(ValidationFailed(f"invalid request: {fields}", errors=errors), request)


def _http_detail(exc: StarletteHTTPException) -> str:
    """The detail of an HTTP error; FastAPI's bare 400 for an unparsable body says why."""
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, RecursionError):
        return "the body is not valid JSON: it is nested too deeply"
    if exc.status_code == 400 and isinstance(cause, UnicodeDecodeError):
        return f"the body is not valid JSON: it is not UTF-8 ({cause.reason} at byte {cause.start})"
    if exc.status_code == 400 and isinstance(cause, ValueError) and "digits" in str(cause):
        return "the body is not valid JSON: a number has more than 4300 digits"
    return str(exc.detail)


# The endpoints that take files of past surveys: they stream the body to a temporary file and
# get their own, larger limit (settings.max_import_bytes).
IMPORT_PATHS = re.compile(
    r"^/(?:api/v1|console)/(?:rounds/[^/]+/(?:imports|tallies/import)|areas/classifications/"
    r"import)(?:/|$)"
)


class BodySizeLimit:
    """Answer 413 before reading more than max_bytes of a request body (import_bytes on the
    import endpoints)."""

    def __init__(self, app: ASGIApp, max_bytes: int, import_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.import_bytes = max_bytes if import_bytes is None else import_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.import_bytes if IMPORT_PATHS.match(scope["path"]) else self.max_bytes
        too_large = PayloadTooLarge(f"the request body exceeds the limit of {limit} bytes")
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._reject(scope, receive, send, too_large, limit)
                return
        received = 0
        exceeded = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            # A body without Content-Length (chunked) is only found too large while the app
            # reads it, and FastAPI turns any error while reading into its own 400. Once the
            # limit is hit, drop whatever the app answers and send the 413 instead.
            if exceeded:
                return
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        with suppress(_BodyTooLarge):
            await self.app(scope, limited_receive, guarded_send)
        if exceeded and not response_started:
            await self._reject(scope, receive, send, too_large, limit)

    async def _reject(
        self, scope: Scope, receive: Receive, send: Send, error: SurveyError, limit: int
    ) -> None:
        request = Request(scope, receive)
        if request.url.path.startswith("/console/"):
            # People upload files there: a page in their language, not problem+json.
            from survey_api.console.rendering import too_large_page

            await too_large_page(request, limit)(scope, receive, send)
            return
        await problem_response(error, request)(scope, receive, send)


def _allowed_methods(app: FastAPI, request: Request) -> str:
    """Every method some route serves at this path (RFC 9110's Allow for a 405): Starlette
    names only the first route's, and a path often has one route per method. A path that is a
    route of its own (/areas/import) is that resource, not an id of /areas/{area_id}."""
    static = _static_route_methods(app, request)
    if static:
        return static
    methods: set[str] = set()
    for route in routing.iter_route_contexts(app.routes):
        if route.path is None:
            continue
        path_regex, _format, _converters = compile_path(route.path)
        if path_regex.match(request.url.path):
            methods |= set(route.methods or ())
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def _static_route_methods(app: FastAPI, request: Request) -> str:
    """The methods of the routes without path parameters at exactly this path, if any."""
    methods: set[str] = set()
    for route in routing.iter_route_contexts(app.routes):
        if route.path is None or "{" in route.path:
            continue
        if compile_path(route.path)[0].match(request.url.path):
            methods |= set(route.methods or ())
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


class _BodyTooLarge(Exception):
    pass


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; the database engine is created in the lifespan."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.secret_key.get_secret_value() == DEV_SECRET:
            logger.warning("SURVEY_API_SECRET_KEY is not set: using the development secret")
        engine = make_engine(
            settings.database_url,
            echo=settings.sql_echo,
            pool_size=settings.db_pool_size,
            wait_seconds=settings.db_wait_seconds,
        )
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        from survey_api.results.payload import results_cache

        results_cache().limit = settings.results_cache_bytes
        folder = None
        if settings.fold_interval_seconds > 0:
            from survey_api.results.folder import Folder

            folder = Folder(app.state.sessionmaker, settings.fold_interval_seconds)
            folder.start()
        dispatcher = None
        if settings.webhook_dispatcher:
            from survey_api.webhooks.delivery import DeliveryOptions
            from survey_api.webhooks.dispatcher import Dispatcher

            dispatcher = Dispatcher(
                app.state.sessionmaker,
                DeliveryOptions.from_settings(settings),
                settings.webhook_poll_seconds,
            )
            dispatcher.start()
        # The submission fast path's (responses/fast.py); None on SQLite.
        async_pool = make_async_pool(
            settings.database_url,
            pool_size=settings.db_pool_size,
            wait_seconds=settings.db_wait_seconds,
        )
        app.state.async_pool = async_pool
        yield
        if async_pool is not None:
            await async_pool.close()
        if dispatcher is not None:
            dispatcher.stop(timeout=15)  # cuts attempts in flight short (retried later)
        if folder is not None:
            folder.stop()
        engine.dispose()

    # Swagger UI's script and stylesheet are served from the installed fastapi-offline
    # package, not a CDN: /docs works offline and behind strict proxies.
    app = FastAPIOffline(
        title="survey_api",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        static_url="/docs-static",
    )
    app.state.settings = settings
    app.state.form_throttle = FormThrottle(
        link_answers=settings.form_link_answer_limit,
        code_attempts=settings.form_code_attempt_limit,
    )

    @app.exception_handler(SurveyError)
    async def survey_error(request: Request, exc: SurveyError) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # PATCH /areas/import reaches PATCH /areas/{area_id} with the id "import": the path
        # names a resource of its own, which does not allow the method (405, not 422).
        if any(err["loc"][:1] == ("path",) for err in exc.errors()):
            allowed = _static_route_methods(app, request)
            if allowed:
                error = SurveyError(f"{request.method} is not allowed here; use {allowed}")
                error.status_code, error.title = 405, "Method not allowed"
                error.type_slug = "method-not-allowed"
                return problem_response(error, request, headers={"Allow": allowed})
        return _validation_problem(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = SurveyError(_http_detail(exc))
        error.status_code = exc.status_code
        error.title = {400: "Bad request", 404: "Not found", 405: "Method not allowed"}.get(
            exc.status_code, "Error"
        )
        error.type_slug = error.title.lower().replace(" ", "-")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(app, request)
        return problem_response(error, request, headers=headers)

    # Handled here, not by the catch-all below: Starlette re-raises what reaches the catch-all,
    # and the server then logs a traceback and drops the client's connection.
    @app.exception_handler(OperationalError)
    @app.exception_handler(SQLAlchemyTimeoutError)
    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(db_unavailable(exc, request.method, request.url.path), request)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        error = SurveyError("an unexpected error occurred; it has been logged")
        error.status_code, error.title, error.type_slug = 500, "Internal error", "internal"
        return problem_response(error, request)

    _include_routers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        import_bytes=settings.max_import_bytes,
    )
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish_contract(generate_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _include_routers(app: FastAPI) -> None:
    from survey_api.api import api_router
    from survey_api.console.router import router as console_router
    from survey_api.reports.router import page_router as reports_router
    from survey_api.responses.router import hot_router as submissions_first
    from survey_api.web.router import router as web_router

    app.include_router(submissions_first)  # matched first; hidden twin of a route of api_router
    app.include_router(api_router)
    # Pages for people (tenants, boards with a share link) are not part of the API contract.
    app.include_router(web_router, include_in_schema=False)
    app.include_router(reports_router, include_in_schema=False)
    # The staff console: pages for people, signed in with a session cookie, not API keys.
    app.include_router(console_router, include_in_schema=False)
    # What the service sends to integrators: documented as OpenAPI 3.1 `webhooks`, never served.
    from survey_api.webhooks.event_docs import webhooks_router

    app.webhooks.include_router(webhooks_router)


_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# FastAPI documents every route with parameters or a body as answering 422 with these; the
# handlers above never send them (validation errors are Problems), so they leave the contract.
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def _problem_schema(response: dict[str, Any], schemas: dict[str, Any]) -> str:
    """The name of the schema an error response documents for application/problem+json:
    the one it names when that schema has every field of Problem, else Problem."""
    media = response.get("content", {}).get(PROBLEM_JSON, {})
    name = str(media.get("schema", {}).get("$ref", "")).rsplit("/", 1)[-1]
    fields = schemas.get(name, {}).get("properties", {})
    return name if name and set(Problem.model_fields) <= set(fields) else "Problem"


def finish_contract(doc: dict[str, Any]) -> dict[str, Any]:
    """Make FastAPI's generated document say what the server sends, for every route, present
    or future, so a generated client can parse every answer:

    - every 4xx and 5xx is a Problem in application/problem+json and nothing else (FastAPI
      adds application/json beside it, and documents its own 422 shape, which is never sent),
      or a schema that extends Problem where a route documents one (an import's 422 carries
      its report: `imports.problems.refused_responses`);
    - an operation that reads a body also answers 400 (unparsable JSON) and 413 (too large);
    - every operation may answer 503 with Retry-After when the database is unavailable.
    """
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    for item in doc.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _HTTP_METHODS:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if "requestBody" in operation:
                for code in (400, 413):
                    responses.setdefault(str(code), {"description": ERROR_DESCRIPTIONS[code]})
            responses.setdefault("503", {"description": ERROR_DESCRIPTIONS[503]})
            responses["503"]["headers"] = _RETRY_AFTER
            for status, response in responses.items():
                if not status.startswith(("4", "5")):
                    continue
                schema = json.dumps(response.get("content", {}))
                if any(f"/{name}" in schema for name in _FASTAPI_VALIDATION_SCHEMAS):
                    response["description"] = ERROR_DESCRIPTIONS[422]
                response["content"] = problem_content(_problem_schema(response, schemas))
            operation["responses"] = dict(sorted(responses.items()))
    if "Problem" not in schemas:
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}), Problem=problem)
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        if f'"#/components/schemas/{name}"' not in json.dumps(doc):
            schemas.pop(name, None)
    doc["components"]["schemas"] = dict(sorted(schemas.items()))
    return doc


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document exactly as committed in openapi/openapi.json."""
    return create_app(Settings()).openapi()
