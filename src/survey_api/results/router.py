"""Results routes: a round's figures and a series across rounds."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import Field, StringConstraints

from survey_api.auth.dependencies import Admin, AnyRole, SessionDep
from survey_api.exceptions import problem_responses
from survey_api.ids import MAX_ID
from survey_api.results import entries, own_benchmark, service
from survey_api.results.schemas import RoundEntries, RoundResults, TrendSeries
from survey_api.rounds.schemas import QUESTIONNAIRE_KEY_PATTERN

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"

# The target of a figure across rounds or organisations (trends, benchmarks): one of these.
ItemQuery = Annotated[
    str | None,
    Query(
        description="An item: its favourable share, else its 0–100 index, else its mean.",
        pattern=KEY_PATTERN,
    ),
]
IndicatorQuery = Annotated[
    str | None, Query(description="A named indicator's share.", pattern=KEY_PATTERN)
]
IndexQuery = Annotated[
    str | None, Query(description="A composite index (0–100).", pattern=KEY_PATTERN)
]

router = APIRouter(tags=["results"])

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]


@router.get(
    "/rounds/{round_id}/results",
    operation_id="get_round_results",
    response_model=RoundResults,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def get_round_results(
    round_id: Annotated[int, Path(description="The survey round's id.", ge=1, le=MAX_ID)],
    principal: AnyRole,
    session: SessionDep,
    area_id: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None,
        Query(description="Only these areas (repeat the parameter for several)."),
    ] = None,
    item: Annotated[
        list[Key] | None,
        Query(
            description="Only these items (repeatable). With none of item, indicator and "
            "index, everything is returned.",
        ),
    ] = None,
    indicator: Annotated[
        list[Key] | None,
        Query(description="Only these named indicators (repeatable)."),
    ] = None,
    index: Annotated[
        list[Key] | None,
        Query(description="Only these composite indices (repeatable)."),
    ] = None,
    by: Annotated[
        str | None,
        Query(
            description="A background item key (e.g. aldersgrupp): adds a breakdown per area, "
            "with groups for each code and -1 (not answered), suppressed so that no hidden "
            "group can be derived. A round of imported answer counts (source "
            "imported_tallies) has no breakdowns: 409.",
            pattern=KEY_PATTERN,
        ),
    ] = None,
    benchmark: Annotated[
        bool,
        Query(
            description="Add `benchmark`: beside each pooled group of an area type or a police "
            "class, the benchmark across opted-in organisations (GET /benchmarks' cell of the "
            "same key) for each item, indicator and index of the payload that is defined as in "
            "the standard questionnaire, in the round's period. Off by default (the payload "
            "is then unchanged).",
        ),
    ] = False,
) -> Response:
    """A whole round's results per area × item, with indicators, indices and pooled groups.

    Per cell: valid n, non-substantive count, distribution, favourable share (Wilson 95 %),
    mean and 0–100 index (t-interval). Cells with a valid n below the organisation's minimum
    show only `suppressed: true`. `as_of`: every response committed before it is included.
    With `benchmark=true`, the benchmark across housing companies beside the pooled groups.
    """
    # The benchmark depends on other organisations' data: attached per request, never cached.
    build = (
        own_benchmark.round_results_json_with_benchmark if benchmark else service.round_results_json
    )
    return Response(
        build(
            session,
            principal.organisation_id,
            round_id,
            area_ids=area_id,
            items=item,
            indicators=indicator,
            indices=index,
            by=by,
        ),
        media_type="application/json",
    )


@router.get(
    "/results/trends",
    operation_id="get_trends",
    response_model=TrendSeries,
    responses=problem_responses(401, 403, 404, 422),
)
def get_trends(
    principal: AnyRole,
    session: SessionDep,
    area_id: Annotated[int | None, Query(description="An area's series.", ge=1, le=MAX_ID)] = None,
    group: Annotated[
        str | None,
        Query(
            description="A group's series: organisation, area_type:<1-5> or police:<none|"
            "utsatt|risk|sarskilt_utsatt> (classification of each round's year).",
            pattern=r"^(organisation|area_type:[1-5]|police:[a-z_]+)$",
        ),
    ] = None,
    item: ItemQuery = None,
    indicator: IndicatorQuery = None,
    index: IndexQuery = None,
    questionnaire: Annotated[
        str | None,
        Query(
            description="Only the rounds of this survey (questionnaire key, e.g. "
            "trygghetsmatning-standard); an unknown key is 404. Default: every survey whose "
            "rounds carry the target.",
            pattern=QUESTIONNAIRE_KEY_PATTERN,
        ),
    ] = None,
) -> TrendSeries:
    """An area's or group's series across periods for an item, indicator or index.

    Each point has n, the estimate and its 95 % interval (hidden when suppressed), the survey
    it comes from (`questionnaire_key`) and the change against the previous point of the same
    survey with `significant`. Points are in time order: by period, then the round's open date,
    close date and id. Without `questionnaire` the series spans every survey whose rounds carry
    the target (surveys that share an item by key, such as a trygghetsmätning and a kundenkät):
    their points are interleaved to be read side by side, but every change stays a change
    between two periods of one survey, never a difference between two surveys. Each survey's
    series breaks where its questionnaire versions are not comparable (`breaks` says why);
    a segment holds the comparable points of one survey.
    """
    target = service.target_of(item=item, indicator=indicator, index=index)
    return service.trend(
        session,
        principal.organisation_id,
        target,
        area_id=area_id,
        group=group,
        questionnaire=questionnaire,
    )


@router.get(
    "/rounds/{round_id}/results/entries",
    operation_id="get_round_entries",
    response_model=RoundEntries,
    responses=problem_responses(401, 403, 404, 422),
)
def get_round_entries(
    round_id: Annotated[int, Path(description="The survey round's id.", ge=1, le=MAX_ID)],
    principal: Admin,
    session: SessionDep,
) -> RoundEntries:
    """Answers per way in (code, area link, API) for each area, and days of link bursts.

    For an admin to judge area-link answers, which can be sent more than once: compare them
    with code answers, and look at days flagged as bursts. Counts are suppressed like a
    breakdown of the area's responses; a burst day is a flag, never a count.
    """
    return entries.round_entries(session, principal.organisation_id, round_id)
