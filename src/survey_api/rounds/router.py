from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from survey_api.auth.dependencies import Analyst, AnyRole, SessionDep
from survey_api.exceptions import problem_responses
from survey_api.ids import MAX_ID
from survey_api.paging import LINK_HEADER_RESPONSE, PageParams, with_link_header
from survey_api.rounds import service
from survey_api.rounds.schemas import (
    PERIOD_PATTERN,
    QUESTIONNAIRE_KEY_PATTERN,
    RoundStatus,
    SurveyRoundCreate,
    SurveyRoundPage,
    SurveyRoundRead,
    SurveyRoundUpdate,
)

router = APIRouter(prefix="/rounds", tags=["survey rounds"])
RoundId = Annotated[int, Path(description="The survey round's id.", ge=1, le=MAX_ID)]


@router.get(
    "",
    operation_id="list_rounds",
    response_model=SurveyRoundPage,
    responses={**LINK_HEADER_RESPONSE, **problem_responses(401, 403, 404, 422)},
)
def list_rounds(
    principal: AnyRole,
    session: SessionDep,
    page: PageParams,
    response: Response,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
    status: RoundStatus | None = None,
    questionnaire: Annotated[
        str | None,
        Query(
            pattern=QUESTIONNAIRE_KEY_PATTERN,
            description="Only the rounds of this questionnaire (its key, e.g. "
            "kundenkat-standard); an unknown key is 404.",
        ),
    ] = None,
) -> SurveyRoundPage:
    """List survey rounds, newest period first, a page at a time; filter by period, status or
    questionnaire (survey)."""
    found = service.list_rounds(
        session,
        principal.organisation_id,
        page,
        period=period,
        status=status,
        questionnaire=questionnaire,
    )
    return with_link_header(response, found)


@router.post(
    "",
    operation_id="create_round",
    response_model=SurveyRoundRead,
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 413, 422),
)
def create_round(
    body: SurveyRoundCreate, principal: Analyst, session: SessionDep
) -> SurveyRoundRead:
    """Create a survey round over a published questionnaire version and a set of areas."""
    survey_round = service.create_round(
        session, principal.organisation_id, body, role=principal.role
    )
    return service.read_rounds(session, [survey_round])[0]


@router.get(
    "/{round_id}",
    operation_id="get_round",
    response_model=SurveyRoundRead,
    responses=problem_responses(401, 403, 404),
)
def get_round(round_id: RoundId, principal: AnyRole, session: SessionDep) -> SurveyRoundRead:
    """Read a survey round, its state and its response count."""
    survey_round = service.get_round(session, principal.organisation_id, round_id)
    return service.read_rounds(session, [survey_round])[0]


@router.post(
    "/{round_id}/close",
    operation_id="close_round",
    response_model=SurveyRoundRead,
    responses=problem_responses(401, 403, 404, 409),
)
def close_round(round_id: RoundId, principal: Analyst, session: SessionDep) -> SurveyRoundRead:
    """Close a survey round now, before its close date. It then accepts no responses."""
    survey_round = service.close_round(session, principal.organisation_id, round_id)
    return service.read_rounds(session, [survey_round])[0]


@router.patch(
    "/{round_id}",
    operation_id="update_round",
    response_model=SurveyRoundRead,
    responses=problem_responses(401, 403, 404, 413, 422),
)
def update_round(
    round_id: RoundId, body: SurveyRoundUpdate, principal: Analyst, session: SessionDep
) -> SurveyRoundRead:
    """Change a round's settings: turn its area links (posters) off or on again."""
    survey_round = service.update_round(session, principal.organisation_id, round_id, body)
    return service.read_rounds(session, [survey_round])[0]
