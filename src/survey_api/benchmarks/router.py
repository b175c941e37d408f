"""GET /benchmarks: a target's pooled figures across opted-in organisations."""

from typing import Annotated

from fastapi import APIRouter, Query

from survey_api.auth.dependencies import AnyRole, SessionDep
from survey_api.benchmarks import service
from survey_api.benchmarks.schemas import Benchmark
from survey_api.exceptions import problem_responses
from survey_api.results.router import IndexQuery, IndicatorQuery, ItemQuery
from survey_api.results.targets import target_of
from survey_api.rounds.schemas import PERIOD_PATTERN

router = APIRouter(tags=["benchmarks"])


@router.get(
    "/benchmarks",
    operation_id="get_benchmark",
    response_model=Benchmark,
    responses=problem_responses(401, 403, 422),
)
def get_benchmark(
    principal: AnyRole,
    session: SessionDep,
    period: Annotated[
        str,
        Query(
            description="The period (YYYY, YYYY-H1/H2, YYYY-Qn or YYYY-MM).", pattern=PERIOD_PATTERN
        ),
    ],
    item: ItemQuery = None,
    indicator: IndicatorQuery = None,
    index: IndexQuery = None,
) -> Benchmark:
    """A target's figure per area type and police class across every organisation that opted
    in, from rounds in the period whose questionnaire defines the target exactly as the
    standard questionnaire does.

    Each cell pools the contributing organisations' shown areas, household-weighted, with its
    95 % interval and the number of organisations and areas behind it. A cell is shown only
    with at least 3 organisations and 5 areas, valid n at least the largest minimum cell size
    among the contributors, no organisation carrying more than 50 % of the weight and the two
    largest at most 85 % of it; otherwise it is `{"suppressed": true}` and nothing else.
    Organisations left out (a diverging questionnaire version) are counted with the reason,
    never named.
    """
    target = target_of(item=item, indicator=indicator, index=index)
    return Benchmark.model_validate(service.benchmark(session, period, target))
