"""(admin) The console's staff users, on the service the API's /staff-users routes and
`survey-api users` use.

GET  /console/users                          the organisation's staff users, a create form
POST /console/users                          a new user; the set-password link is shown once
POST /console/users/{id}/role                a new role (from the person's next request)
POST /console/users/{id}/active              switch an account off (signed out everywhere) or on
POST /console/users/{id}/reset               a new one-time set-password link (signed out)
POST /console/users/{id}/sign-out            sign the person out of every browser

The rules (one active admin at least, one account per address, roles) are in staff/service.py.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from survey_api.console.auth import AdminStaff, Fields, SessionDep, StaffPost
from survey_api.console.forms import app_settings
from survey_api.console.rendering import ConsoleRoute, PageLanguage, page_language, redirect, render
from survey_api.exceptions import BadRequest
from survey_api.ids import MAX_ID
from survey_api.models import STAFF_ROLES
from survey_api.organisations import service as organisations_service
from survey_api.staff import service as staff_service
from survey_api.staff.service import StaffPrincipal

router = APIRouter(route_class=ConsoleRoute)

StaffUserId = Annotated[int, Path(ge=1, le=MAX_ID)]
NOTICES = ("role", "off", "on", "signed_out")


def _users_page(
    request: Request,
    session: SessionDep,
    principal: StaffPrincipal,
    *,
    lang: PageLanguage,
    status: int = 200,
    link: str | None = None,
    link_email: str | None = None,
    created: bool = False,
    email: str = "",
    role: str = "",
    error: str | None = None,
    error_detail: str | None = None,
) -> Response:
    notice = request.query_params.get("done") if request.method == "GET" else None
    about = request.query_params.get("user") if notice in NOTICES else None
    users = staff_service.list_users(session, principal.organisation_id)
    return render(
        request,
        "users.html",
        lang=lang,
        status=status,
        users=users,
        roles=STAFF_ROLES,
        me=principal.staff_user_id,
        csrf_token=principal.csrf_token,
        link=link,
        link_email=link_email,
        created=created,
        email=email,
        role=role,
        error=error,
        error_detail=error_detail,
        notice=notice if notice in NOTICES else None,
        notice_user=next((u for u in users if str(u.id) == about), None),
    )


@router.get("/users")
def users_page(request: Request, session: SessionDep, principal: AdminStaff) -> Response:
    """(admin) The organisation's staff users, their roles and status, and a create form."""
    return _users_page(request, session, principal, lang=page_language(request))


@router.post("/users")
def create_user(
    request: Request,
    session: SessionDep,
    admin: AdminStaff,
    principal: StaffPost,
    fields: Fields,
) -> Response:
    """(admin) Create a staff user (staff_service.create_user, as POST /api/v1/staff-users);
    the set-password link is on this answer only."""
    lang = page_language(request, fields.get("_lang"))
    email, role = fields.get("email", "").strip(), fields.get("role", "")
    error: str | None = None
    if role not in STAFF_ROLES:
        error = "role"
    else:
        organisation = organisations_service.get_organisation(session, principal.organisation_id)
        try:
            user, token = staff_service.create_user(session, organisation, email, role)
        except staff_service.EmailTaken:
            error = "taken"
        except BadRequest:
            error = "email"
        else:
            link = staff_service.set_password_link(app_settings(request).public_base_url, token)
            return _users_page(
                request,
                session,
                principal,
                lang=lang,
                link=link,
                link_email=user.email,
                created=True,
            )
    return _users_page(
        request, session, principal, lang=lang, status=422, email=email, role=role, error=error
    )


@router.post("/users/{staff_user_id}/role")
def change_role(
    request: Request,
    session: SessionDep,
    admin: AdminStaff,
    principal: StaffPost,
    staff_user_id: StaffUserId,
    fields: Fields,
) -> Response:
    """(admin) Give a user another role; the organisation keeps one active admin at least."""
    return _update(request, session, principal, staff_user_id, fields, role=fields.get("role"))


@router.post("/users/{staff_user_id}/active")
def switch_active(
    request: Request,
    session: SessionDep,
    admin: AdminStaff,
    principal: StaffPost,
    staff_user_id: StaffUserId,
    fields: Fields,
) -> Response:
    """(admin) Switch an account off (signed out everywhere, no sign-in) or back on."""
    return _update(
        request, session, principal, staff_user_id, fields, active=fields.get("active") == "1"
    )


def _update(
    request: Request,
    session: SessionDep,
    principal: StaffPost,
    staff_user_id: int,
    fields: dict[str, str],
    *,
    role: str | None = None,
    active: bool | None = None,
) -> Response:
    lang = page_language(request, fields.get("_lang"))
    user = staff_service.get_user(session, principal.organisation_id, staff_user_id)
    if role is not None and role not in STAFF_ROLES:
        return _users_page(request, session, principal, lang=lang, status=422, error="role")
    try:
        staff_service.update_user(
            session, principal.organisation_id, user.id, role=role, active=active
        )
    except staff_service.LastAdmin:
        return _users_page(
            request,
            session,
            principal,
            lang=lang,
            status=409,
            error="last_admin",
            error_detail=user.email,
        )
    done = "role" if role is not None else ("on" if active else "off")
    return redirect(lang.url("/console/users", done=done, user=str(user.id)))


@router.post("/users/{staff_user_id}/reset")
def reset_user_password(
    request: Request,
    session: SessionDep,
    admin: AdminStaff,
    principal: StaffPost,
    staff_user_id: StaffUserId,
    fields: Fields,
) -> Response:
    """(admin) Sign a user out everywhere and show a new set-password link, once."""
    token = staff_service.reset_password(session, principal.organisation_id, staff_user_id)
    user = staff_service.get_user(session, principal.organisation_id, staff_user_id)
    return _users_page(
        request,
        session,
        principal,
        lang=page_language(request, fields.get("_lang")),
        link=staff_service.set_password_link(app_settings(request).public_base_url, token),
        link_email=user.email,
    )


@router.post("/users/{staff_user_id}/sign-out")
def sign_out_user(
    request: Request,
    session: SessionDep,
    admin: AdminStaff,
    principal: StaffPost,
    staff_user_id: StaffUserId,
    fields: Fields,
) -> Response:
    """(admin) Revoke every session of a user (a lost laptop); the password stays."""
    staff_service.sign_out_everywhere(session, principal.organisation_id, staff_user_id)
    lang = page_language(request, fields.get("_lang"))
    return redirect(lang.url("/console/users", done="signed_out", user=str(staff_user_id)))
