"""The key figures tables' column "Områden av samma typ i andra bolag": the benchmark across
housing companies beside an area's or a pooled group's own figure, for the console and the
results page (one implementation; a fix lands on both).

Each figure comes from the results service's benchmark (:mod:`survey_api.results.own_benchmark`,
GET /benchmarks' cells), written like the row's own figure: a share as a percentage, an index
or a mean as a number, with its 95 % interval. A hidden cell is "–" with one explanation,
whatever the reason it is hidden.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from survey_api.benchmarks.cells import BenchmarkFigure, SuppressedCell
from survey_api.models import Organisation
from survey_api.presentation import formatting
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.results import own_benchmark
from survey_api.results.schemas import (
    AreaResults,
    RoundBenchmark,
    Statistic,
)
from survey_api.results.targets import Target


@dataclass(frozen=True)
class BenchmarkText:
    """A benchmark cell as a table shows it: value and interval, or None (hidden)."""

    value: str | None
    interval: str | None


@dataclass(frozen=True)
class Beside:
    """What a table's benchmark column shows per row; ``None`` in ``rows``: the row's target
    has no benchmark (not in the standard questionnaire, or asked differently)."""

    rows: list[BenchmarkText | None]

    @property
    def any_hidden(self) -> bool:
        return any(r is not None and r.value is None for r in self.rows)

    @property
    def any_missing(self) -> bool:
        return any(r is None for r in self.rows)


def benchmark_text(cell: BenchmarkFigure, statistic: Statistic | None, lang: str) -> BenchmarkText:
    """A cell in the page's language: a share as a percentage, else a number."""
    if isinstance(cell, SuppressedCell):
        return BenchmarkText(None, None)
    share = statistic in ("indicator_share", "favourable_share")
    value = formatting.percent(cell.value, lang) if share else formatting.number(cell.value, lang)
    interval = None
    if cell.low is not None and cell.high is not None:
        interval = (
            formatting.percent_range(cell.low, cell.high, lang)
            if share
            else formatting.number_range(cell.low, cell.high, lang)
        )
    return BenchmarkText(value, interval)


def key_figure_targets(definition: QuestionnaireDefinition) -> list[Target]:
    """The targets of the key figures table's rows, in its order (indicators, then indices)."""
    return [Target("indicator", i.key) for i in definition.indicators] + [
        Target("index", i.key) for i in definition.indices
    ]


def beside(
    targets: Sequence[Target],
    lang: str,
    cells: Mapping[Target, tuple[Statistic | None, BenchmarkFigure] | None],
) -> Beside:
    """The column for a key figures table whose rows are ``targets``, from each target's
    (statistic, cell); a target missing from ``cells`` (or None) has no benchmark."""
    rows: list[BenchmarkText | None] = []
    for target in targets:
        found = cells.get(target)
        rows.append(None if found is None else benchmark_text(found[1], found[0], lang))
    return Beside(rows)


_PLURAL = {"item": "items", "indicator": "indicators", "index": "indices"}


def group_column(
    block: RoundBenchmark, group: str | None, targets: Sequence[Target], lang: str
) -> Beside | None:
    """The column for a table of ``targets`` beside a pooled group or an area of the group's
    type (``group``: area_type:<n> or police:<class>); None when there is no such group or
    no target has a benchmark."""
    cells_of = None if group is None else block.groups.get(group)
    if cells_of is None:
        return None
    statistics = {(t.kind, t.key): t.statistic for t in block.targets if t.reason is None}
    cells: dict[Target, tuple[Statistic | None, BenchmarkFigure] | None] = {}
    for target in targets:
        found = getattr(cells_of, _PLURAL[target.kind]).get(target.key)
        cells[target] = (
            None if found is None else (statistics.get((target.kind, target.key)), found)
        )
    if all(cell is None for cell in cells.values()):
        return None
    return beside(targets, lang, cells)


def key_figures_benchmark(
    session: Session, organisation_id: int, round_id: int, definition: QuestionnaireDefinition
) -> RoundBenchmark:
    """The benchmark of the key figures tables' targets (indicators and indices), for every
    pooled group of an area type or police class of the round."""
    return own_benchmark.round_benchmark(
        session,
        organisation_id,
        round_id,
        items=[],
        indicators=[i.key for i in definition.indicators],
        indices=[i.key for i in definition.indices],
    )


def area_column(
    block: RoundBenchmark, definition: QuestionnaireDefinition, area: AreaResults, lang: str
) -> Beside | None:
    """The column beside an area's key figures: its area type's cells (none without a type)."""
    if area.area_type is None:
        return None
    return group_column(block, f"area_type:{area.area_type}", key_figure_targets(definition), lang)


def report_column(
    session: Session,
    organisation: Organisation,
    round_id: int,
    definition: QuestionnaireDefinition,
    area: AreaResults | None,
    lang: str,
) -> Beside | None:
    """The results page's column beside an area's key figures, only when the organisation
    takes part in the benchmark: a page anyone with the link may open shows no cross-company
    figures the organisation has not agreed to be part of."""
    if not organisation.benchmark_opt_in or area is None or area.area_type is None:
        return None
    block = key_figures_benchmark(session, organisation.id, round_id, definition)
    return area_column(block, definition, area, lang)
