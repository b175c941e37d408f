"""(admin) The organisation's staff users, the console's accounts: create (with a one-time
set-password link), list, change role, switch off and on, new password link, sign out.

The console's Staff users page and `survey-api users` call the same service functions.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from survey_api.auth.dependencies import Admin, SessionDep
from survey_api.config import Settings
from survey_api.exceptions import problem_responses
from survey_api.ids import MAX_ID
from survey_api.models import StaffUser
from survey_api.organisations import service as organisations_service
from survey_api.paging import LINK_HEADER_RESPONSE, PageParams, with_link_header
from survey_api.staff import service
from survey_api.staff.schemas import (
    PasswordLink,
    StaffUserCreate,
    StaffUserCreated,
    StaffUserPage,
    StaffUserRead,
    StaffUserUpdate,
)

router = APIRouter(prefix="/staff-users", tags=["staff users"])

StaffUserId = Annotated[int, Path(description="The staff user's id.", ge=1, le=MAX_ID)]


def read_user(user: StaffUser) -> StaffUserRead:
    """A staff user as the API shows one: whether a password is set, never its hash."""
    return StaffUserRead(
        id=user.id,
        email=user.email,
        role=user.role,
        active=user.active,
        has_password=user.password_hash is not None,
        created_at=user.created_at,
        password_changed_at=user.password_changed_at,
    )


def _link(request: Request, session: SessionDep, token: str) -> PasswordLink:
    settings: Settings = request.app.state.settings
    return PasswordLink(
        url=service.set_password_link(settings.public_base_url, token),
        expires_at=service.password_link_expiry(session, token),
    )


@router.get(
    "",
    operation_id="list_staff_users",
    response_model=StaffUserPage,
    responses={**LINK_HEADER_RESPONSE, **problem_responses(401, 403, 422)},
)
def list_staff_users(
    principal: Admin, session: SessionDep, page: PageParams, response: Response
) -> StaffUserPage:
    """List the organisation's console accounts, by e-mail."""
    users, total = service.page_users(session, principal.organisation_id, page)
    return with_link_header(response, StaffUserPage.of([read_user(u) for u in users], total, page))


@router.post(
    "",
    operation_id="create_staff_user",
    response_model=StaffUserCreated,
    status_code=201,
    responses=problem_responses(400, 401, 403, 409, 413, 422),
)
def create_staff_user(
    body: StaffUserCreate, principal: Admin, session: SessionDep, request: Request
) -> StaffUserCreated:
    """Create a console account. The answer holds a one-time link (valid three days) for the
    person to choose a password; send it to them. It is never shown again: a lost link is
    replaced with `create_staff_user_password_link`. An address that has an account, in
    this or another organisation, answers 409."""
    organisation = organisations_service.get_organisation(session, principal.organisation_id)
    user, token = service.create_user(session, organisation, body.email, body.role)
    return StaffUserCreated(
        **read_user(user).model_dump(), password_link=_link(request, session, token)
    )


@router.get(
    "/{staff_user_id}",
    operation_id="get_staff_user",
    response_model=StaffUserRead,
    responses=problem_responses(401, 403, 404),
)
def get_staff_user(
    staff_user_id: StaffUserId, principal: Admin, session: SessionDep
) -> StaffUserRead:
    """Read one console account."""
    return read_user(service.get_user(session, principal.organisation_id, staff_user_id))


@router.patch(
    "/{staff_user_id}",
    operation_id="update_staff_user",
    response_model=StaffUserRead,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
def update_staff_user(
    staff_user_id: StaffUserId, body: StaffUserUpdate, principal: Admin, session: SessionDep
) -> StaffUserRead:
    """Change a role (it applies from the person's next request) or switch the account off
    (`active: false` signs the person out everywhere) or on. A change that would leave the
    organisation without an active admin answers 409."""
    user = service.update_user(
        session, principal.organisation_id, staff_user_id, role=body.role, active=body.active
    )
    return read_user(user)


@router.post(
    "/{staff_user_id}/password-link",
    operation_id="create_staff_user_password_link",
    response_model=PasswordLink,
    status_code=201,
    responses=problem_responses(401, 403, 404, 409),
)
def create_password_link(
    staff_user_id: StaffUserId, principal: Admin, session: SessionDep, request: Request
) -> PasswordLink:
    """A password reset: the old password, every session and earlier links stop working;
    the answer holds a new one-time link (shown once, valid three days). A switched-off
    account answers 409: switch it on first."""
    token = service.reset_password(session, principal.organisation_id, staff_user_id)
    return _link(request, session, token)


@router.delete(
    "/{staff_user_id}/sessions",
    operation_id="sign_out_staff_user",
    status_code=204,
    responses=problem_responses(401, 403, 404),
)
def sign_out_staff_user(
    staff_user_id: StaffUserId, principal: Admin, session: SessionDep
) -> Response:
    """Sign the person out of every browser (a lost laptop); the password stays."""
    service.sign_out_everywhere(session, principal.organisation_id, staff_user_id)
    return Response(status_code=204)
