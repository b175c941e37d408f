"""The console's area overview: one area, one period, every survey with a round there side by
side (the API's GET /areas/{id}/overview, written the Swedish way).

Figures come from results.overview, the service the API calls, and are written like the
results pages' key figures tables (templates/results/_macros.html figures_table): a value, its
95 % interval and n, "fewer than N" for a suppressed cell, the reason for an unavailable one.
"""

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from survey_api.benchmarks.cells import BenchmarkCell, SuppressedCell
from survey_api.console.results.common import shown_responses
from survey_api.models import Area
from survey_api.organisations import service as organisations_service
from survey_api.presentation import formatting
from survey_api.reports.benchmark_column import Beside, beside
from survey_api.reports.labels import unavailable_key
from survey_api.reports.service import FigureRow
from survey_api.results import overview as overview_service
from survey_api.results.overview_schemas import (
    AreaOverview,
    OverviewBenchmark,
    OverviewIndex,
    OverviewIndicator,
    OverviewRound,
    OverviewSurvey,
)
from survey_api.results.schemas import Statistic
from survey_api.results.targets import Target
from survey_api.rounds.schemas import PERIOD_PATTERN


@dataclass(frozen=True)
class RoundColumn:
    """One round of a survey: its facts and key figures for the area."""

    id: int
    name: str
    status: str
    source: str
    open_date: str
    close_date: str
    responses: str | None  # None: suppressed
    response_rate: str | None
    as_of: str
    rows: list[FigureRow]
    # The benchmark of the area's type beside each row; None: no column (the area has no
    # area type for the round's year, or no figure of the round has a benchmark).
    beside: Beside | None = None


@dataclass(frozen=True)
class SurveyColumn:
    """A questionnaire with its rounds in the period."""

    id: int
    key: str
    name: str
    rounds: list[RoundColumn]


@dataclass(frozen=True)
class OverviewPage:
    """What the page shows: the periods to pick from, the one shown and its surveys."""

    periods: list[str]
    period: str | None  # None: no round includes the area at all
    min_cell: int
    surveys: list[SurveyColumn]
    benchmark_opt_in: bool = False  # whether the organisation takes part in the benchmark

    @property
    def has_benchmark(self) -> bool:
        """Whether any round shows the benchmark column (the page then says what it is)."""
        return any(r.beside is not None for s in self.surveys for r in s.rounds)


def _share_row(cell: OverviewIndicator, lang: str) -> FigureRow:
    if cell.unavailable_reason is not None:
        return FigureRow(
            cell.label, None, None, None, False, unavailable_key(cell.unavailable_reason)
        )
    if cell.suppressed or cell.share is None:
        return FigureRow(cell.label, None, None, None, False)
    share = cell.share
    return FigureRow(
        cell.label,
        formatting.percent(share.p, lang),
        formatting.percent_range(share.low, share.high, lang),
        None if cell.n is None else formatting.number(cell.n, lang),
        share.low_precision,
    )


def _index_row(cell: OverviewIndex, lang: str) -> FigureRow:
    if cell.unavailable_reason is not None:
        return FigureRow(
            cell.label, None, None, None, False, unavailable_key(cell.unavailable_reason)
        )
    if cell.suppressed or cell.index is None:
        return FigureRow(cell.label, None, None, None, False)
    figure = cell.index
    interval = None
    if figure.low is not None and figure.high is not None:
        interval = formatting.number_range(figure.low, figure.high, lang)
    n = None if cell.n is None else formatting.number(cell.n, lang)
    return FigureRow(cell.label, formatting.number(figure.index, lang), interval, n, False)


def _beside(entry: OverviewRound, lang: str) -> Beside | None:
    """The column "Areas of the same type in other companies": each row's cell for the area's
    own type (its classification for the round's year)."""
    cells: dict[Target, tuple[Statistic | None, BenchmarkCell | SuppressedCell] | None] = {}
    figures: list[tuple[Target, OverviewBenchmark]] = [
        (Target("indicator", cell.key), cell.benchmark) for cell in entry.indicators
    ] + [(Target("index", cell.key), cell.benchmark) for cell in entry.indices]
    for target, benchmark in figures:
        key = benchmark.area_type_cell
        if key is None:
            return None  # no area type: no "areas of the same type"
        cells[target] = None if benchmark.reason else (benchmark.statistic, benchmark.cells[key])
    if all(cell is None for cell in cells.values()):
        return None
    return beside([target for target, _ in figures], lang, cells)


def _round_column(entry: OverviewRound, lang: str) -> RoundColumn:
    responses, response_rate = shown_responses(entry.responses, lang)
    return RoundColumn(
        id=entry.survey_round_id,
        name=entry.name,
        status=entry.status,
        source=entry.source,
        open_date=entry.open_date.isoformat(),
        close_date=entry.close_date.isoformat(),
        responses=responses,
        response_rate=response_rate,
        as_of=entry.as_of.strftime("%Y-%m-%d"),
        rows=[_share_row(cell, lang) for cell in entry.indicators]
        + [_index_row(cell, lang) for cell in entry.indices],
        beside=_beside(entry, lang),
    )


def _survey_column(survey: OverviewSurvey, lang: str) -> SurveyColumn:
    name = (
        survey.name.get(lang)
        or survey.name.get(survey.default_language)
        or survey.questionnaire_key
    )
    return SurveyColumn(
        id=survey.questionnaire_id,
        key=survey.questionnaire_key,
        name=name,
        rounds=[_round_column(entry, lang) for entry in survey.rounds],
    )


def overview_page(
    session: Session, organisation_id: int, area: Area, period: str | None, lang: str
) -> OverviewPage:
    """The page's content for the period asked, else the newest period with a round (the
    service's own default)."""
    if period is not None and re.fullmatch(PERIOD_PATTERN, period) is None:
        period = None  # not written like a period (a hand-edited address): the newest one
    overview: AreaOverview = overview_service.area_overview(
        session, organisation_id, area.id, period, language=lang
    )
    return OverviewPage(
        periods=overview.available_periods,
        period=overview.period,
        min_cell=overview.min_cell_size,
        surveys=[_survey_column(survey, lang) for survey in overview.surveys],
        benchmark_opt_in=organisations_service.get_organisation(
            session, organisation_id
        ).benchmark_opt_in,
    )
