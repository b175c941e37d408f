from typing import Annotated

from fastapi import APIRouter, Path, Request

from survey_api.auth.dependencies import Analyst, AnyRole, SessionDep
from survey_api.config import Settings
from survey_api.exceptions import problem_responses
from survey_api.ids import MAX_ID
from survey_api.invitations import service
from survey_api.invitations.schemas import InvitationCounts, InvitationIssue, IssuedInvitations

router = APIRouter(prefix="/rounds/{round_id}/invitations", tags=["invitations"])
RoundId = Annotated[int, Path(description="The survey round's id.", ge=1, le=MAX_ID)]


@router.post(
    "",
    operation_id="issue_invitations",
    response_model=IssuedInvitations,
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def issue_invitations(
    round_id: RoundId,
    body: InvitationIssue,
    principal: Analyst,
    session: SessionDep,
    request: Request,
) -> IssuedInvitations:
    """Issue single-use codes for one area. The codes are in this response only: print them."""
    settings: Settings = request.app.state.settings
    return service.issue(
        session,
        principal.organisation_id,
        round_id,
        body.area_id,
        body.count,
        secret=settings.secret_key.get_secret_value(),
        base_url=settings.public_base_url,
    )


@router.get(
    "",
    operation_id="count_invitations",
    response_model=InvitationCounts,
    responses=problem_responses(401, 403, 404),
)
def count_invitations(
    round_id: RoundId, principal: AnyRole, session: SessionDep
) -> InvitationCounts:
    """Count issued and used codes per area of the round."""
    return service.counts(session, principal.organisation_id, round_id)
