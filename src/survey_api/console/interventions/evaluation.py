"""An intervention's evaluation page: difference-in-differences for a chosen indicator."""

from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from survey_api.console.auth import SessionDep, Staff
from survey_api.console.interventions.common import area_names, intervention_of, read_model
from survey_api.console.rendering import ConsoleRoute, page_language, render
from survey_api.exceptions import Conflict, NotFound, ValidationFailed
from survey_api.interventions import evaluation as evaluation_service
from survey_api.interventions.evaluation_schemas import (
    Estimate,
    EvaluationCell,
    InterventionEvaluation,
)
from survey_api.organisations import service as organisations_service
from survey_api.presentation import formatting
from survey_api.questionnaires import service as questionnaires_service
from survey_api.reports.labels import unavailable_key
from survey_api.results import queries as results_queries
from survey_api.results.service import Target
from survey_api.rounds import service as rounds_service

router = APIRouter(prefix="/interventions", route_class=ConsoleRoute)

DEFAULT_INDICATOR = "andel_otrygga_kvall"


def points(value: float, language: str) -> str:
    """A difference of shares in percentage points, one decimal, signed: "+3,5", "−8,1"."""
    shown = formatting.number(abs(value) * 100, language, decimals=1)
    if shown == formatting.number(0, language, decimals=1):
        return shown
    return ("+" if value > 0 else "\u2212") + shown


# --- the evaluation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """An indicator or item to evaluate: its select value and its label."""

    value: str
    label: str


@dataclass(frozen=True)
class CellView:
    """One of the four cells, ready to show; `share` is None when suppressed or unavailable.
    `unavailable` is the key of why the round's data cannot give the share (a round of answer
    counts only: reports/labels.py unavailable_key), so the page never shows it as "fewer than
    N"; `source` says where the round's data came from."""

    period: str
    n: str | None
    share: str | None
    interval: str | None
    weighting: str | None
    source: str = "collected"
    unavailable: str | None = None


@dataclass(frozen=True)
class PreTrendView:
    """A pre-trend row: its estimate, or why there is none (a cell unavailable in `period`,
    keyed as `unavailable`; else a suppressed cell)."""

    from_period: str
    to_period: str
    estimate: Estimate | None
    period: str | None = None
    unavailable: str | None = None


@dataclass(frozen=True)
class History:
    """A round of the evaluation whose data were not collected through the service."""

    period: str
    source: str


def _measures(
    session: Session, organisation_id: int, lang: str
) -> tuple[list[Measure], list[Measure], list[str]]:
    """Indicators and items with favourable codes in the organisation's questionnaires (latest
    round first), and the periods of its rounds."""
    indicators: dict[str, Measure] = {}
    items: dict[str, Measure] = {}
    rounds = results_queries.rounds_of_organisation(session, organisation_id)
    seen_versions: set[int] = set()
    for survey_round in reversed(rounds):
        if survey_round.questionnaire_version_id in seen_versions:
            continue
        seen_versions.add(survey_round.questionnaire_version_id)
        definition = questionnaires_service.published_definition(
            session, survey_round.questionnaire_version_id
        )
        for indicator in definition.indicators:
            label = _in(indicator.label, lang) or indicator.key
            indicators.setdefault(indicator.key, Measure(f"indicator:{indicator.key}", label))
        for item in definition.items:
            if item.favourable:
                label = _in(item.text, lang) or item.key
                items.setdefault(item.key, Measure(f"item:{item.key}", label))
    periods = sorted({r.period for r in rounds}, reverse=True)
    return list(indicators.values()), list(items.values()), periods


def _surveys(session: Session, organisation_id: int, lang: str) -> list[Measure]:
    """The questionnaires (surveys) with rounds, as choices: value = key, label = name."""
    rounds = results_queries.rounds_of_organisation(session, organisation_id)
    found = rounds_service.questionnaires_of_versions(
        session, {r.questionnaire_version_id for r in rounds}
    )
    named = {q.key: _in(q.name, lang) or q.key for q in found.values()}
    return [Measure(key, named[key]) for key in sorted(named)]


def _in(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or texts.get("sv") or next(iter(texts.values()), "")


def _target(value: str, indicators: list[Measure], items: list[Measure]) -> Target | None:
    """The chosen measure, else andel_otrygga_kvall if offered, else the first one."""
    offered = [m.value for m in (*indicators, *items)]
    if value not in offered:
        default = f"indicator:{DEFAULT_INDICATOR}"
        value = default if default in offered else next(iter(offered), "")
    if not value:
        return None
    kind, _, key = value.partition(":")
    return Target("indicator" if kind == "indicator" else "item", key)


def _cell_view(cell: EvaluationCell | None, lang: str) -> CellView | None:
    if cell is None:
        return None
    if cell.suppressed or cell.p is None or cell.low is None or cell.high is None:
        unavailable = unavailable_key(cell.unavailable_reason)
        return CellView(cell.period, None, None, None, None, cell.source, unavailable)
    return CellView(
        period=cell.period,
        n=formatting.number(cell.n or 0, lang),
        share=formatting.percent(cell.p, lang),
        interval=formatting.percent_range(cell.low, cell.high, lang),
        weighting=cell.weighting,
        source=cell.source,
    )


def _pre_trend(result: InterventionEvaluation) -> list[PreTrendView]:
    """The pre-trend rows, each without an estimate saying whether a cell of its two rounds is
    unavailable (and which round's) or only too small to show."""
    views = []
    for pre in result.pre_trend:
        missing = next(
            (
                c
                for c in result.cells
                if c.period in (pre.from_period, pre.to_period) and c.unavailable_reason is not None
            ),
            None,
        )
        views.append(
            PreTrendView(
                from_period=pre.from_period,
                to_period=pre.to_period,
                estimate=pre.estimate,
                period=missing.period if pre.estimate is None and missing else None,
                unavailable=(
                    unavailable_key(missing.unavailable_reason)
                    if pre.estimate is None and missing
                    else None
                ),
            )
        )
    return views


def _history(result: InterventionEvaluation) -> list[History]:
    """The evaluation's rounds that were imported, oldest first, for the page's † note."""
    found = {c.period: c.source for c in result.cells if c.source != "collected"}
    return [History(period, source) for period, source in sorted(found.items())]


def _unavailable_period(cells: dict[str, CellView | None]) -> str | None:
    """The first period among the four cells whose share the data cannot give."""
    return next((c.period for c in cells.values() if c is not None and c.unavailable), None)


def _cells(result: InterventionEvaluation, lang: str) -> dict[str, CellView | None]:
    found = {(c.role, c.when): c for c in result.cells}
    return {
        f"{role}_{when}": _cell_view(found.get((role, when)), lang)
        for role in ("treated", "comparison")
        for when in ("before", "after")
    }


@router.get("/{intervention_id}/evaluation")
def evaluation_page(
    request: Request, session: SessionDep, principal: Staff, intervention_id: str
) -> Response:
    """Difference-in-differences for a chosen indicator: the four cells, the estimate with its
    interval, the pre-trend, the comparison areas, the periods and why it is not proof."""
    lang = page_language(request)
    intervention = intervention_of(session, principal, intervention_id)
    read = read_model(session, intervention)
    indicators, items, periods = _measures(session, principal.organisation_id, lang.code)
    chosen = request.query_params.get("measure", "")
    target = _target(chosen, indicators, items)
    before = request.query_params.get("before") or None
    after = request.query_params.get("after") or None
    before = before if before in periods else None
    after = after if after in periods else None
    surveys = _surveys(session, principal.organisation_id, lang.code)
    survey = request.query_params.get("questionnaire") or None
    survey = survey if survey in {s.value for s in surveys} else None
    organisation = organisations_service.get_organisation(session, principal.organisation_id)
    result: InterventionEvaluation | None = None
    problem: str | None = None
    status = 200
    if target is None:
        problem = "no survey round of yours has an indicator or an item to evaluate"
        status = 409
    else:
        try:
            result = evaluation_service.evaluate(
                session,
                principal.organisation_id,
                read.id,
                target=target,
                before_period=before,
                after_period=after,
                questionnaire=survey,
            )
        except (NotFound, Conflict, ValidationFailed) as refused:
            problem, status = refused.detail, refused.status_code
    cells = _cells(result, lang.code) if result else {}
    history = _history(result) if result else []
    names = area_names(
        session,
        principal.organisation_id,
        [*read.area_ids, *(result.comparison_area_ids if result else [])],
    )
    return render(
        request,
        "interventions/evaluation.html",
        lang=lang,
        status=status,
        intervention=read,
        indicators=indicators,
        items=items,
        periods=periods,
        chosen=f"{target.kind}:{target.key}" if target else "",
        before=before or "",
        after=after or "",
        surveys=surveys,
        survey=survey or "",
        result=result,
        problem=problem,
        cells=cells,
        did=result.did if result else None,
        unavailable_period=_unavailable_period(cells),
        pre_trend=_pre_trend(result) if result else [],
        history=history,
        historical={h.period for h in history},
        points=lambda value: points(value, lang.code),
        min_cell_size=organisation.min_cell_size,
        treated=[names[a] for a in read.area_ids if a in names],
        comparison=[names[a] for a in (result.comparison_area_ids if result else []) if a in names],
        default_comparison=result is not None and result.comparison_rule != "chosen by the caller",
    )
