"""Targets (an item, an indicator or a composite index) and what their figures need to know."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from survey_api.exceptions import ValidationFailed
from survey_api.questionnaires import comparability
from survey_api.questionnaires.definition import (
    Index,
    Indicator,
    Item,
    QuestionnaireDefinition,
)
from survey_api.results.schemas import (
    Statistic,
    TargetKind,
)


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
    return comparability.find_indicator(definition, key)


def _index(definition: QuestionnaireDefinition, key: str) -> Index:
    return comparability.find_index(definition, key)


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
    """What must match between two versions for a target's figures to form one trend series
    (the questionnaires' comparability rule, which the comparability report uses too)."""
    return comparability.target_signature(definition, target.kind, target.key)


def _has_share(definition: QuestionnaireDefinition, target: Target) -> bool:
    if target.kind == "indicator":
        return True
    return target.kind == "item" and _meta(definition.item(target.key)).has_favourable


def _has_mean_target(definition: QuestionnaireDefinition, target: Target) -> bool:
    if target.kind == "index":
        return True
    return target.kind == "item" and _meta(definition.item(target.key)).has_mean


def _measure_keys(definition: QuestionnaireDefinition, target: Target) -> set[str]:
    if target.kind == "indicator":
        return {target.key, _indicator(definition, target.key).item}
    return {target.key}
