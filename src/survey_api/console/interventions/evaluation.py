"""An intervention's evaluation page: difference-in-differences for a chosen indicator."""

from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from survey_api.console.auth import SessionDep, Staff
from survey_api.console.interventions.common import area_names, intervention_of, read_model
from survey_api.console.rendering import ConsoleRoute, page_language, render
from survey_api.exceptions import Conflict, NotFound, ValidationFailed
from survey_api.interventions import evaluation as evaluation_service
from survey_api.interventions.evaluation_schemas import EvaluationCell, InterventionEvaluation
from survey_api.organisations import service as organisations_service
from survey_api.presentation import formatting
from survey_api.questionnaires import service as questionnaires_service
from survey_api.results import queries as results_queries
from survey_api.results.service import Target

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
    """One of the four cells, ready to show; `share` is None when suppressed."""

    period: str
    n: str | None
    share: str | None
    interval: str | None
    weighting: str | None


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
        return CellView(cell.period, None, None, None, None)
    return CellView(
        period=cell.period,
        n=formatting.number(cell.n or 0, lang),
        share=formatting.percent(cell.p, lang),
        interval=formatting.percent_range(cell.low, cell.high, lang),
        weighting=cell.weighting,
    )


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
            )
        except (NotFound, Conflict, ValidationFailed) as refused:
            problem, status = refused.detail, refused.status_code
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
        result=result,
        problem=problem,
        cells=_cells(result, lang.code) if result else {},
        did=result.did if result else None,
        points=lambda value: points(value, lang.code),
        min_cell_size=organisation.min_cell_size,
        treated=[names[a] for a in read.area_ids if a in names],
        comparison=[names[a] for a in (result.comparison_area_ids if result else []) if a in names],
        default_comparison=result is not None and result.comparison_rule != "chosen by the caller",
    )
