"""The round's areas side by side for one item, indicator or index."""

import math
from dataclasses import dataclass
from typing import Any, Literal, cast

from fastapi import APIRouter, Request, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from survey_api.console.auth import SessionDep, Staff
from survey_api.console.rendering import (
    ConsoleRoute,
    page_language,
    render,
)
from survey_api.console.results.common import definition_of, round_of, survey_name
from survey_api.models import SurveyRound
from survey_api.organisations import service as organisations_service
from survey_api.presentation import charts, formatting
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.reports.labels import unavailable_key
from survey_api.results import service as results_service
from survey_api.results.schemas import PooledGroup, TargetKind
from survey_api.results.service import Target
from survey_api.staff.service import StaffPrincipal

router = APIRouter(prefix="/results", route_class=ConsoleRoute)


# --- areas side by side ------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareRow:
    """An area's or a pooled group's figure for the chosen target (value None: suppressed)."""

    label: str
    area_id: int | None
    value: str | None
    interval: str | None
    n: str | None
    low_precision: bool
    areas: int | None  # pooled groups: how many areas
    kind: str | None  # pooled groups: organisation, area_type or police
    group_value: str | None
    unweighted: bool
    point: charts.IntervalRow
    # Why the figure is unavailable (a reason key of reports/labels.py), never a suppression.
    unavailable: str | None = None


@dataclass(frozen=True)
class Comparison:
    """The chosen target's figure in every area of the round, sorted by the figure."""

    target: str
    title: str
    statistic: str
    unit: Literal["percent", "index", "mean"]
    top: float
    rows: list[CompareRow]
    organisation: CompareRow | None
    pooled: list[CompareRow]
    language: str

    def chart(self, title: str, reference: str, suppressed: str, unavailable: str) -> Markup:
        """The areas' figures with their intervals and the organisation as a dashed line."""
        shown = None
        if self.organisation is not None and self.organisation.point.value is not None:
            shown = charts.IntervalRow(reference, self.organisation.point.value)
        return Markup(
            charts.interval_chart(
                [_chart_row(row.point.label, row, unavailable) for row in self.rows],
                title=title,
                language=self.language,
                unit=self.unit,
                top=self.top,
                reference=shown,
                suppressed_text=suppressed,
            )
        )

    def pooled_chart(
        self, title: str, labels: list[str], suppressed: str, unavailable: str
    ) -> Markup:
        """The pooled groups' figures, labelled by the page (the same labels as its table)."""
        return Markup(
            charts.interval_chart(
                [
                    _chart_row(label, row, unavailable)
                    for label, row in zip(labels, self.pooled, strict=True)
                ],
                title=title,
                language=self.language,
                unit=self.unit,
                top=self.top,
                suppressed_text=suppressed,
            )
        )


def _chart_row(label: str, row: CompareRow, unavailable: str) -> charts.IntervalRow:
    """A row's mark: its figure, or (unavailable) no mark and the page's word for it."""
    point = row.point
    return charts.IntervalRow(
        label,
        point.value,
        point.low,
        point.high,
        missing=None if row.unavailable is None else unavailable,
    )


def _compare_targets(
    definition: QuestionnaireDefinition, lang: str
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The choices of the page's select, grouped: indicators, indices, then questions that
    have a headline figure (a favourable share, an index or a mean)."""
    questions = [
        (f"item:{item.key}", item.text.get(lang) or item.key)
        for item in definition.items
        if not item.background
        and results_service.statistic_of(definition, Target("item", item.key)) is not None
    ]
    return [
        (
            "indicators",
            [(f"indicator:{i.key}", i.label.get(lang) or i.key) for i in definition.indicators],
        ),
        ("indices", [(f"index:{i.key}", i.label.get(lang) or i.key) for i in definition.indices]),
        ("items", questions),
    ]


Figure = tuple[float, float | None, float | None, bool]  # value, low, high, low precision


def _cell_figure(statistic: str, cell: Any) -> Figure | None:
    """The headline figure of an area's or a pooled group's cell; None when suppressed."""
    if cell is None or cell.suppressed:
        return None
    if statistic == "indicator_share":
        share = cell.share
    elif statistic == "favourable_share":
        share = cell.favourable
    else:
        share = None
    if share is not None:
        return share.p, share.low, share.high, bool(share.low_precision)
    if statistic in ("composite_index", "item_index"):
        index = cell.index
        return None if index is None else (index.index, index.low, index.high, False)
    if statistic == "mean":
        mean = cell.mean
        return None if mean is None else (mean.mean, mean.low, mean.high, False)
    return None


def _cell_of(target: Target, cells: Any) -> Any:
    """The target's cell among an area's or group's items, indicators or indices."""
    found = {"item": cells.items, "indicator": cells.indicators, "index": cells.indices}
    return next((c for c in found[target.kind] if c.key == target.key), None)


def _compare_row(
    statistic: str,
    lang: str,
    label: str,
    cell: Any,
    *,
    area_id: int | None = None,
    group: PooledGroup | None = None,
) -> CompareRow:
    figure = _cell_figure(statistic, cell)
    share = statistic in ("indicator_share", "favourable_share")
    decimals = 1 if statistic == "mean" else 0
    value = interval = None
    point = charts.IntervalRow(label, None)
    if figure is not None:
        estimate, low, high, _precision = figure
        if share:
            value = formatting.percent(estimate, lang)
            interval = (
                None if low is None or high is None else formatting.percent_range(low, high, lang)
            )
            point = charts.IntervalRow(
                label,
                estimate * 100,
                None if low is None else low * 100,
                None if high is None else high * 100,
            )
        else:
            value = formatting.number(estimate, lang, decimals=decimals)
            interval = (
                None
                if low is None or high is None
                else f"{formatting.number(low, lang, decimals=decimals)}–"
                f"{formatting.number(high, lang, decimals=decimals)}"
            )
            point = charts.IntervalRow(label, estimate, low, high)
    n = None if figure is None or cell.n is None else formatting.number(cell.n, lang)
    reason = None if cell is None else getattr(cell, "unavailable_reason", None)
    return CompareRow(
        label=label,
        area_id=area_id,
        value=value,
        interval=interval,
        n=n,
        low_precision=figure is not None and figure[3],
        areas=None if group is None else len(group.area_ids),
        kind=None if group is None else group.kind,
        group_value=None if group is None else group.value,
        unweighted=figure is not None and getattr(cell, "weighting", None) == "unweighted",
        point=point,
        unavailable=unavailable_key(reason) if figure is None else None,
    )


def _comparison(
    session: Session,
    principal: StaffPrincipal,
    survey_round: SurveyRound,
    definition: QuestionnaireDefinition,
    lang: str,
    chosen: str,
    title: str,
) -> Comparison:
    kind, key = chosen.split(":", 1)
    target = Target(cast(TargetKind, kind), key)
    statistic = results_service.statistic_of(definition, target) or ""
    only: dict[str, list[str]] = {"items": [], "indicators": [], "indices": []}
    only[{"item": "items", "indicator": "indicators", "index": "indices"}[target.kind]] = [key]
    results = results_service.round_results(
        session,
        principal.organisation_id,
        survey_round.id,
        items=only["items"],
        indicators=only["indicators"],
        indices=only["indices"],
    )
    rows = [
        _compare_row(statistic, lang, area.name, _cell_of(target, area), area_id=area.area_id)
        for area in results.areas
    ]
    shown = sorted(
        (r for r in rows if r.point.value is not None),
        key=lambda r: (-(r.point.value or 0.0), r.label),
    )
    hidden = sorted((r for r in rows if r.point.value is None), key=lambda r: r.label)
    groups = [
        _compare_row(statistic, lang, group.group, _cell_of(target, group), group=group)
        for group in results.pooled
    ]
    unit: Literal["percent", "index", "mean"] = (
        "percent"
        if statistic in ("indicator_share", "favourable_share")
        else "mean"
        if statistic == "mean"
        else "index"
    )
    top = 100.0
    if unit == "mean":
        highs = [r.point.high or r.point.value or 0.0 for r in rows + groups if r.point.value]
        top = float(max(1, math.ceil(max(highs, default=1.0))))
    organisation = next((g for g in groups if g.kind == "organisation"), None)
    return Comparison(
        target=chosen,
        title=title,
        statistic=statistic,
        unit=unit,
        top=top,
        rows=shown + hidden,
        organisation=organisation,
        pooled=[g for g in groups if g.kind != "organisation"],
        language=lang,
    )


@router.get("/{round_id}/compare")
def compare_areas_page(
    request: Request, session: SessionDep, principal: Staff, round_id: str
) -> Response:
    """The round's areas side by side for one item, indicator or index (?target=kind:key):
    each area's figure with its interval, sorted, with the organisation as a reference."""
    lang = page_language(request)
    survey_round = round_of(session, principal, round_id)
    definition = definition_of(session, survey_round)
    choices = _compare_targets(definition, lang.code)
    titles = {value: text for _group, options in choices for value, text in options}
    requested = request.query_params.get("target")
    chosen = requested if requested is not None else next(iter(titles), "")
    if chosen not in titles:
        # A target this questionnaire does not have (or none at all to choose from): the form
        # again, saying so, and no figures.
        return render(
            request,
            "results/compare.html",
            lang=lang,
            status=400 if requested is not None else 200,
            round=survey_round,
            survey_name=survey_name(definition.name, lang.code),
            choices=choices,
            chosen=None,
            unknown=requested is not None,
            comparison=None,
            min_cell_size=organisations_service.min_cell_size(session, principal.organisation_id),
        )
    comparison = _comparison(
        session, principal, survey_round, definition, lang.code, chosen, titles[chosen]
    )
    return render(
        request,
        "results/compare.html",
        lang=lang,
        round=survey_round,
        survey_name=survey_name(definition.name, lang.code),
        choices=choices,
        chosen=chosen,
        unknown=False,
        comparison=comparison,
        min_cell_size=organisations_service.min_cell_size(session, principal.organisation_id),
    )
