"""Jinja2 rendering in the tenant's language, the stylesheet, and the headers of every page."""

import hashlib
import logging
from collections.abc import Callable, Coroutine
from datetime import date
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from babel.dates import format_date
from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from survey_api.db import db_unavailable
from survey_api.log_redaction import redact
from survey_api.web import i18n
from survey_api.web.service import (
    SERVER_ERROR,
    UNAVAILABLE,
    Redirect,
    TenantProblem,
    View,
    problem_view,
)

logger = logging.getLogger("survey_api.web")

STYLESHEET = resources.files("survey_api.web").joinpath("static", "form.css").read_bytes()
# The address changes with the content, so browsers may cache it for good.
STYLESHEET_PATH = f"/static/form.{hashlib.sha256(STYLESHEET).hexdigest()[:12]}.css"

# No script at all, no inline style, nothing from elsewhere, and never inside a frame.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # Invitation codes appear in /i/{code}: they must never travel in a Referer header.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


ResponseT = TypeVar("ResponseT", bound=Response)


def security_headers(response: ResponseT, *, cacheable: bool = False) -> ResponseT:
    """Set the tenant pages' security headers; pages are never stored (shared phones)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if not cacheable:
        response.headers["Cache-Control"] = "no-store"
    return response


@cache
def environment(ui_language: str) -> Environment:
    """A Jinja2 environment with one language's catalogue installed (one per language)."""
    env = Environment(
        loader=PackageLoader("survey_api.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the package and never change while running
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        i18n.translations(ui_language), newstyle=True
    )

    def long_date(value: date) -> str:
        try:
            return format_date(value, "long", locale=ui_language.replace("-", "_"))
        except (ValueError, LookupError):
            return value.isoformat()

    env.filters["long_date"] = long_date
    return env


def render_view(view: View) -> HTMLResponse:
    """Render a view in its language, with the security headers."""
    language = i18n.language(view.language)
    env = environment(language.ui_language)
    html = env.get_template(view.template).render(
        lang=language,
        languages=[i18n.language(code) for code in view.languages],
        language_links=view.language_links,
        stylesheet=STYLESHEET_PATH,
        **view.context,
    )
    return security_headers(HTMLResponse(html, status_code=view.status))


def respond(result: View | Redirect) -> Response:
    """A view as a page, or a redirect (post/redirect/get)."""
    if isinstance(result, Redirect):
        return security_headers(RedirectResponse(result.url, status_code=303))
    return render_view(result)


class TenantRoute(APIRoute):
    """Every tenant page gets the security headers, and every failure a friendly page.

    Problems a tenant can meet (TenantProblem) become pages in their language; anything
    unexpected is logged (without the path's invitation code) and becomes a polite 500 page,
    never a stack trace or a JSON error.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def tenant_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except TenantProblem as problem:
                response = await _problem_page(request, problem)
            except (OperationalError, SQLAlchemyTimeoutError) as error:
                unavailable = db_unavailable(error, request.method, request.url.path)
                response = await _problem_page(
                    request, TenantProblem(UNAVAILABLE, retry_after=unavailable.retry_after)
                )
            except Exception:
                logger.exception(
                    "tenant page failed: %s %s", request.method, redact(request.url.path)
                )
                response = await _problem_page(request, TenantProblem(SERVER_ERROR))
            if "Content-Security-Policy" not in response.headers:
                security_headers(response)
            return response

        return tenant_handler


async def _problem_page(request: Request, problem: TenantProblem) -> Response:
    requested = request.query_params.get("lang")
    if requested is None and request.method == "POST":
        # The language the tenant chose on the form (the parsed form is cached on the request).
        try:
            posted = (await request.form()).get("_lang")
        except Exception:  # an unreadable body must not hide the real problem
            posted = None
        requested = posted if isinstance(posted, str) else None
    view = problem_view(
        problem,
        requested=requested,
        accept_language=request.headers.get("accept-language"),
        # ?lang= links only make sense on an address that can be fetched again.
        language_links=request.method == "GET",
    )
    response = render_view(view)
    if problem.retry_after is not None:
        response.headers["Retry-After"] = str(problem.retry_after)
    return response
