"""Results: round figures, breakdowns, pooled groups and trends, computed from folded tallies.

Reusable building blocks (for interventions/DiD, exports and the results page):

* :func:`load_round` folds a round and loads its tallies into a :class:`RoundData`;
* :func:`share_counts`, :func:`mean_sums` and :func:`valid_n` read one area's sufficient
  statistics for a :class:`Target` (an item, an indicator or a composite index);
* :func:`area_share` / :func:`area_mean` give one area's suppression-aware estimate;
* :func:`pooled_share_of` / :func:`pooled_mean_of` pool a set of areas (suppression-aware,
  household-weighted per DESIGN.md) and return :mod:`statistics` objects with their variances,
  ready for :func:`statistics.difference_in_differences`;
* :func:`round_results` and :func:`trend` build the API payloads.

Every statistic comes from :mod:`survey_api.results.statistics` and every suppression decision
from :mod:`survey_api.results.suppression`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Literal

import pydantic_core
from scipy import stats as scipy_stats
from sqlalchemy.orm import Session

from survey_api.areas import service as areas_service
from survey_api.exceptions import NotFound, ValidationFailed
from survey_api.models import POLICE_CLASSIFICATIONS, Organisation, SurveyRound, utcnow
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import (
    Index,
    Indicator,
    Item,
    QuestionnaireDefinition,
    item_signature,
)
from survey_api.results import queries
from survey_api.results.fold import BASE_NON_SUBSTANTIVE, BASE_VALID, fold_round
from survey_api.results.queries import AreaInfo, CellTally, Sums
from survey_api.results.schemas import (
    ChangeFigure,
    RoundResults,
    Statistic,
    TargetKind,
    TrendBreak,
    TrendPoint,
    TrendSeries,
    Weighting,
)
from survey_api.results.statistics import (
    LOW_PRECISION_HALF_WIDTH,
    AreaCell,
    AreaMeanCell,
    Change,
    MeanEstimate,
    PooledMean,
    PooledShare,
    ShareEstimate,
    Z,
    change_from_pooled,
    composite_estimate,
    index_estimate,
    mean_estimate,
    newcombe,
    pooled_mean,
    pooled_share,
    wilson,
)
from survey_api.results.suppression import (
    effective_min_cell,
    primary_suppressed,
    suppress_breakdown,
)
from survey_api.rounds import service as rounds_service

__all__ = [
    "GroupKind",
    "PooledMeanResult",
    "PooledShareResult",
    "RoundData",
    "Target",
    "area_mean",
    "area_share",
    "group_area_ids",
    "load_round",
    "mean_sums",
    "min_cell_of",
    "parse_group",
    "pooled_mean_of",
    "pooled_share_of",
    "round_payload",
    "round_results",
    "round_results_json",
    "share_counts",
    "target_of",
    "target_signature",
    "trend",
    "valid_n",
    "welch_change",
]

ROUND_METHOD = (
    "Cells whose valid n is below min_cell_size are suppressed: only suppressed: true is shown. "
    "In a breakdown, a further group is hidden whenever a hidden group could otherwise be "
    "derived from the area's total minus the shown groups. Pooled groups use only the areas "
    "whose own cell is shown, so a pooled figure never reveals a suppressed area. Areas are "
    "weighted by households (w = H/ΣH; interval p ± z·√Σw²p(1−p)/n, clipped to 0–1); when a "
    "pooled area lacks a household count, respondents are pooled unweighted (Wilson interval) "
    "and the cell's note says so. Shares use Wilson 95 % intervals, means the t-interval."
)
TREND_METHOD = (
    "Shares: the change against the previous point uses Newcombe's hybrid score interval (an "
    "area, or a group pooled unweighted); a household-weighted group uses Δ ± z·√(Var₁ + Var₂). "
    "Means and indices: Welch's difference (t quantile with Welch–Satterthwaite degrees of "
    "freedom) for an area, Δ ± z·√(Var₁ + Var₂) for a group; an index's change is the mean's "
    "change on the index scale. Rounds join a series only while the questionnaire versions "
    "agree on the item (kind, option codes, scores, favourable codes), an indicator's codes or "
    "an index's components; otherwise the series breaks and a new segment starts."
)

GroupKind = Literal["organisation", "area_type", "police"]
Json = dict[str, Any]
_EMPTY = CellTally()


# ---------------------------------------------------------------------------------------------
# Targets: what a figure is about
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """An item, a named indicator or a composite index, by key."""

    kind: TargetKind
    key: str

    def present_in(self, definition: QuestionnaireDefinition) -> bool:
        """Whether the definition has this item, indicator or index."""
        if self.kind == "item":
            item = definition.items_by_key.get(self.key)
            return item is not None and item.kind != "text"
        if self.kind == "indicator":
            return any(i.key == self.key for i in definition.indicators)
        return any(i.key == self.key for i in definition.indices)


def target_of(
    *, item: str | None = None, indicator: str | None = None, index: str | None = None
) -> Target:
    """The one target given as item=, indicator= or index=; ValidationFailed otherwise."""
    candidates: tuple[tuple[TargetKind, str | None], ...] = (
        ("item", item),
        ("indicator", indicator),
        ("index", index),
    )
    given = [Target(kind, key) for kind, key in candidates if key is not None]
    if len(given) != 1:
        raise ValidationFailed(
            "give exactly one of item, indicator and index",
            errors=[
                {"loc": ["query", name], "msg": "give exactly one", "type": "target"}
                for name in ("item", "indicator", "index")
            ],
        )
    return given[0]


def _indicator(definition: QuestionnaireDefinition, key: str) -> Indicator:
    return next(i for i in definition.indicators if i.key == key)


def _index(definition: QuestionnaireDefinition, key: str) -> Index:
    return next(i for i in definition.indices if i.key == key)


@dataclass(frozen=True, slots=True)
class _ItemMeta:
    """What figures need to know about an item, computed once per (cached) definition."""

    options: tuple[tuple[int, bool], ...]  # (code, substantive) in display order
    favourable: tuple[int, ...]
    has_favourable: bool
    scored: bool
    has_mean: bool
    score_range: tuple[float, float] | None


# Keyed by id() with the item kept alive beside its entry (published definitions are cached).
_item_meta: dict[int, tuple[Item, _ItemMeta]] = {}


def _meta(item: Item) -> _ItemMeta:
    entry = _item_meta.get(id(item))
    if entry is not None and entry[0] is item:
        return entry[1]
    score_range = item.score_range()
    # A mean score needs every substantive option scored, and scores that vary.
    scored = (
        item.kind in ("scale", "single_choice")
        and score_range is not None
        and score_range[1] > score_range[0]
        and all(option.score is not None for option in item.options if option.is_substantive)
    )
    meta = _ItemMeta(
        options=tuple((option.code, option.is_substantive) for option in item.options),
        favourable=tuple(sorted(set(item.favourable))),
        has_favourable=bool(item.favourable) and item.is_choice,
        scored=scored,
        has_mean=item.kind == "number" or scored,
        score_range=(float(score_range[0]), float(score_range[1]))
        if scored and score_range
        else None,
    )
    if len(_item_meta) >= 16384:
        _item_meta.clear()
    _item_meta[id(item)] = (item, meta)
    return meta


def _is_scored(item: Item) -> bool:
    """Whether an item has a mean score: every substantive option has a score, and they vary."""
    return _meta(item).scored


def _has_mean(item: Item) -> bool:
    return _meta(item).has_mean


def statistic_of(definition: QuestionnaireDefinition, target: Target) -> Statistic | None:
    """The headline statistic of a target: a share, an index or a mean (None if it has none)."""
    if target.kind == "indicator":
        return "indicator_share"
    if target.kind == "index":
        return "composite_index"
    item = definition.item(target.key)
    if _meta(item).has_favourable:
        return "favourable_share"
    if _is_scored(item):
        return "item_index"
    if item.kind == "number":
        return "mean"
    return None


def target_signature(definition: QuestionnaireDefinition, target: Target) -> tuple[Any, ...]:
    """What must match between two versions for a target's figures to form one trend series."""
    if target.kind == "item":
        return ("item", item_signature(definition.item(target.key)))
    if target.kind == "indicator":
        indicator = _indicator(definition, target.key)
        return (
            "indicator",
            item_signature(definition.item(indicator.item)),
            tuple(sorted(set(indicator.codes))),
        )
    index = _index(definition, target.key)
    return (
        "index",
        index.orientation,
        tuple((key, item_signature(definition.item(key))) for key in index.items),
    )


# ---------------------------------------------------------------------------------------------
# Loading a round
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AreaStats:
    n: int
    x: int
    sums: Sums | None
    households: int | None


def _has_share(definition: QuestionnaireDefinition, target: Target) -> bool:
    if target.kind == "indicator":
        return True
    return target.kind == "item" and _meta(definition.item(target.key)).has_favourable


def _has_mean_target(definition: QuestionnaireDefinition, target: Target) -> bool:
    if target.kind == "index":
        return True
    return target.kind == "item" and _meta(definition.item(target.key)).has_mean


@dataclass
class RoundData:
    """A round folded and loaded: everything its figures are computed from, in O(cells)."""

    survey_round: SurveyRound
    definition: QuestionnaireDefinition
    as_of: datetime
    min_cell: int
    areas: list[AreaInfo]
    invitations: dict[int, int]
    tallies: dict[tuple[int, int], CellTally]
    by: Item | None = None
    breakdown: dict[tuple[int, int], CellTally] = field(default_factory=dict)
    # Whole-area statistics per target, computed once and shared by every pooled group.
    _area_stats: dict[Target, dict[int, _AreaStats]] = field(default_factory=dict, repr=False)

    @cached_property
    def area_by_id(self) -> dict[int, AreaInfo]:
        """The round's areas by id."""
        return {area.id: area for area in self.areas}

    def area_stats(self, target: Target) -> dict[int, _AreaStats]:
        """Per area: the target's valid n, share count x (share targets) and sums (means)."""
        stats = self._area_stats.get(target)
        if stats is None:
            stats = self._area_stats[target] = {}
            share = _has_share(self.definition, target)
            mean = _has_mean_target(self.definition, target)
            for area in self.areas:
                cell = self.cell(area.id)
                stats[area.id] = _AreaStats(
                    n=valid_n(self.definition, target, cell),
                    x=share_counts(self.definition, target, cell)[0] if share else 0,
                    sums=mean_sums(self.definition, target, cell) if mean else None,
                    households=area.households,
                )
        return stats

    def cell(self, area_id: int) -> CellTally:
        """An area's whole-area tallies."""
        return self.tallies.get((area_id, 0), _EMPTY)

    def group_cell(self, area_id: int, code: int) -> CellTally:
        """An area's tallies for one breakdown group (code -1: not answered)."""
        return self.breakdown.get((area_id, code), _EMPTY)

    @property
    def breakdown_codes(self) -> list[int]:
        """The breakdown groups in order: the background item's codes, then -1."""
        return [] if self.by is None else [*self.by.codes, -1]


def min_cell_of(session: Session, organisation_id: int) -> int:
    """The organisation's effective minimum cell size (default 10, never below 5)."""
    organisation = session.get(Organisation, organisation_id)
    return effective_min_cell(None if organisation is None else organisation.min_cell_size)


def _round_year(survey_round: SurveyRound) -> int:
    return int(survey_round.period[:4])


def _background_item(definition: QuestionnaireDefinition, by: str) -> Item:
    item = definition.items_by_key.get(by)
    if item is None or not item.background:
        keys = ", ".join(i.key for i in definition.background_items) or "none"
        raise ValidationFailed(
            f"by={by!r} is not a background item of this round's questionnaire "
            f"(background items: {keys})",
            errors=[{"loc": ["query", "by"], "msg": "not a background item", "type": "by"}],
        )
    return item


def load_round(
    session: Session,
    organisation_id: int,
    round_id: int,
    *,
    by: str | None = None,
    targets: Collection[Target] | None = None,
    measure_keys: Collection[str] | None = None,
    min_cell: int | None = None,
) -> RoundData:
    """Fold a round's new responses, then load its tallies and the breakdown by background
    item ``by``.

    ``targets`` limits the tallies read to what those targets need (an indicator also needs
    its item's base); they must be in the round's questionnaire. ``measure_keys`` does the
    same with raw tally keys. The default reads every item, indicator and index.
    """
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    definition = questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )
    by_item = None if by is None else _background_item(definition, by)
    folded = fold_round(session, round_id, definition)
    areas = queries.areas_of_round(session, round_id, _round_year(survey_round))
    area_ids = [area.id for area in areas]
    keys = None
    if targets is not None or measure_keys is not None:
        keys = {"", *(measure_keys or ())}  # "": the respondents count
        for target in targets or ():
            keys |= _measure_keys(definition, target)
    return RoundData(
        survey_round=survey_round,
        definition=definition,
        as_of=folded.as_of,
        min_cell=min_cell_of(session, organisation_id) if min_cell is None else min_cell,
        areas=areas,
        invitations=queries.invitations_issued(session, round_id),
        tallies=queries.load_tallies(session, round_id, area_ids, measure_keys=keys),
        by=by_item,
        breakdown=(
            {}
            if by_item is None
            else queries.load_tallies(
                session, round_id, area_ids, breakdown_item=by_item.key, measure_keys=keys
            )
        ),
    )


# ---------------------------------------------------------------------------------------------
# Sufficient statistics of one cell
# ---------------------------------------------------------------------------------------------


def _favourable_x(item: Item, cell: CellTally) -> int:
    if item.kind == "multi_choice":
        # Respondents, not ticks: one respondent may tick several favourable codes.
        return cell.count("favourable", item.key)
    return sum(cell.count("option", item.key, code) for code in _meta(item).favourable)


def valid_n(definition: QuestionnaireDefinition, target: Target, cell: CellTally) -> int:
    """The valid base n of a target in a cell (what suppression looks at)."""
    if target.kind == "item":
        return cell.count("base", target.key, BASE_VALID)
    if target.kind == "indicator":
        return cell.count("base", _indicator(definition, target.key).item, BASE_VALID)
    return cell.count("index", target.key)


def share_counts(
    definition: QuestionnaireDefinition, target: Target, cell: CellTally
) -> tuple[int, int]:
    """(x, n) of a share target: an item's favourable share or an indicator."""
    if target.kind == "indicator":
        indicator = _indicator(definition, target.key)
        return cell.count("indicator", target.key), cell.count("base", indicator.item, BASE_VALID)
    if target.kind == "item":
        item = definition.item(target.key)
        return _favourable_x(item, cell), cell.count("base", item.key, BASE_VALID)
    raise ValueError(f"{target} has no share")


def mean_sums(definition: QuestionnaireDefinition, target: Target, cell: CellTally) -> Sums:
    """n, Σ and Σ² of a mean target: an item's scores (or numbers), or a composite index's
    respondent values in 0..1."""
    if target.kind == "index":
        return cell.get("index", target.key)
    if target.kind == "item":
        return cell.get("base", target.key, BASE_VALID)
    raise ValueError(f"{target} has no mean")


# Index scales as linear maps of the mean: index = a·mean + b.
_Linear = tuple[float, float]


def _index_map(definition: QuestionnaireDefinition, target: Target) -> _Linear | None:
    if target.kind == "index":
        if _index(definition, target.key).orientation == "higher_is_worse":
            return -100.0, 100.0
        return 100.0, 0.0
    item = definition.item(target.key)
    score_range = _meta(item).score_range
    if score_range is None:
        return None
    low, high = score_range
    return 100.0 / (high - low), -100.0 * low / (high - low)


def _map_interval(
    linear: _Linear, value: float, low: float | None, high: float | None
) -> tuple[float, float | None, float | None]:
    a, b = linear
    mapped_low = None if low is None else a * low + b
    mapped_high = None if high is None else a * high + b
    if a < 0:
        mapped_low, mapped_high = mapped_high, mapped_low
    return a * value + b, mapped_low, mapped_high


def _map_change(linear: _Linear, change: Change) -> Change:
    a, _ = linear
    low, high = sorted((a * change.low, a * change.high))
    return Change(delta=a * change.delta, low=low, high=high, significant=change.significant)


def area_share(
    definition: QuestionnaireDefinition, target: Target, cell: CellTally, min_cell: int
) -> ShareEstimate | None:
    """A cell's share with its Wilson interval; None when the cell is suppressed."""
    x, n = share_counts(definition, target, cell)
    return None if primary_suppressed(n, min_cell) else wilson(x, n)


def area_mean(
    definition: QuestionnaireDefinition, target: Target, cell: CellTally, min_cell: int
) -> MeanEstimate | None:
    """A cell's mean (scores, numbers, or composite values in 0..1); None when suppressed."""
    sums = mean_sums(definition, target, cell)
    if primary_suppressed(sums.count, min_cell):
        return None
    return mean_estimate(sums.count, sums.total, sums.total_sq)


# ---------------------------------------------------------------------------------------------
# Cell figures
# ---------------------------------------------------------------------------------------------

_SUPPRESSED_ITEM: dict[str, Any] = {
    "suppressed": True,
    "n": None,
    "non_substantive": None,
    "distribution": None,
    "favourable": None,
    "mean": None,
    "index": None,
}
_SUPPRESSED_INDICATOR: dict[str, Any] = {"suppressed": True, "n": None, "share": None}
_SUPPRESSED_COMPOSITE: dict[str, Any] = {"suppressed": True, "n": None, "index": None}


def _share_figure(estimate: ShareEstimate) -> Json:
    return dict(
        x=estimate.x,
        p=estimate.p,
        low=estimate.low,
        high=estimate.high,
        low_precision=estimate.low_precision,
    )


def _item_fields(item: Item, cell: CellTally, min_cell: int) -> dict[str, Any]:
    n = cell.count("base", item.key, BASE_VALID)
    if primary_suppressed(n, min_cell):
        return _SUPPRESSED_ITEM
    meta = _meta(item)
    distribution = None
    if meta.options:
        distribution = []
        slots = cell.slots  # the hottest loop of a whole-round read: plain dict lookups
        key = item.key
        for code, substantive in meta.options:
            found = slots.get(("option", key, code))
            count = 0 if found is None else found[0]
            distribution.append(
                {
                    "code": code,
                    "substantive": substantive,
                    "count": count,
                    "share": count / n if substantive else None,
                }
            )
    favourable = None
    if meta.has_favourable:
        favourable = _share_figure(wilson(_favourable_x(item, cell), n))
    mean = index = None
    if meta.has_mean:
        sums = cell.get("base", item.key, BASE_VALID)
        estimate = mean_estimate(n, sums.total, sums.total_sq)
        mean = dict(mean=estimate.mean, sd=estimate.sd, low=estimate.low, high=estimate.high)
        if meta.score_range is not None:
            low, high = meta.score_range
            item_index = index_estimate(estimate, low, high)
            index = dict(index=item_index.index, low=item_index.low, high=item_index.high)
    return {
        "suppressed": False,
        "n": n,
        "non_substantive": cell.count("base", item.key, BASE_NON_SUBSTANTIVE),
        "distribution": distribution,
        "favourable": favourable,
        "mean": mean,
        "index": index,
    }


def _indicator_fields(
    definition: QuestionnaireDefinition, indicator: Indicator, cell: CellTally, min_cell: int
) -> dict[str, Any]:
    estimate = area_share(definition, Target("indicator", indicator.key), cell, min_cell)
    if estimate is None:
        return _SUPPRESSED_INDICATOR
    return {"suppressed": False, "n": estimate.n, "share": _share_figure(estimate)}


def _composite_fields(index: Index, cell: CellTally, min_cell: int) -> dict[str, Any]:
    sums = cell.get("index", index.key)
    if primary_suppressed(sums.count, min_cell):
        return _SUPPRESSED_COMPOSITE
    estimate = composite_estimate(
        sums.count,
        sums.total,
        sums.total_sq,
        higher_is_worse=index.orientation == "higher_is_worse",
    )
    return {
        "suppressed": False,
        "n": sums.count,
        "index": dict(index=estimate.index, low=estimate.low, high=estimate.high),
    }


def _breakdown_hidden(data: RoundData, area_id: int, n_of: Callable[[CellTally], int]) -> set[int]:
    """Breakdown codes hidden by primary and secondary suppression in one area."""
    group_ns = {code: n_of(data.group_cell(area_id, code)) for code in data.breakdown_codes}
    return suppress_breakdown(n_of(data.cell(area_id)), group_ns, data.min_cell)


def _item_result(data: RoundData, item: Item, area_id: int) -> Json:
    breakdown = None
    if data.by is not None:
        hidden = _breakdown_hidden(
            data, area_id, lambda cell: cell.count("base", item.key, BASE_VALID)
        )
        breakdown = [
            dict(
                code=code,
                **(
                    _SUPPRESSED_ITEM
                    if code in hidden
                    else _item_fields(item, data.group_cell(area_id, code), data.min_cell)
                ),
            )
            for code in data.breakdown_codes
        ]
    return dict(
        key=item.key,
        kind=item.kind,
        breakdown=breakdown,
        **_item_fields(item, data.cell(area_id), data.min_cell),
    )


def _indicator_result(data: RoundData, indicator: Indicator, area_id: int) -> Json:
    breakdown = None
    if data.by is not None:
        hidden = _breakdown_hidden(
            data, area_id, lambda cell: cell.count("base", indicator.item, BASE_VALID)
        )
        breakdown = [
            dict(
                code=code,
                **(
                    _SUPPRESSED_INDICATOR
                    if code in hidden
                    else _indicator_fields(
                        data.definition, indicator, data.group_cell(area_id, code), data.min_cell
                    )
                ),
            )
            for code in data.breakdown_codes
        ]
    return dict(
        key=indicator.key,
        item=indicator.item,
        codes=list(indicator.codes),
        breakdown=breakdown,
        **_indicator_fields(data.definition, indicator, data.cell(area_id), data.min_cell),
    )


def _composite_result(data: RoundData, index: Index, area_id: int) -> Json:
    breakdown = None
    if data.by is not None:
        hidden = _breakdown_hidden(data, area_id, lambda cell: cell.count("index", index.key))
        breakdown = [
            dict(
                code=code,
                **(
                    _SUPPRESSED_COMPOSITE
                    if code in hidden
                    else _composite_fields(index, data.group_cell(area_id, code), data.min_cell)
                ),
            )
            for code in data.breakdown_codes
        ]
    return dict(
        key=index.key,
        orientation=index.orientation,
        breakdown=breakdown,
        **_composite_fields(index, data.cell(area_id), data.min_cell),
    )


def _response_figures(data: RoundData, area: AreaInfo) -> Json:
    responses = data.cell(area.id).count("respondents", "")
    invitations = data.invitations.get(area.id, 0)
    if primary_suppressed(responses, data.min_cell):
        # The number of respondents is a cell like any other: a small area shows no count.
        return dict(
            suppressed=True,
            responses=None,
            invitations_issued=invitations,
            households=area.households,
            response_rate=None,
            rate_base=None,
        )
    rate: float | None = None
    base: Literal["invitations", "households"] | None = None
    if invitations > 0:
        rate, base = responses / invitations, "invitations"
    elif area.households:
        rate, base = responses / area.households, "households"
    return dict(
        suppressed=False,
        responses=responses,
        invitations_issued=invitations,
        households=area.households,
        response_rate=rate,
        rate_base=base,
    )


# ---------------------------------------------------------------------------------------------
# Pooled groups
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PooledShareResult:
    """A pooled share, or None when no pooled area has a shown cell (suppressed)."""

    share: PooledShare | None
    used: list[int]
    left_out: list[int]
    note: str | None


@dataclass(frozen=True, slots=True)
class PooledMeanResult:
    """A pooled mean (of scores or composite values), or None when suppressed."""

    mean: PooledMean | None
    used: list[int]
    left_out: list[int]
    note: str | None


def _pool_split(
    data: RoundData, area_ids: Sequence[int], target: Target
) -> tuple[list[_AreaStats], list[int], list[int]]:
    # Only areas whose own cell is shown take part: with a single hidden area in the pool,
    # pool − shown areas would reveal it, so hidden areas never contribute (DESIGN.md, Privacy).
    stats = data.area_stats(target)
    missing = [area_id for area_id in area_ids if area_id not in stats]
    if missing:
        raise ValueError(f"areas {missing} do not take part in round {data.survey_round.id}")
    minimum = data.min_cell
    cells: list[_AreaStats] = []
    used: list[int] = []
    left_out: list[int] = []
    for area_id in area_ids:
        area = stats[area_id]
        if primary_suppressed(area.n, minimum):
            left_out.append(area_id)
        else:
            used.append(area_id)
            cells.append(area)
    return cells, used, left_out


def _pool_note(note: str | None, left_out: int, total: int, min_cell: int) -> str | None:
    notes = [note] if note else []
    if left_out:
        notes.append(
            f"{left_out} of {total} areas left out: fewer than {min_cell} valid answers, "
            "so suppressed on their own."
        )
    return " ".join(notes) or None


def pooled_share_of(data: RoundData, area_ids: Sequence[int], target: Target) -> PooledShareResult:
    """A share pooled over areas (DESIGN.md, Pooled groups), from shown areas only."""
    stats, used, left_out = _pool_split(data, area_ids, target)
    if not used:
        return PooledShareResult(share=None, used=[], left_out=left_out, note=None)
    share = pooled_share([AreaCell(households=a.households, x=a.x, n=a.n) for a in stats])
    return PooledShareResult(
        share=share,
        used=used,
        left_out=left_out,
        note=_pool_note(share.note, len(left_out), len(area_ids), data.min_cell),
    )


def pooled_mean_of(data: RoundData, area_ids: Sequence[int], target: Target) -> PooledMeanResult:
    """A mean pooled over areas (item scores or composite values in 0..1), shown areas only."""
    stats, used, left_out = _pool_split(data, area_ids, target)
    if not used:
        return PooledMeanResult(mean=None, used=[], left_out=left_out, note=None)
    cells = []
    for area in stats:
        assert area.sums is not None
        cells.append(
            AreaMeanCell(
                households=area.households,
                n=area.sums.count,
                total=area.sums.total,
                total_sq=area.sums.total_sq,
            )
        )
    mean = pooled_mean(cells)
    return PooledMeanResult(
        mean=mean,
        used=used,
        left_out=left_out,
        note=_pool_note(mean.note, len(left_out), len(area_ids), data.min_cell),
    )


def _pooled_share_figure(share: PooledShare) -> Json:
    return dict(
        p=share.p,
        low=share.low,
        high=share.high,
        low_precision=(share.high - share.low) / 2 > LOW_PRECISION_HALF_WIDTH,
    )


def _suppressed_pool() -> dict[str, Any]:
    return {"suppressed": True, "n": None, "areas": None, "weighting": None, "note": None}


def _pool_fields(n: int, used: int, weighting: Weighting, note: str | None) -> dict[str, Any]:
    return {"suppressed": False, "n": n, "areas": used, "weighting": weighting, "note": note}


def _pooled_item(data: RoundData, item: Item, area_ids: Sequence[int]) -> Json:
    target = Target("item", item.key)
    favourable = mean = index = None
    base: dict[str, Any] = _suppressed_pool()
    if _has_mean(item):
        pooled = pooled_mean_of(data, area_ids, target)
        if pooled.mean is not None:
            m = pooled.mean
            mean = dict(mean=m.mean, low=m.low, high=m.high)
            linear = _index_map(data.definition, target)
            if linear is not None:
                value, low, high = _map_interval(linear, m.mean, m.low, m.high)
                index = dict(index=value, low=low, high=high)
            base = _pool_fields(m.n, len(pooled.used), m.weighting, pooled.note)
    if _meta(item).has_favourable:
        shared = pooled_share_of(data, area_ids, target)
        if shared.share is not None:
            favourable = _pooled_share_figure(shared.share)
            s = shared.share
            base = _pool_fields(s.n, len(shared.used), s.weighting, shared.note)
    return dict(key=item.key, kind=item.kind, favourable=favourable, mean=mean, index=index, **base)


def _pooled_indicator(data: RoundData, indicator: Indicator, area_ids: Sequence[int]) -> Json:
    pooled = pooled_share_of(data, area_ids, Target("indicator", indicator.key))
    if pooled.share is None:
        return dict(key=indicator.key, item=indicator.item, share=None, **_suppressed_pool())
    s = pooled.share
    return dict(
        key=indicator.key,
        item=indicator.item,
        share=_pooled_share_figure(s),
        **_pool_fields(s.n, len(pooled.used), s.weighting, pooled.note),
    )


def _pooled_composite(data: RoundData, index: Index, area_ids: Sequence[int]) -> Json:
    target = Target("index", index.key)
    pooled = pooled_mean_of(data, area_ids, target)
    if pooled.mean is None:
        return dict(key=index.key, orientation=index.orientation, index=None, **_suppressed_pool())
    m = pooled.mean
    linear = _index_map(data.definition, target)
    assert linear is not None
    value, low, high = _map_interval(linear, m.mean, m.low, m.high)
    return dict(
        key=index.key,
        orientation=index.orientation,
        index=dict(index=value, low=low, high=high),
        **_pool_fields(m.n, len(pooled.used), m.weighting, pooled.note),
    )


def parse_group(group: str) -> tuple[GroupKind, str | None]:
    """'organisation', 'area_type:<1-5>' or 'police:<classification>' -> (kind, value)."""
    if group == "organisation":
        return "organisation", None
    kind, _, value = group.partition(":")
    if kind == "area_type" and value in {"1", "2", "3", "4", "5"}:
        return "area_type", value
    if kind == "police" and value in POLICE_CLASSIFICATIONS:
        return "police", value
    raise ValidationFailed(
        f"group {group!r} is not 'organisation', 'area_type:<1-5>' or 'police:<"
        + "|".join(POLICE_CLASSIFICATIONS)
        + ">'",
        errors=[{"loc": ["query", "group"], "msg": "unknown group", "type": "group"}],
    )


def group_area_ids(areas: Sequence[AreaInfo], kind: GroupKind, value: str | None) -> list[int]:
    """The areas of a round in a group, by their classification for the round's year."""
    if kind == "organisation":
        return [area.id for area in areas]
    if kind == "area_type":
        return [area.id for area in areas if str(area.area_type) == value]
    return [area.id for area in areas if area.police_classification == value]


def _groups(areas: Sequence[AreaInfo]) -> list[tuple[str, GroupKind, str | None]]:
    groups: list[tuple[str, GroupKind, str | None]] = [("organisation", "organisation", None)]
    for area_type in sorted({a.area_type for a in areas if a.area_type is not None}):
        groups.append((f"area_type:{area_type}", "area_type", str(area_type)))
    present = {a.police_classification for a in areas}
    for police in POLICE_CLASSIFICATIONS:
        if police in present:
            groups.append((f"police:{police}", "police", police))
    return groups


# ---------------------------------------------------------------------------------------------
# Round results
# ---------------------------------------------------------------------------------------------


def _select(
    definition: QuestionnaireDefinition,
    items: Sequence[str] | None,
    indicators: Sequence[str] | None,
    indices: Sequence[str] | None,
) -> tuple[list[Item], list[Indicator], list[Index]]:
    everything = items is None and indicators is None and indices is None
    errors: list[dict[str, Any]] = []
    chosen_items: list[Item] = []
    for position, key in enumerate(items or []):
        item = definition.items_by_key.get(key)
        if item is None or item.kind == "text":
            why = "unknown item" if item is None else "text items have no results"
            errors.append({"loc": ["query", "item", position], "msg": why, "type": "item"})
        elif item not in chosen_items:
            chosen_items.append(item)
    indicator_keys = {i.key: i for i in definition.indicators}
    index_keys = {i.key: i for i in definition.indices}
    for name, keys, known in (
        ("indicator", indicators, indicator_keys),
        ("index", indices, index_keys),
    ):
        for position, key in enumerate(keys or []):
            if key not in known:
                errors.append(
                    {"loc": ["query", name, position], "msg": f"unknown {name}", "type": name}
                )
    if errors:
        raise ValidationFailed(
            "not in this round's questionnaire: "
            + "; ".join(f"{e['loc'][1]}[{e['loc'][2]}]: {e['msg']}" for e in errors),
            errors=errors,
        )
    if everything:
        return (
            [item for item in definition.items if item.kind != "text"],
            list(definition.indicators),
            list(definition.indices),
        )
    wanted_indicators = set(indicators or [])
    wanted_indices = set(indices or [])
    wanted_items = {item.key for item in chosen_items}
    return (
        [item for item in definition.items if item.key in wanted_items],
        [i for i in definition.indicators if i.key in wanted_indicators],
        [i for i in definition.indices if i.key in wanted_indices],
    )


def round_results(
    session: Session,
    organisation_id: int,
    round_id: int,
    *,
    area_ids: Sequence[int] | None = None,
    items: Sequence[str] | None = None,
    indicators: Sequence[str] | None = None,
    indices: Sequence[str] | None = None,
    by: str | None = None,
) -> RoundResults:
    """A whole round's results: per area × item, indicators, indices, pooled groups.

    With none of ``items``/``indicators``/``indices`` everything is returned; with any of them,
    only what they list. ``area_ids`` limits the areas listed (pools always cover the round).
    """
    return RoundResults.model_validate(
        round_payload(
            session,
            organisation_id,
            round_id,
            area_ids=area_ids,
            items=items,
            indicators=indicators,
            indices=indices,
            by=by,
        )
    )


def round_results_json(
    session: Session,
    organisation_id: int,
    round_id: int,
    *,
    area_ids: Sequence[int] | None = None,
    items: Sequence[str] | None = None,
    indicators: Sequence[str] | None = None,
    indices: Sequence[str] | None = None,
    by: str | None = None,
) -> bytes:
    """:func:`round_results` serialised as JSON, for the API.

    A whole round is ~15 000 small objects; serialising the plain data in one pass of
    pydantic-core, instead of first building that many model instances (and the garbage
    collector passes they trigger), more than halves the cost of a read. Tests check that
    this output validates as :class:`RoundResults` and round-trips unchanged.
    """
    return pydantic_core.to_json(
        round_payload(
            session,
            organisation_id,
            round_id,
            area_ids=area_ids,
            items=items,
            indicators=indicators,
            indices=indices,
            by=by,
        )
    )


def round_payload(
    session: Session,
    organisation_id: int,
    round_id: int,
    *,
    area_ids: Sequence[int] | None = None,
    items: Sequence[str] | None = None,
    indicators: Sequence[str] | None = None,
    indices: Sequence[str] | None = None,
    by: str | None = None,
) -> Json:
    """:func:`round_results` as plain data (dicts and lists in the RoundResults shape)."""
    data = load_round(session, organisation_id, round_id, by=by)
    definition = data.definition
    chosen_items, chosen_indicators, chosen_indices = _select(
        definition, items, indicators, indices
    )
    round_area_ids = {area.id for area in data.areas}
    if area_ids is not None:
        unknown = [a for a in area_ids if a not in round_area_ids]
        if unknown:
            raise ValidationFailed(
                f"areas {', '.join(map(str, unknown))} do not take part in round {round_id}",
                errors=[
                    {"loc": ["query", "area_id"], "msg": f"area {a} not in round", "type": "area"}
                    for a in unknown
                ],
            )
    shown = [a for a in data.areas if area_ids is None or a.id in set(area_ids)]
    areas = [
        dict(
            area_id=area.id,
            code=area.code,
            name=area.name,
            households=area.households,
            area_type=area.area_type,
            police_classification=area.police_classification,
            classification_year=area.classification_year,
            responses=_response_figures(data, area),
            items=[_item_result(data, item, area.id) for item in chosen_items],
            indicators=[_indicator_result(data, i, area.id) for i in chosen_indicators],
            indices=[_composite_result(data, i, area.id) for i in chosen_indices],
        )
        for area in shown
    ]
    pooled = []
    for group, kind, value in _groups(data.areas):
        members = group_area_ids(data.areas, kind, value)
        pooled.append(
            dict(
                group=group,
                kind=kind,
                value=value,
                area_ids=members,
                items=[
                    _pooled_item(data, item, members)
                    for item in chosen_items
                    if _has_mean(item) or _meta(item).has_favourable
                ],
                indicators=[_pooled_indicator(data, i, members) for i in chosen_indicators],
                indices=[_pooled_composite(data, i, members) for i in chosen_indices],
            )
        )
    survey_round = data.survey_round
    return {
        "survey_round_id": survey_round.id,
        "name": survey_round.name,
        "period": survey_round.period,
        "questionnaire_version_id": survey_round.questionnaire_version_id,
        "as_of": data.as_of,
        "min_cell_size": data.min_cell,
        "by": None if data.by is None else data.by.key,
        "breakdown_codes": None if data.by is None else data.breakdown_codes,
        "areas": areas,
        "pooled": pooled,
        "method": ROUND_METHOD,
    }


# ---------------------------------------------------------------------------------------------
# Trends
# ---------------------------------------------------------------------------------------------


def welch_change(before: MeanEstimate, after: MeanEstimate) -> Change:
    """Δ = mean₂ − mean₁ with Welch's interval: Δ ± t(0.975, ν)·√(s₁²/n₁ + s₂²/n₂), where ν is
    the Welch–Satterthwaite degrees of freedom (fractional). Needs n ≥ 2 on both sides."""
    if before.sd is None or after.sd is None:
        raise ValueError("Welch's interval needs n >= 2 in both periods")
    va = before.sd**2 / before.n
    vb = after.sd**2 / after.n
    delta = after.mean - before.mean
    se = math.sqrt(va + vb)
    if se == 0.0:
        return Change(delta=delta, low=delta, high=delta, significant=delta != 0.0)
    df = (va + vb) ** 2 / (va**2 / (before.n - 1) + vb**2 / (after.n - 1))
    half = float(scipy_stats.t.ppf(0.975, df)) * se
    low, high = delta - half, delta + half
    return Change(delta=delta, low=low, high=high, significant=low > 0.0 or high < 0.0)


def _normal_change(before: PooledMean, after: PooledMean) -> Change:
    # Independent pooled estimates: Δ ± z·√(Var₁ + Var₂), as for weighted pooled shares.
    delta = after.mean - before.mean
    half = Z * math.sqrt((before.variance or 0.0) + (after.variance or 0.0))
    low, high = delta - half, delta + half
    return Change(delta=delta, low=low, high=high, significant=low > 0.0 or high < 0.0)


def _change_figure(change: Change, method: Literal["newcombe", "normal", "welch"]) -> ChangeFigure:
    return ChangeFigure(
        delta=change.delta,
        low=change.low,
        high=change.high,
        significant=change.significant,
        method=method,
    )


def _codes(codes: Collection[int]) -> str:
    return ", ".join(map(str, sorted(codes))) or "none"


def _item_difference(key: str, old: Item, new: Item) -> str:
    parts = []
    if old.kind != new.kind:
        parts.append(f"kind {old.kind} → {new.kind}")
    old_codes, new_codes = set(old.codes), set(new.codes)
    if new_codes - old_codes:
        parts.append(f"codes added: {_codes(new_codes - old_codes)}")
    if old_codes - new_codes:
        parts.append(f"codes removed: {_codes(old_codes - new_codes)}")
    rescored = [
        code
        for code in old_codes & new_codes
        if (old.option(code).score, old.option(code).is_substantive, old.option(code).exclusive)
        != (new.option(code).score, new.option(code).is_substantive, new.option(code).exclusive)
    ]
    if rescored:
        parts.append(f"scores changed for codes {_codes(rescored)}")
    if set(old.favourable) != set(new.favourable):
        parts.append(f"favourable codes {_codes(old.favourable)} → {_codes(new.favourable)}")
    if set(old.unfavourable) != set(new.unfavourable):
        parts.append(f"unfavourable codes {_codes(old.unfavourable)} → {_codes(new.unfavourable)}")
    return f"item '{key}': " + ("; ".join(parts) or "definition changed")


def _break_reason(
    old: QuestionnaireDefinition, new: QuestionnaireDefinition, target: Target
) -> str:
    prefix = "not comparable with the previous round: "
    if target.kind == "item":
        return prefix + _item_difference(target.key, old.item(target.key), new.item(target.key))
    if target.kind == "indicator":
        a, b = _indicator(old, target.key), _indicator(new, target.key)
        if a.item != b.item:
            return prefix + f"indicator now counts item '{b.item}' instead of '{a.item}'"
        if set(a.codes) != set(b.codes):
            return prefix + f"indicator codes {_codes(a.codes)} → {_codes(b.codes)}"
        return prefix + _item_difference(a.item, old.item(a.item), new.item(b.item))
    x, y = _index(old, target.key), _index(new, target.key)
    if x.orientation != y.orientation:
        return prefix + f"index orientation {x.orientation} → {y.orientation}"
    if x.items != y.items:
        return prefix + f"index components {', '.join(x.items)} → {', '.join(y.items)}"
    changed = [
        _item_difference(key, old.item(key), new.item(key))
        for key in x.items
        if item_signature(old.item(key)) != item_signature(new.item(key))
    ]
    return prefix + "; ".join(changed)


@dataclass
class _PointState:
    """What the next point's change is computed against."""

    share: ShareEstimate | None = None
    pooled_share: PooledShare | None = None
    mean: MeanEstimate | None = None
    pooled_mean: PooledMean | None = None


def _suppressed_point(base: dict[str, Any]) -> TrendPoint:
    return TrendPoint(
        **base,
        suppressed=True,
        n=None,
        estimate=None,
        low=None,
        high=None,
        low_precision=None,
        areas=None,
        weighting=None,
        note=None,
        change=None,
    )


def _trend_point(
    data: RoundData,
    target: Target,
    statistic: Statistic,
    members: list[int] | None,
    area_id: int | None,
    previous: _PointState | None,
    base: dict[str, Any],
) -> tuple[TrendPoint, _PointState | None]:
    definition = data.definition
    if statistic in ("favourable_share", "indicator_share"):
        if members is None:
            assert area_id is not None
            share = area_share(definition, target, data.cell(area_id), data.min_cell)
            if share is None:
                return _suppressed_point(base), None
            change = None
            if previous is not None and previous.share is not None:
                old = previous.share
                change = _change_figure(newcombe(old.x, old.n, share.x, share.n), "newcombe")
            point = TrendPoint(
                **base,
                suppressed=False,
                n=share.n,
                estimate=share.p,
                low=share.low,
                high=share.high,
                low_precision=share.low_precision,
                areas=None,
                weighting=None,
                note=None,
                change=change,
            )
            return point, _PointState(share=share)
        pooled = pooled_share_of(data, members, target)
        if pooled.share is None:
            return _suppressed_point(base), None
        current = pooled.share
        change = None
        if previous is not None and previous.pooled_share is not None:
            method: Literal["newcombe", "normal"] = (
                "newcombe"
                if previous.pooled_share.weighting == current.weighting == "unweighted"
                else "normal"
            )
            change = _change_figure(change_from_pooled(previous.pooled_share, current), method)
        point = TrendPoint(
            **base,
            suppressed=False,
            n=current.n,
            estimate=current.p,
            low=current.low,
            high=current.high,
            low_precision=(current.high - current.low) / 2 > LOW_PRECISION_HALF_WIDTH,
            areas=len(pooled.used),
            weighting=current.weighting,
            note=pooled.note,
            change=change,
        )
        return point, _PointState(pooled_share=current)

    linear = _index_map(definition, target) if statistic != "mean" else (1.0, 0.0)
    assert linear is not None
    if members is None:
        assert area_id is not None
        mean = area_mean(definition, target, data.cell(area_id), data.min_cell)
        if mean is None:
            return _suppressed_point(base), None
        change = None
        if previous is not None and previous.mean is not None:
            change = _change_figure(_map_change(linear, welch_change(previous.mean, mean)), "welch")
        value, low, high = _map_interval(linear, mean.mean, mean.low, mean.high)
        point = TrendPoint(
            **base,
            suppressed=False,
            n=mean.n,
            estimate=value,
            low=low,
            high=high,
            low_precision=None,
            areas=None,
            weighting=None,
            note=None,
            change=change,
        )
        return point, _PointState(mean=mean)
    pooled_m = pooled_mean_of(data, members, target)
    if pooled_m.mean is None:
        return _suppressed_point(base), None
    current_m = pooled_m.mean
    change = None
    if previous is not None and previous.pooled_mean is not None:
        change = _change_figure(
            _map_change(linear, _normal_change(previous.pooled_mean, current_m)), "normal"
        )
    value, low, high = _map_interval(linear, current_m.mean, current_m.low, current_m.high)
    point = TrendPoint(
        **base,
        suppressed=False,
        n=current_m.n,
        estimate=value,
        low=low,
        high=high,
        low_precision=None,
        areas=len(pooled_m.used),
        weighting=current_m.weighting,
        note=pooled_m.note,
        change=change,
    )
    return point, _PointState(pooled_mean=current_m)


def _measure_keys(definition: QuestionnaireDefinition, target: Target) -> set[str]:
    if target.kind == "indicator":
        return {target.key, _indicator(definition, target.key).item}
    return {target.key}


def trend(
    session: Session,
    organisation_id: int,
    target: Target,
    *,
    area_id: int | None = None,
    group: str | None = None,
) -> TrendSeries:
    """The series of an area or a group across the organisation's rounds, ordered by period,
    with the change against the previous point and where the series breaks."""
    if (area_id is None) == (group is None):
        raise ValidationFailed(
            "give exactly one of area_id and group",
            errors=[{"loc": ["query", "area_id"], "msg": "area_id or group", "type": "subject"}],
        )
    group_kind: GroupKind | None = None
    group_value: str | None = None
    if area_id is not None:
        areas_service.get_area(session, organisation_id, area_id)
    else:
        assert group is not None
        group_kind, group_value = parse_group(group)
    min_cell = min_cell_of(session, organisation_id)
    rounds = queries.rounds_of_organisation(session, organisation_id, area_id=area_id)
    definitions = [
        (r, questionnaires_service.published_definition(session, r.questionnaire_version_id))
        for r in rounds
    ]
    if target.kind == "item" and any(
        (item := d.items_by_key.get(target.key)) is not None and item.kind == "text"
        for _, d in definitions
    ):
        raise ValidationFailed(
            f"item '{target.key}' is a free-text item; free text has no figures",
            errors=[{"loc": ["query", "item"], "msg": "text item", "type": "item"}],
        )
    relevant = [(r, d) for r, d in definitions if target.present_in(d)]
    if not relevant:
        raise NotFound(
            f"no survey round of yours has {target.kind} '{target.key}'"
            + ("" if area_id is None else f" for area {area_id}")
        )
    # Refuse statistics a target cannot have before folding anything.
    if statistic_of(relevant[-1][1], target) is None:
        raise ValidationFailed(
            f"item '{target.key}' has no favourable codes and no scores, so it has no trend",
            errors=[{"loc": ["query", "item"], "msg": "no trend statistic", "type": "item"}],
        )

    points: list[TrendPoint] = []
    breaks: list[TrendBreak] = []
    as_of: datetime | None = None
    previous_definition: QuestionnaireDefinition | None = None
    previous_signature: tuple[Any, ...] | None = None
    previous_state: _PointState | None = None
    segment = 0
    for survey_round, definition in relevant:
        statistic = statistic_of(definition, target)
        signature = target_signature(definition, target)
        if previous_signature is not None and signature != previous_signature:
            assert previous_definition is not None
            breaks.append(
                TrendBreak(
                    survey_round_id=survey_round.id,
                    period=survey_round.period,
                    reason=_break_reason(previous_definition, definition, target),
                )
            )
            segment += 1
            previous_state = None
        previous_definition, previous_signature = definition, signature
        if statistic is None:
            previous_state = None
            continue
        data = load_round(
            session, organisation_id, survey_round.id, targets=[target], min_cell=min_cell
        )
        members = None
        if group_kind is not None:
            members = group_area_ids(data.areas, group_kind, group_value)
            if not members:
                continue  # the group has no areas in this round: not part of the series
        as_of = data.as_of if as_of is None else min(as_of, data.as_of)
        base = {
            "survey_round_id": survey_round.id,
            "period": survey_round.period,
            "questionnaire_version_id": survey_round.questionnaire_version_id,
            "segment": segment,
            "statistic": statistic,
        }
        point, previous_state = _trend_point(
            data, target, statistic, members, area_id, previous_state, base
        )
        points.append(point)
    return TrendSeries(
        area_id=area_id,
        group=group,
        target=target.kind,
        key=target.key,
        as_of=as_of or utcnow(),
        min_cell_size=min_cell,
        points=points,
        breaks=breaks,
        method=TREND_METHOD,
    )
