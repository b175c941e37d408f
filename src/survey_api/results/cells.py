"""Sufficient statistics, estimates and payload figures of one cell (an area or a group)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from survey_api.questionnaires.definition import (
    Index,
    Indicator,
    Item,
    QuestionnaireDefinition,
)
from survey_api.results.fold import BASE_NON_SUBSTANTIVE, BASE_VALID
from survey_api.results.queries import CellTally, Sums
from survey_api.results.statistics import (
    Change,
    MeanEstimate,
    ShareEstimate,
    composite_estimate,
    index_estimate,
    mean_estimate,
    wilson,
)
from survey_api.results.suppression import (
    primary_suppressed,
)
from survey_api.results.targets import Target, _index, _indicator, _meta

Json = dict[str, Any]

# Why a figure of a round imported as answer counts only (source imported_tallies) is missing.
REASON_INDEX = (
    "A composite index combines each respondent's answers to several items; this round holds "
    "only answer counts per option (source imported_tallies), so it is unavailable."
)
REASON_BREAKDOWN = (
    "A breakdown by a background item needs each respondent's answers; this round holds only "
    "answer counts per option (source imported_tallies), so breakdowns are unavailable."
)
REASON_ANSWERED = (
    "The number of respondents who answered this multi-choice item was not imported (a row "
    "with option '*'), and one respondent may tick several options, so its shares are "
    "unavailable in this round."
)
REASON_OVERLAP = (
    "One respondent may tick several of these codes of a multi-choice item, and answer counts "
    "alone cannot tell how many ticked at least one, so this share is unavailable in this round."
)


def countable(item: Item, codes: Iterable[int]) -> bool:
    """Whether answer counts tell how many respondents of a multi-choice item ticked one of
    ``codes``: at most one of them is non-exclusive (exclusive options are ticked alone), or
    every other option is exclusive (respondents who answered, minus those who ticked one of
    the others). Single-answer items always can. imports/tallies.py writes exactly these."""
    if item.kind != "multi_choice":
        return True
    wanted = set(codes)
    if sum(1 for code in wanted if not item.option(code).exclusive) <= 1:
        return True
    return all(option.exclusive for option in item.options if option.code not in wanted)


def _answered_unknown(item: Item, cell: CellTally) -> bool:
    # A multi-choice item with option counts but neither base slot: the fold always writes one
    # for a respondent who ticked anything, so its respondents were not imported.
    key = item.key
    slots = cell.slots
    if ("base", key, BASE_VALID) in slots or ("base", key, BASE_NON_SUBSTANTIVE) in slots:
        return False
    return any(("option", key, code) in slots for code in item.codes)


def counts_only_gap(
    definition: QuestionnaireDefinition, target: Target, cell: CellTally
) -> str | None:
    """Why a target's headline figure (a share, or a composite index) cannot be computed in a
    cell of a round imported as answer counts only; None when it can."""
    if target.kind == "index":
        return REASON_INDEX
    if target.kind == "indicator":
        indicator = _indicator(definition, target.key)
        item = definition.item(indicator.item)
        codes: Iterable[int] = indicator.codes
    else:
        item = definition.item(target.key)
        codes = item.favourable
    if item.kind != "multi_choice":
        return None
    if _answered_unknown(item, cell):
        return REASON_ANSWERED
    return None if countable(item, codes) else REASON_OVERLAP


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
    "unavailable_reason": None,
}
_SUPPRESSED_INDICATOR: dict[str, Any] = {
    "suppressed": True,
    "n": None,
    "share": None,
    "unavailable_reason": None,
}
_SUPPRESSED_COMPOSITE: dict[str, Any] = {
    "suppressed": True,
    "n": None,
    "index": None,
    "unavailable_reason": None,
}


def unavailable_fields(suppressed: dict[str, Any], reason: str) -> dict[str, Any]:
    """A cell whose figures this round's data cannot give: every figure null, and why."""
    return {**suppressed, "suppressed": False, "unavailable_reason": reason}


def _share_figure(estimate: ShareEstimate) -> Json:
    return dict(
        x=estimate.x,
        p=estimate.p,
        low=estimate.low,
        high=estimate.high,
        low_precision=estimate.low_precision,
    )


def _item_fields(
    item: Item, cell: CellTally, min_cell: int, counts_only: bool = False
) -> dict[str, Any]:
    reason = None
    if counts_only and item.kind == "multi_choice":
        if _answered_unknown(item, cell):
            return unavailable_fields(_SUPPRESSED_ITEM, REASON_ANSWERED)
        if item.favourable and not countable(item, item.favourable):
            reason = REASON_OVERLAP
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
    if meta.has_favourable and reason is None:
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
        "unavailable_reason": reason,
    }


def _indicator_fields(
    definition: QuestionnaireDefinition,
    indicator: Indicator,
    cell: CellTally,
    min_cell: int,
    counts_only: bool = False,
) -> dict[str, Any]:
    target = Target("indicator", indicator.key)
    if counts_only and (reason := counts_only_gap(definition, target, cell)) is not None:
        return unavailable_fields(_SUPPRESSED_INDICATOR, reason)
    estimate = area_share(definition, target, cell, min_cell)
    if estimate is None:
        return _SUPPRESSED_INDICATOR
    return {
        "suppressed": False,
        "n": estimate.n,
        "share": _share_figure(estimate),
        "unavailable_reason": None,
    }


def _composite_fields(
    index: Index, cell: CellTally, min_cell: int, counts_only: bool = False
) -> dict[str, Any]:
    if counts_only:
        return unavailable_fields(_SUPPRESSED_COMPOSITE, REASON_INDEX)
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
        "unavailable_reason": None,
    }
