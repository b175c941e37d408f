"""The staff console's pages, outside /api and outside the OpenAPI schema.

GET  /console/                       overview: open rounds, responses and rates per area
GET  /console/login, POST            sign in (a new session every time)
POST /console/logout                 sign out (the session is revoked)
GET  /console/set-password/{token}, POST   choose a password through a one-time link
GET  /console/password, POST         change one's password (needs the current one)
GET  /console/users ...          (admin) staff users: console/users.py
GET  /console/tillganglighet     the accessibility statement (public)
GET  /console/static/console.<hash>.css   the stylesheet
GET  /console/settings, /keys    (admin) settings and API keys: console/settings.py
GET  /console/webhooks ...       (admin) webhook subscriptions, delivery logs: console/webhooks.py
GET  /console/interventions ...  interventions and their evaluation: console/interventions/
GET  /console/results ...        results, comparison, downloads, share links: console/results/
GET  /console/areas ...          areas, classifications, import: console/areas.py
GET  /console/areas/classifications/import ...  official classifications: console/classifications.py
GET  /console/rounds/{id}/imports ...  history: imports into historical rounds: console/imports.py
GET  /console/questionnaires ... versions, comparability, preview: console/questionnaires.py

Routers stay thin: every rule is in the domain services the API uses.
"""

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from survey_api.config import Settings
from survey_api.console import areas as areas_area
from survey_api.console import auth, overview, rendering, results, rounds
from survey_api.console import classifications as classifications_area
from survey_api.console import imports as imports_area
from survey_api.console import interventions as interventions_area
from survey_api.console import questionnaires as questionnaires_area
from survey_api.console import settings as settings_area
from survey_api.console import users as users_area
from survey_api.console import webhooks as webhooks_area
from survey_api.console.auth import (
    Fields,
    SessionDep,
    Staff,
    StaffPost,
    optional_staff,
)
from survey_api.console.rendering import ConsoleRoute, page_language, redirect, render
from survey_api.organisations import service as organisations_service
from survey_api.staff import service as staff_service
from survey_api.staff.service import StaffPrincipal
from survey_api.web.rendering import security_headers

router = APIRouter(prefix="/console", route_class=ConsoleRoute)

_NEXT = re.compile(r"^/console/[A-Za-z0-9/_-]*$")
MaybeStaff = Annotated[StaffPrincipal | None, Depends(optional_staff)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _safe_next(value: str | None) -> str:
    """Only a console path of this site; never another host ('//evil', '/\\evil')."""
    return value if value and _NEXT.fullmatch(value) else "/console/"


@router.get("")
def console_root(request: Request) -> Response:
    """/console without the slash."""
    return redirect(page_language(request).url("/console/"))


@router.get("/")
def overview_page(request: Request, session: SessionDep, principal: Staff) -> Response:
    """Open rounds with days left, responses and response rate per area, code answers waiting."""
    organisation = organisations_service.get_organisation(session, principal.organisation_id)
    return render(
        request,
        "overview.html",
        lang=page_language(request),
        organisation=organisation.name,
        rounds=overview.open_rounds(session, principal.organisation_id),
    )


def _login_page(
    request: Request,
    *,
    lang: rendering.PageLanguage,
    status: int = 200,
    error: str | None = None,
    retry_minutes: int = 0,
    email: str = "",
    next_path: str | None = None,
) -> Response:
    token = auth.form_token(request)
    response = render(
        request,
        "login.html",
        lang=lang,
        status=status,
        csrf_token=token,
        error=error,
        retry_minutes=retry_minutes,
        email=email,
        next_path=_safe_next(next_path or request.query_params.get("next")),
        notice=request.query_params.get("notice"),
    )
    auth.set_cookie(request, response, auth.FORM_COOKIE, token)
    return response


@router.get("/login")
def login_page(request: Request, principal: MaybeStaff) -> Response:
    """The login form (a signed-in user goes straight on)."""
    lang = page_language(request)
    if principal is not None:
        return redirect(lang.url(_safe_next(request.query_params.get("next"))))
    return _login_page(request, lang=lang)


@router.post("/login", dependencies=[Depends(auth.anonymous_csrf_checked)])
def log_in(request: Request, session: SessionDep, fields: Fields) -> Response:
    """Check the password; on success a new session, whatever cookie came in."""
    lang = page_language(request, fields.get("_lang"))
    email = fields.get("email", "")
    next_path = fields.get("next")
    try:
        _user, token = staff_service.log_in(
            session,
            auth.login_throttle(request),
            email,
            fields.get("password", ""),
            auth.client_address(request),
        )
    except staff_service.LoginThrottled as throttled:
        response = _login_page(
            request,
            lang=lang,
            status=429,
            error="throttled",
            retry_minutes=max(1, -(-throttled.retry_after // 60)),
            email=email,
            next_path=next_path,
        )
        response.headers["Retry-After"] = str(throttled.retry_after)
        return response
    except staff_service.LoginFailed:
        return _login_page(
            request, lang=lang, status=401, error="failed", email=email, next_path=next_path
        )
    # Session fixation: whatever session cookie came with the login is revoked; the browser
    # gets a token minted just now.
    previous = request.cookies.get(auth.SESSION_COOKIE)
    if previous:
        earlier = staff_service.resolve_session(session, previous)
        if earlier is not None:
            staff_service.log_out(session, earlier)
    response = redirect(lang.url(_safe_next(next_path)))
    auth.set_cookie(request, response, auth.SESSION_COOKIE, token)
    auth.clear_cookie(request, response, auth.FORM_COOKIE)
    return response


@router.post("/logout")
def log_out(
    request: Request, session: SessionDep, principal: StaffPost, fields: Fields
) -> Response:
    """Revoke this session and forget the cookie."""
    staff_service.log_out(session, principal)
    lang = page_language(request, fields.get("_lang"))
    response = redirect(lang.url("/console/login", notice="logged_out"))
    auth.clear_cookie(request, response, auth.SESSION_COOKIE)
    return response


Token = Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


def _set_password_page(
    request: Request,
    token: str,
    *,
    lang: rendering.PageLanguage,
    status: int = 200,
    error: str | None = None,
    email: str,
) -> Response:
    form_token = auth.form_token(request)
    response = render(
        request,
        "set_password.html",
        lang=lang,
        status=status,
        csrf_token=form_token,
        token=token,
        email=email,
        error=error,
        min_length=staff_service.MIN_PASSWORD_LENGTH,
    )
    auth.set_cookie(request, response, auth.FORM_COOKIE, form_token)
    return response


@router.get("/set-password/{token}")
def set_password_page(request: Request, session: SessionDep, token: Token) -> Response:
    """The form behind a one-time link (or a page saying the link no longer works)."""
    lang = page_language(request)
    try:
        user = staff_service.password_token_user(session, token)
    except staff_service.PasswordTokenInvalid:
        return render(request, "problem.html", lang=lang, status=410, kind="link_invalid")
    return _set_password_page(request, token, lang=lang, email=user.email)


@router.post("/set-password/{token}", dependencies=[Depends(auth.anonymous_csrf_checked)])
def set_password(request: Request, session: SessionDep, token: Token, fields: Fields) -> Response:
    """Choose a password; the link is then used up and the person signs in."""
    lang = page_language(request, fields.get("_lang"))
    try:
        user = staff_service.password_token_user(session, token)
    except staff_service.PasswordTokenInvalid:
        return render(request, "problem.html", lang=lang, status=410, kind="link_invalid")
    password = fields.get("password", "")
    if password != fields.get("password_again", ""):
        return _set_password_page(
            request, token, lang=lang, status=422, error="mismatch", email=user.email
        )
    try:
        staff_service.use_password_token(session, token, password)
    except staff_service.PasswordRejected as rejected:
        return _set_password_page(
            request, token, lang=lang, status=422, error=rejected.reason, email=user.email
        )
    except staff_service.PasswordTokenInvalid:
        return render(request, "problem.html", lang=lang, status=410, kind="link_invalid")
    return redirect(lang.url("/console/login", notice="password_set"))


def _password_page(
    request: Request,
    principal: StaffPrincipal,
    *,
    lang: rendering.PageLanguage,
    status: int = 200,
    error: str | None = None,
) -> Response:
    return render(
        request,
        "change_password.html",
        lang=lang,
        status=status,
        csrf_token=principal.csrf_token,
        error=error,
        changed=request.query_params.get("changed") == "1",
        min_length=staff_service.MIN_PASSWORD_LENGTH,
    )


@router.get("/password")
def change_password_page(request: Request, principal: Staff) -> Response:
    """The form to change one's password."""
    return _password_page(request, principal, lang=page_language(request))


@router.post("/password")
def change_password(
    request: Request, session: SessionDep, principal: StaffPost, fields: Fields
) -> Response:
    """Change one's password; other sessions of the user are signed out."""
    lang = page_language(request, fields.get("_lang"))
    new = fields.get("new_password", "")
    if new != fields.get("new_password_again", ""):
        return _password_page(request, principal, lang=lang, status=422, error="mismatch")
    try:
        staff_service.change_password(session, principal, fields.get("current_password", ""), new)
    except staff_service.CurrentPasswordWrong:
        return _password_page(request, principal, lang=lang, status=422, error="current_wrong")
    except staff_service.PasswordRejected as rejected:
        return _password_page(request, principal, lang=lang, status=422, error=rejected.reason)
    return redirect(lang.url("/console/password", changed="1"))


@router.get("/tillganglighet")
def accessibility_statement(request: Request, principal: MaybeStaff) -> Response:
    """The console's accessibility statement (tillgänglighetsredogörelse)."""
    return render(request, "accessibility.html", lang=page_language(request))


@router.get(rendering.STYLESHEET_PATH.removeprefix("/console"))
def stylesheet() -> Response:
    """The stylesheet; its address changes with its content, so it is cached for a year."""
    response = Response(rendering.STYLESHEET, media_type="text/css; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return security_headers(response, cacheable=True)


# Console areas with routers of their own (included last: include_router copies the routes).
router.include_router(settings_area.router)
router.include_router(rounds.router)
router.include_router(imports_area.router)
router.include_router(interventions_area.router)
router.include_router(results.router)
router.include_router(questionnaires_area.router)
router.include_router(users_area.router)
router.include_router(webhooks_area.router)
# Before the Areas router: /areas/classifications/... is tried before /areas/{area_id}/...
router.include_router(classifications_area.router)
router.include_router(areas_area.router)
