"""Trend comparability: when two questionnaire versions measure an item, indicator or index alike.

One rule, used both by the trends (results/trends.py breaks a series where it fails) and by the
comparability report of a version against the previous published one: a target's figures join
one series while its ``target_signature`` is equal in both versions. Texts and labels are left
out on purpose, so fixing a translation never breaks a series.
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal

from survey_api.questionnaires.document import (
    Index,
    Indicator,
    Item,
    QuestionnaireDefinition,
)

TargetKind = Literal["item", "indicator", "index"]
ChangeType = Literal[
    "kind_changed",
    "codes_added",
    "codes_removed",
    "scores_changed",
    "favourable_changed",
    "unfavourable_changed",
    "indicator_item_changed",
    "indicator_codes_changed",
    "index_orientation_changed",
    "index_items_changed",
]
Status = Literal["keeps_trend", "breaks", "new", "removed"]

ItemSignature = tuple[
    str, tuple[tuple[int, float | None, bool, bool], ...], tuple[int, ...], tuple[int, ...]
]


def item_signature(item: Item) -> ItemSignature:
    """What must be equal for two versions of an item to form one trend series."""
    # Texts and labels are left out on purpose: fixing a translation must not break a series.
    # Scores are compared as floats so 4 and 4.0 match; substantiveness separates a missing
    # score from an explicit null.
    options = tuple(
        (
            option.code,
            None if option.score is None else float(option.score),
            option.is_substantive,
            option.exclusive,
        )
        for option in sorted(item.options, key=lambda option: option.code)
    )
    return (
        item.kind,
        options,
        tuple(sorted(set(item.favourable))),
        tuple(sorted(set(item.unfavourable))),
    )


def find_indicator(definition: QuestionnaireDefinition, key: str) -> Indicator:
    """The indicator with this key; StopIteration if there is none."""
    return next(i for i in definition.indicators if i.key == key)


def find_index(definition: QuestionnaireDefinition, key: str) -> Index:
    """The composite index with this key; StopIteration if there is none."""
    return next(i for i in definition.indices if i.key == key)


def target_signature(
    definition: QuestionnaireDefinition, kind: TargetKind, key: str
) -> tuple[Any, ...]:
    """What must match between two versions for a target's figures to form one trend series."""
    if kind == "item":
        return ("item", item_signature(definition.item(key)))
    if kind == "indicator":
        indicator = find_indicator(definition, key)
        # Which item it counts is part of it: another question with the same options is
        # another series.
        return (
            "indicator",
            indicator.item,
            item_signature(definition.item(indicator.item)),
            tuple(sorted(set(indicator.codes))),
        )
    index = find_index(definition, key)
    return (
        "index",
        index.orientation,
        tuple((item_key, item_signature(definition.item(item_key))) for item_key in index.items),
    )


@dataclass(frozen=True)
class Change:
    """One reason a target's trend breaks between two versions."""

    type: ChangeType
    item: str | None = None
    codes: tuple[int, ...] = ()
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """The reason in English, as the trend's break reason words it."""
        before, after = ", ".join(self.before) or "none", ", ".join(self.after) or "none"
        codes = _codes(self.codes)
        texts: dict[ChangeType, str] = {
            "kind_changed": f"kind {before} → {after}",
            "codes_added": f"codes added: {codes}",
            "codes_removed": f"codes removed: {codes}",
            "scores_changed": f"scores changed for codes {codes}",
            "favourable_changed": f"favourable codes {before} → {after}",
            "unfavourable_changed": f"unfavourable codes {before} → {after}",
            "indicator_item_changed": f"indicator now counts item '{after}' instead of '{before}'",
            "indicator_codes_changed": f"indicator codes {before} → {after}",
            "index_orientation_changed": f"index orientation {before} → {after}",
            "index_items_changed": f"index components {before} → {after}",
        }
        return texts[self.type]


def _codes(codes: Collection[int]) -> str:
    return ", ".join(map(str, sorted(codes))) or "none"


def _code_texts(codes: Collection[int]) -> tuple[str, ...]:
    return tuple(str(code) for code in sorted(set(codes)))


def item_changes(key: str, old: Item, new: Item) -> list[Change]:
    """Why two versions of an item differ in what their figures mean (empty if they do not)."""
    changes: list[Change] = []
    if old.kind != new.kind:
        changes.append(Change("kind_changed", key, before=(old.kind,), after=(new.kind,)))
    old_codes, new_codes = set(old.codes), set(new.codes)
    if new_codes - old_codes:
        changes.append(Change("codes_added", key, codes=tuple(sorted(new_codes - old_codes))))
    if old_codes - new_codes:
        changes.append(Change("codes_removed", key, codes=tuple(sorted(old_codes - new_codes))))
    rescored = sorted(
        code
        for code in old_codes & new_codes
        if (old.option(code).score, old.option(code).is_substantive, old.option(code).exclusive)
        != (new.option(code).score, new.option(code).is_substantive, new.option(code).exclusive)
    )
    if rescored:
        changes.append(Change("scores_changed", key, codes=tuple(rescored)))
    for name in ("favourable", "unfavourable"):
        before: list[int] = getattr(old, name)
        after: list[int] = getattr(new, name)
        if set(before) != set(after):
            change_type: ChangeType = (
                "favourable_changed" if name == "favourable" else "unfavourable_changed"
            )
            changes.append(
                Change(change_type, key, before=_code_texts(before), after=_code_texts(after))
            )
    return changes


def target_changes(
    old: QuestionnaireDefinition, new: QuestionnaireDefinition, kind: TargetKind, key: str
) -> list[Change]:
    """Why a target present in both versions breaks its trend (empty when it keeps it)."""
    if target_signature(old, kind, key) == target_signature(new, kind, key):
        return []
    if kind == "item":
        return item_changes(key, old.item(key), new.item(key))
    if kind == "indicator":
        a, b = find_indicator(old, key), find_indicator(new, key)
        if a.item != b.item:
            return [Change("indicator_item_changed", None, before=(a.item,), after=(b.item,))]
        if set(a.codes) != set(b.codes):
            return [
                Change(
                    "indicator_codes_changed",
                    before=_code_texts(a.codes),
                    after=_code_texts(b.codes),
                )
            ]
        return item_changes(a.item, old.item(a.item), new.item(b.item))
    x, y = find_index(old, key), find_index(new, key)
    if x.orientation != y.orientation:
        return [
            Change("index_orientation_changed", before=(x.orientation,), after=(y.orientation,))
        ]
    if x.items != y.items:
        return [Change("index_items_changed", before=tuple(x.items), after=tuple(y.items))]
    changes: list[Change] = []
    for item_key in x.items:
        changes.extend(item_changes(item_key, old.item(item_key), new.item(item_key)))
    return changes


def describe(changes: list[Change]) -> str:
    """The changes in English, grouped by item as the trend's break reason words them."""
    parts: list[str] = []
    by_item: dict[str | None, list[str]] = {}
    for change in changes:
        by_item.setdefault(change.item, []).append(change.message)
    for item, messages in by_item.items():
        if item is None:
            parts.append("; ".join(messages))
        else:
            parts.append(f"item '{item}': " + "; ".join(messages))
    return "; ".join(parts) or "definition changed"


def break_reason(
    old: QuestionnaireDefinition, new: QuestionnaireDefinition, kind: TargetKind, key: str
) -> str:
    """Why a trend series breaks between two versions, in English."""
    return "not comparable with the previous round: " + describe(
        target_changes(old, new, kind, key)
    )


@dataclass(frozen=True)
class TargetComparison:
    """Whether one item, indicator or index keeps its trend from one version to the next."""

    target: TargetKind
    key: str
    status: Status
    changes: list[Change] = field(default_factory=list)

    @property
    def reason(self) -> str | None:
        """Why it breaks, in English; None when it keeps its trend."""
        if self.status == "new":
            return f"new {self.target}: no earlier figures to compare with"
        if self.status == "removed":
            return f"{self.target} removed: its series ends with the previous version"
        if self.status == "breaks":
            return describe(self.changes)
        return None


def _keys(definition: QuestionnaireDefinition, kind: TargetKind) -> list[str]:
    if kind == "item":
        # Free text has no figures, so no trend to keep or break.
        return [item.key for item in definition.items if item.kind != "text"]
    if kind == "indicator":
        return [indicator.key for indicator in definition.indicators]
    return [index.key for index in definition.indices]


def _present(definition: QuestionnaireDefinition, kind: TargetKind, key: str) -> bool:
    if kind == "item":
        return key in definition.items_by_key
    return key in _keys(definition, kind)


def compare(
    old: QuestionnaireDefinition | None, new: QuestionnaireDefinition
) -> list[TargetComparison]:
    """Every item (free text aside), indicator and index of either version: keeps its trend,
    breaks (and why), new or removed. In the new version's order, removed ones last. Without
    an earlier version everything is new."""
    result: list[TargetComparison] = []
    kinds: tuple[TargetKind, ...] = ("item", "indicator", "index")
    for kind in kinds:
        new_keys = _keys(new, kind)
        if old is None:
            result.extend(TargetComparison(kind, key, "new") for key in new_keys)
            continue
        old_keys = _keys(old, kind)
        keys = new_keys + [key for key in old_keys if key not in new_keys]
        for key in keys:
            if not _present(old, kind, key):
                result.append(TargetComparison(kind, key, "new"))
            elif not _present(new, kind, key):
                result.append(TargetComparison(kind, key, "removed"))
            else:
                same = target_signature(old, kind, key) == target_signature(new, kind, key)
                status: Status = "keeps_trend" if same else "breaks"
                result.append(
                    TargetComparison(kind, key, status, target_changes(old, new, kind, key))
                )
    return result
