from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from survey_api.auth.dependencies import Analyst, AnyRole, SessionDep
from survey_api.exceptions import ValidationFailed, problem_responses
from survey_api.ids import MAX_ID
from survey_api.interventions import evaluation, service
from survey_api.interventions.evaluation_schemas import InterventionEvaluation
from survey_api.interventions.schemas import (
    CATEGORY_PATTERN,
    InterventionCreate,
    InterventionPage,
    InterventionRead,
    InterventionUpdate,
)
from survey_api.paging import LINK_HEADER_RESPONSE, PageParams, with_link_header
from survey_api.results.service import Target
from survey_api.rounds.schemas import PERIOD_PATTERN, QUESTIONNAIRE_KEY_PATTERN

router = APIRouter(prefix="/interventions", tags=["interventions"])
InterventionId = Annotated[int, Path(description="The intervention's id.", ge=1, le=MAX_ID)]


@router.get(
    "",
    operation_id="list_interventions",
    response_model=InterventionPage,
    responses={**LINK_HEADER_RESPONSE, **problem_responses(401, 403, 422)},
)
def list_interventions(
    principal: AnyRole,
    session: SessionDep,
    page: PageParams,
    response: Response,
    area_id: Annotated[
        int | None, Query(description="Only those running in this area.", ge=1, le=MAX_ID)
    ] = None,
    category: Annotated[str | None, Query(pattern=CATEGORY_PATTERN)] = None,
) -> InterventionPage:
    """List registered social investments, oldest start first, a page at a time."""
    found = service.page_interventions(
        session, principal.organisation_id, page, area_id=area_id, category=category
    )
    return with_link_header(response, found)


@router.post(
    "",
    operation_id="create_intervention",
    response_model=InterventionRead,
    status_code=201,
    responses=problem_responses(401, 403, 404, 413, 422),
)
def create_intervention(
    body: InterventionCreate, principal: Analyst, session: SessionDep
) -> InterventionRead:
    """Register a social investment: name, category, areas, start/end dates, cost in SEK."""
    intervention = service.create_intervention(session, principal.organisation_id, body)
    return service.read(session, [intervention])[0]


@router.get(
    "/{intervention_id}",
    operation_id="get_intervention",
    response_model=InterventionRead,
    responses=problem_responses(401, 403, 404),
)
def get_intervention(
    intervention_id: InterventionId, principal: AnyRole, session: SessionDep
) -> InterventionRead:
    """Read one intervention."""
    intervention = service.get_intervention(session, principal.organisation_id, intervention_id)
    return service.read(session, [intervention])[0]


@router.patch(
    "/{intervention_id}",
    operation_id="update_intervention",
    response_model=InterventionRead,
    responses=problem_responses(401, 403, 404, 413, 422),
)
def update_intervention(
    intervention_id: InterventionId,
    body: InterventionUpdate,
    principal: Analyst,
    session: SessionDep,
) -> InterventionRead:
    """Change an intervention; `area_ids` replaces its areas."""
    intervention = service.update_intervention(
        session, principal.organisation_id, intervention_id, body
    )
    return service.read(session, [intervention])[0]


@router.delete(
    "/{intervention_id}",
    operation_id="delete_intervention",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404),
)
def delete_intervention(
    intervention_id: InterventionId, principal: Analyst, session: SessionDep
) -> Response:
    """Delete an intervention."""
    service.delete_intervention(session, principal.organisation_id, intervention_id)
    return Response(status_code=204)


@router.get(
    "/{intervention_id}/evaluation",
    operation_id="evaluate_intervention",
    response_model=InterventionEvaluation,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def evaluate_intervention(
    intervention_id: InterventionId,
    principal: AnyRole,
    session: SessionDep,
    indicator: Annotated[str | None, Query(description="A named indicator's key.")] = None,
    item: Annotated[
        str | None, Query(description="An item whose favourable share is evaluated.")
    ] = None,
    comparison_area_id: Annotated[
        list[Annotated[int, Query(ge=1, le=MAX_ID)]] | None,
        Query(
            description="Comparison areas (repeat the parameter); default: the "
            "organisation's areas of the same area type without an intervention of the same "
            "category."
        ),
    ] = None,
    before: Annotated[
        str | None,
        Query(
            pattern=PERIOD_PATTERN,
            description="The period before the start. Default: the last round that closed "
            "before the start.",
        ),
    ] = None,
    after: Annotated[
        str | None,
        Query(
            pattern=PERIOD_PATTERN,
            description="The period after the start; it must come after `before`. Default: "
            "the latest closed round of the same period kind as `before` that opened on or "
            "after the start (the latest open one while none has closed).",
        ),
    ] = None,
    questionnaire: Annotated[
        str | None,
        Query(
            pattern=QUESTIONNAIRE_KEY_PATTERN,
            description="The survey (questionnaire key) whose rounds are compared; `before` "
            "and `after` are looked up within it. An unknown key is 404. Default: the only "
            "survey whose rounds carry the target, else, among the surveys that can be "
            "evaluated here (comparable rounds covering a treated and a comparison area, one "
            "before and one after the start), the one with the most such rounds (ties: the one "
            "whose latest round is the latest); if none can, the one with the most rounds "
            "carrying the target. Surveys are never mixed.",
        ),
    ] = None,
) -> InterventionEvaluation:
    """Difference-in-differences for an indicator: the four cells with their n, the estimate
    and its 95 % interval, the pre-trend, the comparison areas used, and why it is not proof.
    Every cell comes from one survey's rounds (`questionnaire_key`): surveys are never mixed;
    `period_note` says which survey and how to choose another."""
    if (indicator is None) == (item is None):
        raise ValidationFailed(
            "give exactly one of indicator and item",
            errors=[{"loc": ["query", "indicator"], "msg": "indicator or item", "type": "target"}],
        )
    target = Target("indicator", indicator) if indicator else Target("item", item or "")
    return evaluation.evaluate(
        session,
        principal.organisation_id,
        intervention_id,
        target=target,
        comparison_area_ids=comparison_area_id,
        before_period=before,
        after_period=after,
        questionnaire=questionnaire,
    )
