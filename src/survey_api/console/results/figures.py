"""A round's results: the rounds with responses, a round's key figures per area and pooled
group (with its downloads and share links), and an area's figures, charts and breakdown."""

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from survey_api.console.auth import SessionDep, Staff
from survey_api.console.forms import all_pages, path_id
from survey_api.console.rendering import (
    ConsoleRoute,
    PageLanguage,
    page_language,
    render,
)
from survey_api.console.results.common import (
    DEFAULT_SHARE_DAYS,
    definition_of,
    round_of,
    share_link_rows,
    shown_responses,
    survey_name,
)
from survey_api.console.results.exports import export_links
from survey_api.models import SurveyRound
from survey_api.presentation import formatting
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.reports import service as reports_service
from survey_api.reports.benchmark_column import (
    Beside,
    area_column,
    group_column,
    key_figure_targets,
    key_figures_benchmark,
)
from survey_api.results import service as results_service
from survey_api.results.schemas import AreaResults, RoundBenchmark, RoundResults
from survey_api.rounds import service as rounds_service
from survey_api.rounds.schemas import SurveyRoundRead
from survey_api.staff.service import StaffPrincipal

router = APIRouter(prefix="/results", route_class=ConsoleRoute)


# --- rounds with results -----------------------------------------------------------------------


def _rounds_with_responses(session: Session, organisation_id: int) -> list[SurveyRoundRead]:
    """Rounds that can have results: every round but those not open yet. Not "rounds with
    responses": whether a round has any is a count, and a round's count is suppressed like an
    area's (0 included), so a round with none is listed like one with a few."""
    every = all_pages(
        lambda page: rounds_service.list_rounds(session, organisation_id, page), "/console/results"
    )
    return [r for r in every if r.status != "scheduled"]


@router.get("")
def results_rounds_page(request: Request, session: SessionDep, principal: Staff) -> Response:
    """The rounds that have responses, newest period first, to pick one."""
    lang = page_language(request)
    rounds = _rounds_with_responses(session, principal.organisation_id)
    return render(
        request,
        "results/list.html",
        lang=lang,
        rounds=rounds,
        survey_names={r.id: survey_name(r.questionnaire.name, lang.code) for r in rounds},
    )


# --- a round's figures -------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaFigures:
    """An area's response figures (None where suppressed) and its key figures table."""

    id: int
    code: str
    name: str
    responses: str | None
    response_rate: str | None
    households: str | None
    rows: list[reports_service.FigureRow]
    # "Areas of the same type in other companies" beside each row; None: no such column.
    beside: Beside | None = None


def area_figures(
    definition: QuestionnaireDefinition,
    lang: str,
    area: AreaResults,
    benchmark: RoundBenchmark | None = None,
) -> AreaFigures:
    """An area's facts and key figures, with the benchmark of its area type beside them."""
    beside = None if benchmark is None else area_column(benchmark, definition, area, lang)
    responses, response_rate = shown_responses(area.responses, lang)
    return AreaFigures(
        id=area.area_id,
        code=area.code,
        name=area.name,
        responses=responses,
        response_rate=response_rate,
        households=None if area.households is None else formatting.number(area.households, lang),
        rows=reports_service.key_figure_rows(definition, lang, area=area),
        beside=beside,
    )


@dataclass(frozen=True)
class PooledFigures:
    """A pooled group (the organisation, an area type, a police classification)."""

    kind: str
    value: str | None
    areas: int
    rows: list[reports_service.FigureRow]
    beside: Beside | None = None  # the benchmark of the same group; None: no such column


def round_page(
    request: Request,
    session: Session,
    principal: StaffPrincipal,
    survey_round: SurveyRound,
    *,
    lang: PageLanguage,
    status: int = 200,
    share: dict[str, Any] | None = None,
) -> Response:
    """The round\'s page; a form of it shown again gets its status and `share` values."""
    definition = definition_of(session, survey_round)
    results = results_service.round_results(session, principal.organisation_id, survey_round.id)
    benchmark = key_figures_benchmark(
        session, principal.organisation_id, survey_round.id, definition
    )
    targets = key_figure_targets(definition)
    areas = [area_figures(definition, lang.code, area, benchmark) for area in results.areas]
    pooled = [
        PooledFigures(
            group.kind,
            group.value,
            len(group.area_ids),
            reports_service.key_figure_rows(definition, lang.code, pooled=group),
            group_column(benchmark, group.group, targets, lang.code),
        )
        for group in results.pooled
    ]
    may_share = principal.role in ("admin", "analyst")
    names = {area.area_id: area.name for area in results.areas}
    links = (
        share_link_rows(session, principal.organisation_id, survey_round.id, names)
        if may_share
        else []
    )
    revoked = request.query_params.get("revoked") if request.method == "GET" else None
    return render(
        request,
        "results/round.html",
        lang=lang,
        status=status,
        round=survey_round,
        results=results,
        survey_name=survey_name(results.questionnaire.name, lang.code),
        areas=areas,
        pooled=pooled,
        has_benchmark=any(a.beside for a in areas) or any(p.beside for p in pooled),
        benchmark_opt_in=benchmark.organisation_opted_in,
        # Round-wide, yet a small cell in a round of few areas: shown from k, as on the round.
        pending=None if results.pending is None else formatting.number(results.pending, lang.code),
        exports=export_links(survey_round.id, principal),
        may_share=may_share,
        share_links=links,
        revoked=next((link for link in links if str(link.id) == revoked), None),
        csrf_token=principal.csrf_token,
        share=share
        or {
            "fields": {"area_id": "", "language": lang.code, "days": str(DEFAULT_SHARE_DAYS)},
            "errors": {},
        },
    )


@router.get("/{round_id}")
def round_results_page(
    request: Request, session: SessionDep, principal: Staff, round_id: str
) -> Response:
    """A round's key figures per area and per pooled group, with intervals and suppression."""
    survey_round = round_of(session, principal, round_id)
    return round_page(request, session, principal, survey_round, lang=page_language(request))


# --- an area -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakdownRow:
    """A figure per group of the background item: a value with its interval, or None."""

    label: str
    cells: list[tuple[str, str] | None]


def _breakdown(
    definition: QuestionnaireDefinition, lang: str, by: str, results: RoundResults
) -> dict[str, Any] | None:
    if not results.areas or results.breakdown_codes is None:
        return None
    area = results.areas[0]
    item = definition.items_by_key[by]
    groups = [
        (code, None if code == -1 else (item.option(code).label.get(lang) or str(code)))
        for code in results.breakdown_codes
    ]
    rows: list[BreakdownRow] = []
    for indicator in definition.indicators:
        found = next((i for i in area.indicators if i.key == indicator.key), None)
        by_code = {g.code: g for g in (found.breakdown or [])} if found else {}
        cells: list[tuple[str, str] | None] = []
        for code, _label in groups:
            group = by_code.get(code)
            if group is None or group.suppressed or group.share is None:
                cells.append(None)
                continue
            share = group.share
            cells.append(
                (
                    formatting.percent(share.p, lang),
                    formatting.percent_range(share.low, share.high, lang),
                )
            )
        rows.append(BreakdownRow(indicator.label.get(lang) or indicator.key, cells))
    for index in definition.indices:
        composite = next((i for i in area.indices if i.key == index.key), None)
        index_groups = {g.code: g for g in (composite.breakdown or [])} if composite else {}
        cells = []
        for code, _label in groups:
            index_group = index_groups.get(code)
            figure = None if index_group is None or index_group.suppressed else index_group.index
            if figure is None:
                cells.append(None)
                continue
            interval = (
                "–"
                if figure.low is None or figure.high is None
                else formatting.number_range(figure.low, figure.high, lang)
            )
            cells.append((formatting.number(figure.index, lang), interval))
        rows.append(BreakdownRow(index.label.get(lang) or index.key, cells))
    return {"item": item.text.get(lang) or item.key, "groups": groups, "rows": rows}


@router.get("/{round_id}/areas/{area_id}")
def area_results_page(
    request: Request, session: SessionDep, principal: Staff, round_id: str, area_id: str
) -> Response:
    """An area's key figures, distributions, trends with intervention markers, and a breakdown
    by a background item (?by=, as the API's)."""
    lang = page_language(request)
    survey_round = round_of(session, principal, round_id)
    area_number = path_id(area_id, "area")
    rounds_service.require_area(session, survey_round.id, area_number)
    definition = definition_of(session, survey_round)
    background = [
        (item.key, item.text.get(lang.code) or item.key) for item in definition.background_items
    ]
    requested = request.query_params.get("by", "")
    by = requested if requested in dict(background) else None
    # A round of imported answer counts has no breakdowns (the API answers 409): its page says
    # why instead of an error page, and offers no breakdown to choose.
    counts_only = survey_round.source == "imported_tallies"
    by_requested = counts_only and by is not None
    if counts_only:
        by = None
    results = results_service.round_results(
        session, principal.organisation_id, survey_round.id, area_ids=[area_number], by=by
    )
    area = results.areas[0]
    benchmark = key_figures_benchmark(
        session, principal.organisation_id, survey_round.id, definition
    )
    figures = area_figures(definition, lang.code, area, benchmark)
    trends = reports_service.trend_charts(
        session, principal.organisation_id, definition, lang.code, area_number
    )
    return render(
        request,
        "results/area.html",
        lang=lang,
        round=survey_round,
        results=results,
        survey_name=survey_name(results.questionnaire.name, lang.code),
        area=figures,
        benchmark_opt_in=benchmark.organisation_opted_in,
        distributions=reports_service.distribution_charts(definition, lang.code, area),
        trends=trends,
        history=reports_service.trend_history(trends),
        background=background,
        by=by,
        by_requested=by_requested,
        breakdown=_breakdown(definition, lang.code, by, results) if by else None,
    )
