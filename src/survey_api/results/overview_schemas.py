"""The area overview's payload: one area, one period, every survey with a round in it.

Figures reuse the round results' shapes (:mod:`survey_api.results.schemas`): a cell carries
``suppressed`` and, when suppressed, null in every figure, so it serialises the same whatever
its true n. Each figure is the very one ``GET /rounds/{id}/results`` gives for the area.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from survey_api.benchmarks.cells import BenchmarkFigure
from survey_api.languages import LanguageCode
from survey_api.questionnaires.document import Orientation
from survey_api.results.schemas import (
    SOURCE,
    UNAVAILABLE,
    IndexFigure,
    ResponseFigures,
    ShareFigure,
    Statistic,
)
from survey_api.rounds.schemas import RoundSource, RoundStatus

OVERVIEW_METHOD = (
    "Each survey round's figures for the area are exactly those of GET /rounds/{id}/results "
    "for that area: shares with Wilson 95 % intervals, composite indices with the t-interval, "
    "cells whose valid n is below min_cell_size suppressed (only suppressed: true). Surveys "
    "with a round in the period are listed by questionnaire key, their rounds by open date. "
    "Each indicator and index has `benchmark`: GET /benchmarks' cells for the area's own area "
    "type and police class in the round's period, or why there is none (the target is not in "
    "a standard questionnaire, or the round's version defines it differently)."
)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class OverviewBenchmark(_Out):
    """The benchmark cells for the area's own area type and police class (the round's
    classification year), in the round's period."""

    statistic: Statistic | None = Field(
        description="What the cells' `value` is; null when there is no benchmark."
    )
    standard_questionnaire: str | None
    reason: str | None = Field(
        description="Null when there is a benchmark; otherwise why not (not in a standard "
        "questionnaire, or defined differently in this round, so not comparable)."
    )
    area_type_cell: str | None = Field(
        description="The key of the cell for the area's type, area_type:<1-5>; null when the "
        "area has no area type for the round's year."
    )
    police_cell: str | None = Field(
        description="The key of the cell for the area's police class, police:<class>; null "
        "when the area has none for the round's year."
    )
    cells: dict[str, BenchmarkFigure] = Field(
        description="Those cells by key, as GET /benchmarks gives them; empty when `reason` is set."
    )


class OverviewIndicator(_Out):
    """A named indicator of the questionnaire in the area: a share with its Wilson interval."""

    key: str
    label: str = Field(description="The indicator's label in the survey's `label_language`.")
    item: str = Field(description="The item the share is taken over.")
    codes: list[int] = Field(description="The answer codes counted in the share.")
    suppressed: bool
    n: int | None = Field(description="The valid base of the indicator's item.")
    share: ShareFigure | None = Field(description="The share; null when suppressed.")
    unavailable_reason: str | None = Field(default=None, description=UNAVAILABLE)
    benchmark: OverviewBenchmark = Field(
        description="The benchmark across opted-in organisations for the area's own area type "
        "and police class, in the round's period (GET /benchmarks' cells)."
    )


class OverviewIndex(_Out):
    """A composite index of the questionnaire in the area (0–100, t-interval)."""

    key: str
    label: str = Field(description="The index's label in the survey's `label_language`.")
    orientation: Orientation
    suppressed: bool
    n: int | None = Field(
        description="Respondents who answered at least half of the index's components."
    )
    index: IndexFigure | None = Field(description="The index; null when suppressed.")
    unavailable_reason: str | None = Field(default=None, description=UNAVAILABLE)
    benchmark: OverviewBenchmark = Field(
        description="The benchmark across opted-in organisations for the area's own area type "
        "and police class, in the round's period (GET /benchmarks' cells)."
    )


class OverviewRound(_Out):
    """One round of the survey in the period, with the area's figures in it."""

    survey_round_id: int
    name: str
    period: str
    status: RoundStatus
    source: RoundSource = Field(description=SOURCE)
    open_date: date
    close_date: date
    questionnaire_version_id: int
    questionnaire_version_number: int
    as_of: datetime = Field(description="Every response committed before this instant is included.")
    pending: int | None = Field(
        description="Code answers waiting to join a batch, not included yet: round-wide (in all "
        "the round's areas, not only this one), as `pending_responses` on the round. Null when "
        "suppressed (see `pending_suppressed`)."
    )
    pending_suppressed: bool = Field(
        description="True when `pending` is hidden (null): fewer than `min_cell_size` answers "
        "are waiting (0 included), a small cell in a round of few areas."
    )
    responses: ResponseFigures = Field(
        description="The area's respondents, suppressed like a cell."
    )
    indicators: list[OverviewIndicator] = Field(
        description="Every named indicator of the round's questionnaire version, in its order."
    )
    indices: list[OverviewIndex] = Field(
        description="Every composite index of the round's questionnaire version, in its order."
    )


class OverviewSurvey(_Out):
    """A questionnaire with at least one round in the period that includes the area."""

    questionnaire_id: int
    questionnaire_key: str
    name: dict[str, str] = Field(
        description="The questionnaire's name in every language its (newest) version has."
    )
    default_language: LanguageCode = Field(description="The definition's default language.")
    label_language: LanguageCode = Field(
        description="The language of the labels: the one asked if the questionnaire has it, "
        "else its default language."
    )
    rounds: list[OverviewRound] = Field(
        description="The rounds in the period (more than one after a re-run), by open date."
    )


class AreaOverview(_Out):
    """One area and one period: every survey with a round there, side by side."""

    area_id: int
    code: str
    name: str
    period: str | None = Field(
        description="The period shown: the one asked for, else the newest of "
        "`available_periods`; null only when no round includes the area."
    )
    language: LanguageCode | None = Field(description="The label language asked for, if any.")
    min_cell_size: int = Field(description="Cells with a smaller valid n are suppressed.")
    available_periods: list[str] = Field(
        description="Every period in which a round of the organisation includes the area, "
        "newest first."
    )
    surveys: list[OverviewSurvey] = Field(
        description="Empty when no round in the period includes the area."
    )
    method: str = Field(description="Where the figures come from, in brief.")
