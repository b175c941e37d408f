"""The tenant pages, outside /api and outside the OpenAPI schema.

GET  /r/{slug}      an area link for posters: the start page of a round for one area
GET  /code          the page where a code from a letter is typed in
POST /code          check the code: the start page, or the code page with the problem
GET  /i/{code}      the QR link on a letter: the start page for that code
POST /form          every step of the form (start, next, back, language); the last one sends
GET  /thanks        the thank-you page
GET  /static/form.<hash>.css   the one stylesheet
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from survey_api.config import Settings
from survey_api.db import get_session
from survey_api.web import rendering, service
from survey_api.web.rendering import TenantRoute, respond
from survey_api.web.throttle import FormThrottle

router = APIRouter(route_class=TenantRoute)

SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def _form_fields(request: Request) -> dict[str, list[str]]:
    """The posted fields, every value of a repeated name kept (check boxes)."""
    form: FormData = await request.form()
    return {
        name: [value for value in form.getlist(name) if isinstance(value, str)]
        for name in form  # each name once, however often it was posted
    }


FormFields = Annotated[dict[str, list[str]], Depends(_form_fields)]


def _secret(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.secret_key.get_secret_value()


def _throttle(request: Request) -> FormThrottle:
    throttle: FormThrottle = request.app.state.form_throttle
    return throttle


def _code_attempt(request: Request) -> None:
    """Count a code lookup by this client; too many in a row get the 429 page."""
    verdict = _throttle(request).code_attempt(request.client.host if request.client else None)
    if not verdict.allowed:
        raise service.TenantProblem(service.TOO_MANY, retry_after=verdict.retry_after)


CodeAttempt = Depends(_code_attempt)


def _lang(request: Request) -> str | None:
    return request.query_params.get("lang")


def _accept_language(request: Request) -> str | None:
    return request.headers.get("accept-language")


@router.get("/r/{slug}")
def area_link(slug: str, request: Request, session: SessionDep) -> Response:
    """The start page behind an area link."""
    return respond(
        service.start_from_area_link(
            session,
            _secret(request),
            slug,
            requested=_lang(request),
            accept_language=_accept_language(request),
        )
    )


@router.get("/")
def root() -> Response:
    """Tenants who type the bare address land on the code-entry page."""
    return RedirectResponse("/code", status_code=303)


@router.get("/code")
def code_page(request: Request) -> Response:
    """The code-entry page."""
    return respond(
        service.code_page(requested=_lang(request), accept_language=_accept_language(request))
    )


@router.post("/code", dependencies=[CodeAttempt])
def enter_code(request: Request, session: SessionDep, fields: FormFields) -> Response:
    """Check a typed code and show the start page, or the code page with the problem."""
    return respond(
        service.enter_code(
            session,
            _secret(request),
            (fields.get("code") or [""])[0],
            requested=next(iter(fields.get("_lang") or []), None) or _lang(request),
            accept_language=_accept_language(request),
        )
    )


@router.get("/i/{code}", dependencies=[CodeAttempt])
def invitation_link(code: str, request: Request, session: SessionDep) -> Response:
    """The start page behind a letter's QR code."""
    return respond(
        service.start_from_code(
            session,
            _secret(request),
            code,
            requested=_lang(request),
            accept_language=_accept_language(request),
        )
    )


@router.post("/form")
def form_step(request: Request, session: SessionDep, fields: FormFields) -> Response:
    """One step of the form; the last one stores the response and redirects to /thanks."""
    address = request.client.host if request.client else None
    throttle = _throttle(request)
    return respond(
        service.handle_step(
            session,
            _secret(request),
            fields,
            accept_language=_accept_language(request),
            link_gate=lambda round_id: throttle.link_answer(address, round_id),
        )
    )


@router.get("/form")
def form_without_post() -> Response:
    """A bookmarked or reloaded form address: explain how to start again."""
    raise service.TenantProblem(service.NO_FORM)


@router.get("/thanks")
def thanks(request: Request) -> Response:
    """The thank-you page."""
    return respond(
        service.thanks_page(requested=_lang(request), accept_language=_accept_language(request))
    )


@router.get(rendering.STYLESHEET_PATH)
def stylesheet() -> Response:
    """The stylesheet; its address changes with its content, so it is cached for a year."""
    response = Response(rendering.STYLESHEET, media_type="text/css; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return rendering.security_headers(response, cacheable=True)
