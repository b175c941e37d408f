"""Route dependencies: the caller's principal, with a role check."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from survey_api.auth.service import Principal, authenticate
from survey_api.db import get_session
from survey_api.exceptions import Forbidden, Unauthenticated

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An organisation API key: `Authorization: Bearer sak_…` (see `survey-api keys`).",
)

SessionDep = Annotated[Session, Depends(get_session, scope="function")]


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

ALL_ROLES = ("admin", "analyst", "integrator")
DEFINER_ROLES = ("admin", "analyst")
# Integrators push paper and phone answers; analysts define and read but do not upload.
UPLOADER_ROLES = ("admin", "integrator")


def authorize(
    session: Session, credentials: HTTPAuthorizationCredentials | None, roles: tuple[str, ...]
) -> Principal:
    """Authenticate the bearer key and check that its role is one of `roles`."""
    if credentials is None:
        raise Unauthenticated("send an API key as 'Authorization: Bearer <key>'")
    principal = authenticate(session, credentials.credentials)
    if principal.role not in roles:
        raise Forbidden(
            f"a key with role '{principal.role}' may not do this; "
            f"it needs one of: {', '.join(roles)}"
        )
    return principal


def require_role(*roles: str) -> Callable[..., Principal]:
    """A dependency that authenticates the caller and checks the key's role."""

    def dependency(session: SessionDep, credentials: Credentials) -> Principal:
        return authorize(session, credentials, roles)

    return dependency


AnyRole = Annotated[Principal, Depends(require_role(*ALL_ROLES))]
Analyst = Annotated[Principal, Depends(require_role(*DEFINER_ROLES))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
Uploader = Annotated[Principal, Depends(require_role(*UPLOADER_ROLES))]
