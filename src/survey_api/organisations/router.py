from fastapi import APIRouter

from survey_api.auth.dependencies import Admin, AnyRole, SessionDep
from survey_api.exceptions import problem_responses
from survey_api.organisations import service
from survey_api.organisations.schemas import OrganisationRead, OrganisationUpdate

router = APIRouter(prefix="/organisation", tags=["organisation"])


@router.get(
    "",
    operation_id="get_organisation",
    response_model=OrganisationRead,
    responses=problem_responses(401, 403),
)
def get_organisation(principal: AnyRole, session: SessionDep) -> OrganisationRead:
    """Read the calling key's organisation and its settings."""
    return OrganisationRead.model_validate(
        service.get_organisation(session, principal.organisation_id)
    )


@router.patch(
    "",
    operation_id="update_organisation",
    response_model=OrganisationRead,
    responses=problem_responses(400, 401, 403, 422),
)
def update_organisation(
    body: OrganisationUpdate, principal: Admin, session: SessionDep
) -> OrganisationRead:
    """Change settings (minimum cell size, languages offered). Admin only."""
    return OrganisationRead.model_validate(
        service.update_organisation(session, principal.organisation_id, body)
    )
