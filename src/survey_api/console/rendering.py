"""Console pages: Jinja2 in the reader's language, one static stylesheet, the tenant pages'
security headers (no script, no inline style, nothing from elsewhere, never framed), and a
page (never a JSON error or a stack trace) for every failure."""

import hashlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date
from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from survey_api.console import i18n
from survey_api.db import db_unavailable
from survey_api.exceptions import SurveyError
from survey_api.log_redaction import redact
from survey_api.presentation import formatting
from survey_api.web.rendering import security_headers

logger = logging.getLogger("survey_api.console")

STYLESHEET = resources.files("survey_api.console").joinpath("static", "console.css").read_bytes()
# The address changes with the content, so browsers may cache it for good.
STYLESHEET_PATH = f"/console/static/console.{hashlib.sha256(STYLESHEET).hexdigest()[:12]}.css"


class LoginRequired(Exception):
    """No live session: the browser is sent to the login page."""


class CsrfMismatch(Exception):
    """A form posted without this session's CSRF token."""


@dataclass(frozen=True)
class PageLanguage:
    """The language of a page, and whether the reader chose it (then links keep ?lang=)."""

    code: str
    explicit: bool

    def url(self, path: str, **query: str) -> str:
        """A console address that keeps the chosen language."""
        params = {**query, **({"lang": self.code} if self.explicit else {})}
        return f"{path}?{urlencode(params)}" if params else path


def page_language(request: Request, posted: str | None = None) -> PageLanguage:
    """The page's language: ?lang= or a form's _lang, else Accept-Language, else Swedish."""
    requested = posted or request.query_params.get("lang")
    code = i18n.negotiate(requested, request.headers.get("accept-language"))
    return PageLanguage(code=code, explicit=bool(requested) and requested == code)


@cache
def environment(language: str) -> Environment:
    """A Jinja2 environment with one language's catalogue installed."""
    env = Environment(
        loader=PackageLoader("survey_api.console", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        i18n.translations(language), newstyle=True
    )
    env.filters["long_date"] = lambda value: _long_date(value, language)
    env.filters["number"] = lambda value: formatting.number(value, language)
    env.filters["percent"] = lambda value: formatting.percent(value, language)
    return env


def _long_date(value: date, language: str) -> str:
    return str(format_date(value, "long", locale=formatting.locale_of(language)))


def render(
    request: Request,
    template: str,
    *,
    lang: PageLanguage,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A console page in its language, with the security headers."""
    staff = getattr(request.state, "staff", None)
    html = (
        environment(lang.code)
        .get_template(template)
        .render(
            lang=i18n.language(lang.code),
            page=lang,
            path=request.url.path,
            # ?lang= links only make sense on an address that can be fetched again.
            other_languages=[i18n.language(c) for c in i18n.LANGUAGES if c != lang.code]
            if request.method == "GET"
            else [],
            stylesheet=STYLESHEET_PATH,
            staff=staff,
            **context,
        )
    )
    return security_headers(HTMLResponse(html, status_code=status))


def redirect(url: str) -> Response:
    """Post/redirect/get, with the security headers."""
    return security_headers(RedirectResponse(url, status_code=303))


class ConsoleRoute(APIRoute):
    """Every console page gets the security headers, and every failure a page: no session sends
    the browser to the login page; a domain error (403, 404, ...) and a CSRF mismatch become a
    page in the reader's language; anything unexpected is logged without secrets."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired:
                response = _to_login(request)
            except CsrfMismatch:
                response = _problem(request, 403, "csrf")
            except SurveyError as error:
                response = _problem(request, error.status_code, _kind(error))
            except (OperationalError, SQLAlchemyTimeoutError) as error:
                unavailable = db_unavailable(error, request.method, request.url.path)
                response = _problem(request, 503, "unavailable")
                response.headers["Retry-After"] = str(unavailable.retry_after)
            except Exception:
                logger.exception(
                    "console page failed: %s %s", request.method, redact(request.url.path)
                )
                response = _problem(request, 500, "error")
            if "Content-Security-Policy" not in response.headers:
                security_headers(response)
            return response

        return console_handler


def _kind(error: SurveyError) -> str:
    """Which page a domain error gets: only a server fault says it was logged."""
    kind = {403: "forbidden", 404: "not_found", 409: "conflict"}.get(error.status_code)
    if kind is None:
        kind = "bad_request" if 400 <= error.status_code < 500 else "error"
    return kind


def _to_login(request: Request) -> Response:
    lang = page_language(request)
    query = {}
    if request.method == "GET" and request.url.path != "/console/":
        query["next"] = request.url.path
    return redirect(lang.url("/console/login", **query))


def _problem(request: Request, status: int, kind: str, **context: Any) -> HTMLResponse:
    return render(
        request, "problem.html", lang=page_language(request), status=status, kind=kind, **context
    )


def too_large_page(request: Request, limit: int) -> HTMLResponse:
    """The page for a console form or upload over the body limit (the API answers JSON)."""
    lang = page_language(request)
    size = formatting.number(limit / 1_000_000, lang.code, decimals=1)
    return _problem(request, 413, "too_large", limit_mb=size)
