"""Who is using the console: the session cookie, role checks with the API's semantics, CSRF.

The cookie holds a random session token (the database keeps only its hash); it is HttpOnly,
SameSite=Lax, limited to /console, and Secure unless the service is reached over plain http on
this machine (a developer's http://127.0.0.1:8000). Every POST carries a CSRF token in a hidden
field: the session's own token once signed in, and before that (the login and set-password
forms) a random value that must match a cookie of its own (a double-submit token), so nobody
can post a login from another site either.
"""

import hmac
import secrets
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from survey_api.auth.dependencies import ALL_ROLES, DEFINER_ROLES
from survey_api.config import Settings
from survey_api.console.rendering import CsrfMismatch, LoginRequired
from survey_api.db import get_session
from survey_api.exceptions import Forbidden
from survey_api.staff import service as staff_service
from survey_api.staff.service import StaffPrincipal
from survey_api.staff.throttle import LoginThrottle

SESSION_COOKIE = "console_session"
FORM_COOKIE = "console_form"
COOKIE_PATH = "/console"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")

SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def cookie_secure(settings: Settings) -> bool:
    """Secure everywhere except plain http on this machine (a browser would drop it there)."""
    url = urlsplit(settings.public_base_url)
    return not (url.scheme == "http" and url.hostname in LOCAL_HOSTS)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """A console cookie: HttpOnly, SameSite=Lax, path /console, Secure outside localhost.
    No Max-Age: it ends with the browser, and the server ends the session anyway."""
    response.set_cookie(
        name,
        value,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(_settings(request)),
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    """Tell the browser to forget a console cookie."""
    response.delete_cookie(
        name,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(_settings(request)),
    )


def login_throttle(request: Request) -> LoginThrottle:
    """This process's login throttle (made on first use; tests may put their own in place)."""
    throttle: LoginThrottle | None = getattr(request.app.state, "login_throttle", None)
    if throttle is None:
        throttle = request.app.state.login_throttle = LoginThrottle()
    return throttle


def client_address(request: Request) -> str | None:
    """The client's address, only ever passed to the throttle (which keeps an HMAC of it)."""
    return request.client.host if request.client else None


def optional_staff(request: Request, session: SessionDep) -> StaffPrincipal | None:
    """The signed-in staff principal, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    principal = staff_service.resolve_session(session, token) if token else None
    request.state.staff = principal
    return principal


def current_staff(
    principal: Annotated[StaffPrincipal | None, Depends(optional_staff)],
) -> StaffPrincipal:
    """The signed-in staff principal; without one, the browser goes to the login page."""
    if principal is None:
        raise LoginRequired
    return principal


def require_staff(*roles: str) -> Callable[..., StaffPrincipal]:
    """A dependency like the API's require_role: the same roles, the same 403."""

    def dependency(
        principal: Annotated[StaffPrincipal, Depends(current_staff)],
    ) -> StaffPrincipal:
        if not staff_service.permits(principal.role, roles):
            raise Forbidden(f"a staff user with role '{principal.role}' may not do this")
        return principal

    return dependency


async def form_fields(request: Request) -> dict[str, str]:
    """The posted fields (the first value of each name)."""
    form: FormData = await request.form()
    return {name: value for name in form if isinstance(value := form.get(name), str)}


Fields = Annotated[dict[str, str], Depends(form_fields)]


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


def csrf_checked(
    principal: Annotated[StaffPrincipal, Depends(current_staff)], fields: Fields
) -> StaffPrincipal:
    """A signed-in POST whose hidden csrf_token is this session's; otherwise the 403 page."""
    if not _same(fields.get("csrf_token"), principal.csrf_token):
        raise CsrfMismatch
    return principal


def form_token(request: Request) -> str:
    """The double-submit token of an anonymous form: the cookie's, or a new one."""
    existing = request.cookies.get(FORM_COOKIE)
    return existing if existing and len(existing) <= 64 else secrets.token_urlsafe(32)


def anonymous_csrf_checked(request: Request, fields: Fields) -> None:
    """An anonymous POST (login, set password) whose hidden token matches its cookie."""
    if not _same(fields.get("csrf_token"), request.cookies.get(FORM_COOKIE)):
        raise CsrfMismatch


Staff = Annotated[StaffPrincipal, Depends(require_staff(*ALL_ROLES))]
StaffPost = Annotated[StaffPrincipal, Depends(csrf_checked)]
DefinerStaff = Annotated[StaffPrincipal, Depends(require_staff(*DEFINER_ROLES))]
AdminStaff = Annotated[StaffPrincipal, Depends(require_staff("admin"))]
