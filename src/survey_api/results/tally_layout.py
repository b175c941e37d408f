"""Tally layout: which tally slots one response contributes to, and accumulating a batch.

The slots and what they count are described in :mod:`survey_api.results.fold`. Everything
here is pure computation (no database), so the fold and tests share it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from survey_api.questionnaires.definition import Item, QuestionnaireDefinition
from survey_api.results.statistics import composite_component, composite_respondent_value

#: ``code`` of the ``base`` row holding the valid n and the sums.
BASE_VALID = 0
#: ``code`` of the ``base`` row counting non-substantive answers.
BASE_NON_SUBSTANTIVE = 1

Slot = tuple[str, str, int]  # (measure, measure_key, code)
if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]


# ---------------------------------------------------------------------------------------------
# Layout: which tally slots one response contributes to
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ItemPlan:
    key: str
    kind: str
    option_slot: Mapping[int, int]
    score: Mapping[int, float]  # substantive codes -> score used for sums (0.0 when unscored)
    substantive: frozenset[int]
    valid_slot: int
    non_substantive_slot: int
    favourable: frozenset[int]
    favourable_slot: int | None  # multi_choice only


@dataclass(frozen=True, slots=True)
class _IndicatorPlan:
    item: str
    codes: frozenset[int]
    slot: int


@dataclass(frozen=True, slots=True)
class _IndexPlan:
    components: tuple[tuple[str, Mapping[int, float]], ...]  # item key, code -> value in 0..1
    slot: int


@dataclass(frozen=True, slots=True)
class _Breakdown:
    item: str
    offset: int  # group index of code -1; the item's codes follow
    code_group: Mapping[int, int]


@dataclass(frozen=True)
class TallyLayout:
    """The tally slots of a questionnaire version and how a response maps onto them."""

    slots: tuple[Slot, ...]
    items: tuple[_ItemPlan, ...]
    indicators: tuple[_IndicatorPlan, ...]
    indices: tuple[_IndexPlan, ...]
    breakdowns: tuple[_Breakdown, ...]
    #: Per group index within an area: (breakdown_item, breakdown_code); group 0 is ('', 0).
    groups: tuple[tuple[str, int], ...]
    respondents_slot: int = 0
    slot_index: Mapping[Slot, int] = field(default_factory=dict)

    def contributions(self, answers: Mapping[str, Any]) -> tuple[list[int], list[float]]:
        """The slots one response adds 1 to, with the value added to total (its square to
        total_sq)."""
        slots = [self.respondents_slot]
        values = [0.0]
        for plan in self.items:
            answer = answers.get(plan.key)
            if answer is None:
                continue
            if plan.kind == "number":
                if _is_number(answer):
                    slots.append(plan.valid_slot)
                    values.append(float(answer))
                continue
            if plan.kind == "multi_choice":
                if not isinstance(answer, list):
                    continue
                any_substantive = False
                any_favourable = False
                for code in answer:
                    slot = plan.option_slot.get(code) if _is_code(code) else None
                    if slot is None:
                        continue
                    slots.append(slot)
                    values.append(0.0)
                    any_substantive = any_substantive or code in plan.substantive
                    any_favourable = any_favourable or code in plan.favourable
                slots.append(plan.valid_slot if any_substantive else plan.non_substantive_slot)
                values.append(0.0)
                if any_favourable and plan.favourable_slot is not None:
                    slots.append(plan.favourable_slot)
                    values.append(0.0)
                continue
            slot = plan.option_slot.get(answer) if _is_code(answer) else None
            if slot is None:
                continue
            slots.append(slot)
            values.append(0.0)
            if answer in plan.substantive:
                slots.append(plan.valid_slot)
                values.append(plan.score[answer])
            else:
                slots.append(plan.non_substantive_slot)
                values.append(0.0)
        for indicator in self.indicators:
            if _contains(answers.get(indicator.item), indicator.codes):
                slots.append(indicator.slot)
                values.append(0.0)
        for index in self.indices:
            component_values = [
                rescaled.get(answer) if _is_code(answer := answers.get(key)) else None
                for key, rescaled in index.components
            ]
            value = composite_respondent_value(component_values, len(index.components))
            if value is not None:
                slots.append(index.slot)
                values.append(value)
        return slots, values

    def group_indexes(self, answers: Mapping[str, Any]) -> list[int]:
        """The groups within its area a response belongs to: the whole area, then one per
        background item."""
        groups = [0]
        for breakdown in self.breakdowns:
            answer = answers.get(breakdown.item)
            group = breakdown.code_group.get(answer) if _is_code(answer) else None
            groups.append(breakdown.offset if group is None else group)
        return groups


def _is_code(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _contains(answer: object, codes: frozenset[int]) -> bool:
    if _is_code(answer):
        return answer in codes
    if isinstance(answer, list):
        return any(_is_code(code) and code in codes for code in answer)
    return False


def _rescaled(item: Item) -> dict[int, float]:
    score_range = item.score_range()
    if score_range is None or not score_range[1] > score_range[0]:
        return {}
    low, high = score_range
    return {
        option.code: composite_component(float(option.score), low, high)
        for option in item.options
        if option.score is not None
    }


# Keyed by id() with the definition kept alive beside its layout, so an id is never reused
# while its entry exists. Published definitions are cached objects, so this hits.
_layouts: dict[int, tuple[QuestionnaireDefinition, TallyLayout]] = {}
_LAYOUT_CACHE_LIMIT = 256


def layout_for(definition: QuestionnaireDefinition) -> TallyLayout:
    """The tally layout of a definition (cached; definitions are frozen)."""
    entry = _layouts.get(id(definition))
    if entry is not None and entry[0] is definition:
        return entry[1]
    layout = _build_layout(definition)
    if len(_layouts) >= _LAYOUT_CACHE_LIMIT:
        _layouts.clear()
    _layouts[id(definition)] = (definition, layout)
    return layout


def _build_layout(definition: QuestionnaireDefinition) -> TallyLayout:
    slots: list[Slot] = [("respondents", "", 0)]

    def add(slot: Slot) -> int:
        slots.append(slot)
        return len(slots) - 1

    items: list[_ItemPlan] = []
    for item in definition.items:
        if item.kind == "text":
            continue
        option_slot = {
            option.code: add(("option", item.key, option.code)) for option in item.options
        }
        valid_slot = add(("base", item.key, BASE_VALID))
        non_substantive_slot = add(("base", item.key, BASE_NON_SUBSTANTIVE))
        favourable_slot = (
            add(("favourable", item.key, 0))
            if item.kind == "multi_choice" and item.favourable
            else None
        )
        items.append(
            _ItemPlan(
                key=item.key,
                kind=item.kind,
                option_slot=option_slot,
                score={
                    option.code: 0.0 if option.score is None else float(option.score)
                    for option in item.options
                    if option.is_substantive
                },
                substantive=frozenset(item.substantive_codes),
                valid_slot=valid_slot,
                non_substantive_slot=non_substantive_slot,
                favourable=frozenset(item.favourable),
                favourable_slot=favourable_slot,
            )
        )
    indicators = [
        _IndicatorPlan(
            item=indicator.item,
            codes=frozenset(indicator.codes),
            slot=add(("indicator", indicator.key, 0)),
        )
        for indicator in definition.indicators
    ]
    indices = [
        _IndexPlan(
            components=tuple((key, _rescaled(definition.item(key))) for key in index.items),
            slot=add(("index", index.key, 0)),
        )
        for index in definition.indices
    ]
    groups: list[tuple[str, int]] = [("", 0)]
    breakdowns: list[_Breakdown] = []
    for item in definition.background_items:
        offset = len(groups)
        groups.append((item.key, -1))
        code_group: dict[int, int] = {}
        for option in item.options:
            code_group[option.code] = len(groups)
            groups.append((item.key, option.code))
        breakdowns.append(_Breakdown(item=item.key, offset=offset, code_group=code_group))
    return TallyLayout(
        slots=tuple(slots),
        items=tuple(items),
        indicators=tuple(indicators),
        indices=tuple(indices),
        breakdowns=tuple(breakdowns),
        groups=tuple(groups),
        slot_index={slot: i for i, slot in enumerate(slots)},
    )


# ---------------------------------------------------------------------------------------------
# Accumulating a batch of responses
# ---------------------------------------------------------------------------------------------


class Accumulator:
    """Dense (area, group, slot) sums; memory is O(cells), whatever the number of responses."""

    def __init__(self, layout: TallyLayout) -> None:
        import numpy as np  # on first use: a process that never folds starts faster

        self.layout = layout
        self.n_slots = len(layout.slots)
        self.n_groups = len(layout.groups)
        self.area_index: dict[int, int] = {}
        self.count: FloatArray = np.zeros(0)
        self.total: FloatArray = np.zeros(0)
        self.total_sq: FloatArray = np.zeros(0)

    def _area(self, area_id: int) -> int:
        import numpy as np

        index = self.area_index.get(area_id)
        if index is None:
            index = self.area_index[area_id] = len(self.area_index)
            grow = np.zeros(self.n_groups * self.n_slots)
            self.count = np.concatenate([self.count, grow])
            self.total = np.concatenate([self.total, grow])
            self.total_sq = np.concatenate([self.total_sq, grow])
        return index

    def add(self, rows: Iterable[tuple[int, Mapping[str, Any]]]) -> None:
        """Add responses given as (area_id, answers)."""
        import numpy as np

        layout = self.layout
        slot_list: list[int] = []
        value_list: list[float] = []
        owner: list[int] = []  # response position of each contribution
        base_groups: list[list[int]] = []  # per response: absolute group rows
        for position, (area_id, answers) in enumerate(rows):
            area_offset = self._area(area_id) * self.n_groups
            slots, values = layout.contributions(answers)
            slot_list.extend(slots)
            value_list.extend(values)
            owner.extend([position] * len(slots))
            base_groups.append([area_offset + g for g in layout.group_indexes(answers)])
        if not base_groups:
            return
        slot_arr: IntArray = np.asarray(slot_list, dtype=np.int64)
        value_arr: FloatArray = np.asarray(value_list, dtype=np.float64)
        owner_arr: IntArray = np.asarray(owner, dtype=np.int64)
        groups_arr: IntArray = np.asarray(base_groups, dtype=np.int64)  # responses × groups
        size = self.count.shape[0]
        square = value_arr * value_arr
        for column in range(groups_arr.shape[1]):
            cell = groups_arr[owner_arr, column] * self.n_slots + slot_arr
            self.count += np.bincount(cell, minlength=size)
            self.total += np.bincount(cell, weights=value_arr, minlength=size)
            self.total_sq += np.bincount(cell, weights=square, minlength=size)

    def blocks(
        self,
    ) -> tuple[list[tuple[int, str, int]], FloatArray, FloatArray, FloatArray]:
        """The groups anything was added to, as (area_id, breakdown_item, breakdown_code),
        with their rows of count, Σ and Σ² (one column per slot)."""
        import numpy as np

        count = self.count.reshape(-1, self.n_slots)
        touched = np.flatnonzero(count.any(axis=1))
        area_index, group = np.divmod(touched, self.n_groups)
        area_ids = np.zeros(len(self.area_index), dtype=np.int64)
        for area_id, index in self.area_index.items():
            area_ids[index] = area_id
        groups = self.layout.groups
        keys = [
            (area_id, *groups[g])
            for area_id, g in zip(area_ids[area_index].tolist(), group.tolist(), strict=True)
        ]
        return (
            keys,
            count[touched],
            self.total.reshape(-1, self.n_slots)[touched],
            self.total_sq.reshape(-1, self.n_slots)[touched],
        )

    def columns(self, round_id: int) -> dict[str, list[Any]]:
        """Non-empty cells as tally columns (every contribution counts 1, so count > 0 means
        non-empty), decoded with array arithmetic rather than row by row."""
        import numpy as np

        cells = np.flatnonzero(self.count)
        group_row, slot = np.divmod(cells, self.n_slots)
        area_index, group = np.divmod(group_row, self.n_groups)
        area_ids = np.zeros(len(self.area_index), dtype=np.int64)
        for area_id, index in self.area_index.items():
            area_ids[index] = area_id
        groups = self.layout.groups
        slots = self.layout.slots
        return {
            "survey_round_id": [round_id] * len(cells),
            "area_id": area_ids[area_index].tolist(),
            "breakdown_item": [groups[g][0] for g in group.tolist()],
            "breakdown_code": [groups[g][1] for g in group.tolist()],
            "measure": [slots[k][0] for k in slot.tolist()],
            "measure_key": [slots[k][1] for k in slot.tolist()],
            "code": [slots[k][2] for k in slot.tolist()],
            "count": np.rint(self.count[cells]).astype(np.int64).tolist(),
            "total": self.total[cells].tolist(),
            "total_sq": self.total_sq[cells].tolist(),
        }


def tally_rows(columns: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def tally_answers(
    definition: QuestionnaireDefinition,
    round_id: int,
    responses: Iterable[tuple[int, Mapping[str, Any]]],
) -> list[dict[str, Any]]:
    """Tally rows for (area_id, answers) pairs, without touching the database (tests, tools)."""
    accumulator = Accumulator(layout_for(definition))
    accumulator.add(responses)
    return tally_rows(accumulator.columns(round_id))
