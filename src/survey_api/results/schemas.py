"""Results payloads.

Suppression (DESIGN.md, Privacy) is built into the shapes: every cell has ``suppressed`` and
every figure of a cell is nullable. A suppressed cell carries ``suppressed: true`` and null in
every other field, so it serialises identically whatever its true n (0 included).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from survey_api.benchmarks.cells import BenchmarkFigure
from survey_api.questionnaires.document import Orientation
from survey_api.rounds.schemas import RoundQuestionnaire, RoundSource

Weighting = Literal["households", "unweighted"]
TargetKind = Literal["item", "indicator", "index"]
Statistic = Literal["favourable_share", "item_index", "mean", "indicator_share", "composite_index"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


UNAVAILABLE = (
    "Null when every figure is available. Otherwise why the null figures cannot be computed "
    "from this round's data, never guessed: a round imported as answer counts only (source "
    "imported_tallies) has no composite indices, and a multi-choice item's shares need the "
    "number of respondents who answered it. Not a suppression: `suppressed` stays false."
)
SOURCE = (
    "Where the round's data came from: collected (through this service), imported (a "
    "historical round imported response by response) or imported_tallies (a historical round "
    "of which only answer counts per area, item and option were imported)."
)


# --- figures ----------------------------------------------------------------------------------


class ShareFigure(_Out):
    """A share p = x / n of the valid base with its Wilson 95 % interval."""

    x: int = Field(description="Respondents in the set of codes.")
    p: float = Field(description="The share, 0–1.")
    low: float
    high: float
    low_precision: bool = Field(description="The interval's half-width exceeds 10 points.")


class MeanFigure(_Out):
    """Mean score over valid answers with its t-interval (sample SD)."""

    mean: float
    sd: float | None
    low: float | None
    high: float | None


class IndexFigure(_Out):
    """A 0–100 index with its (transformed) 95 % interval."""

    index: float
    low: float | None
    high: float | None


class OptionFigure(_Out):
    """One option's count; its share of the valid base n (null for non-substantive options,
    which are excluded from every share)."""

    code: int
    substantive: bool
    count: int
    share: float | None


class PooledShareFigure(_Out):
    """A share pooled over areas: household-weighted (normal interval) or unweighted (Wilson)."""

    p: float
    low: float
    high: float
    low_precision: bool = Field(description="The interval's half-width exceeds 10 points.")


class PooledMeanFigure(_Out):
    """A mean score pooled over areas with its 95 % interval."""

    mean: float
    low: float | None
    high: float | None


# --- cells ------------------------------------------------------------------------------------


class ItemCell(_Out):
    """An item's figures in one cell; all null except ``suppressed`` when suppressed."""

    suppressed: bool
    n: int | None = Field(description="Valid base: respondents with a substantive answer.")
    non_substantive: int | None = Field(description="Answers such as 'Vet inte', not in n.")
    distribution: list[OptionFigure] | None
    favourable: ShareFigure | None = Field(
        description="Share of n in the item's favourable codes; null if it has none."
    )
    mean: MeanFigure | None = Field(description="Mean score; null for unscored items.")
    index: IndexFigure | None = Field(
        description="100·(mean − min score)/(max score − min score); null for unscored items."
    )
    unavailable_reason: str | None = Field(default=None, description=UNAVAILABLE)


class ItemGroup(ItemCell):
    """An item's figures in one breakdown group."""

    code: int = Field(description="The background item's answer code; -1 = not answered.")


class ItemResult(ItemCell):
    """An item's figures in an area, with its breakdown when ``by`` was given."""

    key: str
    kind: str
    breakdown: list[ItemGroup] | None


class IndicatorCell(_Out):
    """A named indicator in one cell."""

    suppressed: bool
    n: int | None = Field(description="The valid base of the indicator's item.")
    share: ShareFigure | None
    unavailable_reason: str | None = Field(default=None, description=UNAVAILABLE)


class IndicatorGroup(IndicatorCell):
    """An indicator in one breakdown group."""

    code: int = Field(description="The background item's answer code; -1 = not answered.")


class IndicatorResult(IndicatorCell):
    """A named indicator in an area."""

    key: str
    item: str
    codes: list[int]
    breakdown: list[IndicatorGroup] | None


class CompositeCell(_Out):
    """A composite index in one cell."""

    suppressed: bool
    n: int | None = Field(
        description="Respondents who answered at least half of the index's components."
    )
    index: IndexFigure | None
    unavailable_reason: str | None = Field(default=None, description=UNAVAILABLE)


class CompositeGroup(CompositeCell):
    """A composite index in one breakdown group."""

    code: int = Field(description="The background item's answer code; -1 = not answered.")


class CompositeResult(CompositeCell):
    """A composite index in an area."""

    key: str
    orientation: Orientation
    breakdown: list[CompositeGroup] | None


class ResponseFigures(_Out):
    """Responses and the response rate of an area (suppressed like any cell)."""

    suppressed: bool
    responses: int | None
    invitations_issued: int
    households: int | None
    response_rate: float | None = Field(
        description="Responses / invitations issued; or / households when no invitations were "
        "issued or when more responses came than invitations were issued (answers through an "
        "area link, paper and phone uploads: the invitations are then not who answered); "
        "null when neither base is known."
    )
    rate_base: Literal["invitations", "households"] | None = Field(
        description="Which of the two the rate is a share of."
    )


class AreaResults(_Out):
    """Every figure of one area in a round."""

    area_id: int
    code: str
    name: str
    households: int | None
    area_type: int | None = Field(description="Area type 1–5 for the round's year.")
    police_classification: str | None
    classification_year: int | None = Field(
        description="The classification year used: the round's year, else the latest earlier."
    )
    responses: ResponseFigures
    items: list[ItemResult]
    indicators: list[IndicatorResult]
    indices: list[CompositeResult]


class PooledCell(_Out):
    """Common fields of a pooled cell."""

    suppressed: bool
    n: int | None = Field(description="Respondents over the pooled areas.")
    areas: int | None = Field(description="Number of areas pooled.")
    weighting: Weighting | None
    note: str | None = Field(description="Why weighting fell back, or which areas are left out.")
    unavailable_reason: str | None = Field(default=None, description=UNAVAILABLE)


class PooledItemResult(PooledCell):
    """An item pooled over a group of areas."""

    key: str
    kind: str
    favourable: PooledShareFigure | None
    mean: PooledMeanFigure | None
    index: IndexFigure | None


class PooledIndicatorResult(PooledCell):
    """An indicator pooled over a group of areas."""

    key: str
    item: str
    share: PooledShareFigure | None


class PooledCompositeResult(PooledCell):
    """A composite index pooled over a group of areas."""

    key: str
    orientation: Orientation
    index: IndexFigure | None


class PooledGroup(_Out):
    """A group of the round's areas: the organisation, an area type or a police class."""

    group: str = Field(
        description="'organisation', 'area_type:<1-5>' or 'police:<classification>'; "
        "the same spelling as /results/trends?group=."
    )
    kind: Literal["organisation", "area_type", "police"]
    value: str | None
    area_ids: list[int]
    items: list[PooledItemResult]
    indicators: list[PooledIndicatorResult]
    indices: list[PooledCompositeResult]


# --- the benchmark beside the round's own figures (issue 13) -----------------------------------
#
# A cell is the very cell GET /benchmarks gives for the same target, period and key
# (benchmarks/cells.py).


class BenchmarkedTarget(_Out):
    """A target of the payload and whether it has a benchmark."""

    kind: TargetKind
    key: str
    statistic: Statistic | None = Field(
        description="What the benchmark's `value` is (compare it with the same figure of the "
        "round: a share's p, an index, a mean); null when there is no benchmark."
    )
    standard_questionnaire: str | None = Field(
        description="The standard questionnaire whose definition the benchmark requires; null "
        "when the target is in none."
    )
    reason: str | None = Field(
        description="Null when the target has a benchmark; otherwise why not (not in a standard "
        "questionnaire, or defined differently in this round, so not comparable)."
    )


class GroupBenchmark(_Out):
    """The benchmark cells of one pooled group, by the key of the item, indicator or index.
    Only targets with a benchmark (see `targets`) are keys."""

    items: dict[str, BenchmarkFigure]
    indicators: dict[str, BenchmarkFigure]
    indices: dict[str, BenchmarkFigure]


class RoundBenchmark(_Out):
    """The benchmark beside a round's pooled groups of an area type or a police class."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": "2026",
                    "organisation_opted_in": True,
                    "targets": [
                        {
                            "kind": "indicator",
                            "key": "andel_otrygga_kvall",
                            "statistic": "indicator_share",
                            "standard_questionnaire": "trygghetsmatning-standard",
                            "reason": None,
                        }
                    ],
                    "groups": {
                        "area_type:1": {
                            "items": {},
                            "indicators": {
                                "andel_otrygga_kvall": {
                                    "suppressed": False,
                                    "value": 0.41,
                                    "low": 0.37,
                                    "high": 0.45,
                                    "n": 1840,
                                    "organisations": 6,
                                    "areas": 23,
                                }
                            },
                            "indices": {},
                        },
                        "police:utsatt": {
                            "items": {},
                            "indicators": {"andel_otrygga_kvall": {"suppressed": True}},
                            "indices": {},
                        },
                    },
                    "method": "…",
                }
            ]
        }
    )

    period: str = Field(description="The round's period: the benchmark's period.")
    organisation_opted_in: bool = Field(
        description="Whether this organisation takes part (then its own areas are in the "
        "cells); any organisation may read the benchmark."
    )
    targets: list[BenchmarkedTarget] = Field(
        description="Every item (with a share, index or mean), indicator and index of the "
        "payload, in the payload's order."
    )
    groups: dict[str, GroupBenchmark] = Field(
        description="Keyed like `pooled[].group`: one entry per pooled group of kind "
        "area_type or police (the organisation group has no benchmark), each with the "
        "benchmark cell of the same key."
    )
    method: str


class RoundResults(_Out):
    """A whole round's results."""

    survey_round_id: int
    name: str
    period: str
    questionnaire_version_id: int
    questionnaire: RoundQuestionnaire = Field(
        description="The questionnaire (survey) the round belongs to: its id, key and name."
    )
    source: RoundSource = Field(description=SOURCE)
    as_of: datetime = Field(description="Every response committed before this instant is included.")
    pending: int | None = Field(
        description="Answers sent with invitation codes that wait to join a batch and are not "
        "included yet (docs/privacy.md); all of them are included once the round closes. "
        "Round-wide, and null (suppressed) below min_cell_size, 0 included: in a round of few "
        "areas a handful of waiting answers is a small cell."
    )
    min_cell_size: int = Field(description="Cells with a smaller valid n are suppressed.")
    by: str | None = Field(description="The background item of the breakdowns, if any.")
    breakdown_codes: list[int] | None = Field(
        description="The breakdown groups in order: the item's codes, then -1 (not answered)."
    )
    areas: list[AreaResults]
    pooled: list[PooledGroup]
    method: str = Field(description="How pooled groups and suppression work, in brief.")
    benchmark: RoundBenchmark | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Only with ?benchmark=true (absent otherwise): the benchmark across "
        "opted-in organisations beside each pooled group of an area type or a police class.",
    )


class AreaEntries(_Out):
    """One area's stored answers per way in; null where suppressed (a breakdown of its
    responses), and the days its link answers burst."""

    area_id: int
    suppressed: bool = Field(description="The area's responses are below the minimum cell size.")
    code: int | None = Field(description="Answers through invitation codes (released ones).")
    link: int | None = Field(description="Answers through the area link (posters).")
    api: int | None = Field(description="Answers entered through the API (paper, phone).")
    link_burst_days: list[date] = Field(
        description="Days with an unusual number of link answers (see `burst_rule`)."
    )


class RoundEntries(_Out):
    """How a round's answers came in, per area: for comparing link with code answers."""

    survey_round_id: int
    min_cell_size: int
    pending: int | None = Field(
        description="Code answers waiting to join a batch (not counted here); null (suppressed) "
        "below min_cell_size, 0 included."
    )
    burst_rule: str
    areas: list[AreaEntries]


# --- trends -----------------------------------------------------------------------------------


class ChangeFigure(_Out):
    """Change against the previous point of the series, with its 95 % interval."""

    delta: float
    low: float
    high: float
    significant: bool = Field(description="The interval excludes 0.")
    method: Literal["newcombe", "normal", "welch"]


class TrendPoint(_Out):
    """One round of a series; figures null when suppressed."""

    survey_round_id: int
    period: str
    questionnaire_version_id: int
    questionnaire_key: str = Field(description="The survey (questionnaire key) of the round.")
    questionnaire_name: dict[str, str] = Field(
        description="The survey's name in every language, as the round's version states it."
    )
    segment: int = Field(
        description="Points in the same segment are of one survey and comparable; each "
        "survey's first point and each break start a new one."
    )
    source: RoundSource = Field(description=SOURCE)
    statistic: Statistic
    suppressed: bool
    n: int | None
    estimate: float | None = Field(description="A share 0–1, or an index 0–100, or a mean.")
    low: float | None
    high: float | None
    low_precision: bool | None
    areas: int | None = Field(description="Areas pooled (groups only).")
    weighting: Weighting | None
    note: str | None
    change: ChangeFigure | None = Field(
        description="Against the previous point of the same survey; null at the start of a "
        "segment or when either point is suppressed or unavailable."
    )
    unavailable_reason: str | None = Field(default=None, description=UNAVAILABLE)


class TrendBreak(_Out):
    """Where a series breaks, and why."""

    survey_round_id: int
    period: str
    reason: str


class TrendSeries(_Out):
    """A series across the organisation's rounds in time order: by period, then the round's
    open date, close date and id."""

    area_id: int | None
    group: str | None
    questionnaire: str | None = Field(
        description="The survey (questionnaire key) the series keeps to; null: every survey "
        "whose rounds carry the target."
    )
    target: TargetKind
    key: str
    as_of: datetime = Field(description="The earliest as_of of the rounds in the series.")
    min_cell_size: int
    points: list[TrendPoint]
    breaks: list[TrendBreak]
    method: str
