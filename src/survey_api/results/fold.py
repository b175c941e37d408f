"""Folding responses into per-cell tallies (DESIGN.md, "Scale").

Submissions stay append-only and never touch the tallies: updating shared tally rows from every
concurrent submission would serialise all writers on PostgreSQL row locks. Instead, whoever
reads results first folds the responses past the round's watermark into the ``tally`` table in
batches and advances the watermark, so reading a round costs O(cells), not O(responses).

What a round's tallies hold, per area × breakdown (``''`` for the whole area, or one background
item with the respondent's answer code, -1 when not answered):

=============  ===========  =====  ===============================================================
measure        measure_key  code   count / total / total_sq
=============  ===========  =====  ===============================================================
respondents    ``''``       0      responses
option         item         code   answers with this code (one per ticked code for multi_choice)
base           item         0      valid n, Σ score (or number), Σ score²
base           item         1      non-substantive answers ("Vet inte"), no sums
favourable     item         0      respondents ticking a favourable code (multi_choice only; for
                                   single-answer items it is the sum of the options' counts)
indicator      indicator    0      respondents whose answer contains one of the indicator's codes
index          index        0      respondents with a composite value v in 0..1: n, Σv, Σv²
=============  ===========  =====  ===============================================================

Text items never enter tallies. The fold is exact and incremental: folding A then B gives the
same tallies as folding A+B at once, because every entry is a sum over respondents.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeGuard

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from survey_api.models import Response, Tally, TallyWatermark, utcnow
from survey_api.questionnaires.definition import Item, QuestionnaireDefinition
from survey_api.results.statistics import composite_component, composite_respondent_value

__all__ = [
    "BASE_NON_SUBSTANTIVE",
    "BASE_VALID",
    "DEFAULT_BATCH_SIZE",
    "FoldResult",
    "TallyLayout",
    "fold_round",
    "hold_round_for_submission",
    "layout_for",
    "tally_answers",
]

#: Responses read per query while folding (keyset pagination on (survey_round_id, id)).
DEFAULT_BATCH_SIZE = 5000
#: ``code`` of the ``base`` row holding the valid n and the sums.
BASE_VALID = 0
#: ``code`` of the ``base`` row counting non-substantive answers.
BASE_NON_SUBSTANTIVE = 1

# Advisory locks are keyed (namespace, round id) so they never collide with other users of
# PostgreSQL advisory locks on the same database. 0x7461_6C79 is "taly".
_LOCK_NAMESPACE = 0x7461_6C79

Slot = tuple[str, str, int]  # (measure, measure_key, code)
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# ---------------------------------------------------------------------------------------------
# Concurrency
# ---------------------------------------------------------------------------------------------


def hold_round_for_submission(session: Session, round_id: int) -> None:
    """Called by submitters *before* inserting responses into a round (PostgreSQL only).

    Response ids come from a sequence and transactions can commit out of order: id 101 may
    commit after id 102. A folder that saw 102 and advanced the watermark past it would skip
    101 for ever. So every submitting transaction holds a *shared* advisory lock on its round
    from before it draws an id until it commits. The folder, after folding what it could see,
    takes the *exclusive* lock (:func:`fold_round`): that waits for in-flight submissions to
    commit and holds new ones back until the fold commits. While it is held, every id drawn so
    far is committed or rolled back and every later id is larger, so the folder can find the
    late commits in the range it read (by counting) and fold everything up to the largest
    id. Submitters only share the lock, so they never wait for each other, and they wait for
    a folder only during that short final step. SQLite has one writer at a time (every
    transaction is BEGIN IMMEDIATE), so nothing is needed there.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # On the hot path of every submission: a prebuilt statement on the session's own
        # connection (same transaction) skips the ORM's per-statement work.
        connection.execute(_HOLD_SHARED, {"namespace": _LOCK_NAMESPACE, "round_id": round_id})


_HOLD_SHARED = text("SELECT pg_advisory_xact_lock_shared(:namespace, :round_id)")


def _lock_round_for_fold(session: Session, round_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, :round_id)"),
            {"namespace": _LOCK_NAMESPACE, "round_id": round_id},
        )


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


class _Accumulator:
    """Dense (area, group, slot) sums; memory is O(cells), whatever the number of responses."""

    def __init__(self, layout: TallyLayout) -> None:
        self.layout = layout
        self.n_slots = len(layout.slots)
        self.n_groups = len(layout.groups)
        self.area_index: dict[int, int] = {}
        self.count: FloatArray = np.zeros(0)
        self.total: FloatArray = np.zeros(0)
        self.total_sq: FloatArray = np.zeros(0)

    def _area(self, area_id: int) -> int:
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

    def columns(self, round_id: int) -> dict[str, list[Any]]:
        """Non-empty cells as tally columns (every contribution counts 1, so count > 0 means
        non-empty), decoded with array arithmetic rather than row by row."""
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


def _rows(columns: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def tally_answers(
    definition: QuestionnaireDefinition,
    round_id: int,
    responses: Iterable[tuple[int, Mapping[str, Any]]],
) -> list[dict[str, Any]]:
    """Tally rows for (area_id, answers) pairs, without touching the database (tests, tools)."""
    accumulator = _Accumulator(layout_for(definition))
    accumulator.add(responses)
    return _rows(accumulator.columns(round_id))


# ---------------------------------------------------------------------------------------------
# The fold
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoldResult:
    """What a fold did. ``as_of``: every response committed before it is in the tallies."""

    as_of: datetime
    folded: int
    last_response_id: int


_TALLY_COLUMNS = (
    "survey_round_id",
    "area_id",
    "breakdown_item",
    "breakdown_code",
    "measure",
    "measure_key",
    "code",
    "count",
    "total",
    "total_sq",
)
_TALLY_TYPES = (
    "integer",
    "integer",
    "varchar",
    "integer",
    "varchar",
    "varchar",
    "integer",
    "integer",
    "double precision",
    "double precision",
)
# One statement per chunk: the rows travel as one array literal per column (a single text
# parameter each, which psycopg sends as is and PostgreSQL parses in C), so a fold upserts tens
# of thousands of cells per round trip.
_POSTGRES_UPSERT = text(
    f"INSERT INTO tally ({', '.join(_TALLY_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"CAST(:{c} AS {t}[])" for c, t in zip(_TALLY_COLUMNS, _TALLY_TYPES, strict=True))
    + ") ON CONFLICT (survey_round_id, area_id, breakdown_item, breakdown_code, measure, "
    "measure_key, code) DO UPDATE SET count = tally.count + EXCLUDED.count, "
    "total = tally.total + EXCLUDED.total, total_sq = tally.total_sq + EXCLUDED.total_sq"
)
_POSTGRES_CHUNK = 100_000


def _array_literal(values: Sequence[Any], kind: str) -> str:
    if kind == "varchar":
        # Keys are [a-z0-9_] by the definition format, but quote and escape anyway.
        quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        return "{" + ",".join(quoted) + "}"
    # repr() of a float is the shortest text that reads back as the same double.
    return "{" + ",".join(map(repr, values)) + "}"


def _upsert(session: Session, columns: Mapping[str, list[Any]]) -> None:
    """Add cells to existing tallies (INSERT ... ON CONFLICT DO UPDATE, on both databases)."""
    size = len(columns["count"])
    if not size:
        return
    if session.get_bind().dialect.name == "postgresql":
        for start in range(0, size, _POSTGRES_CHUNK):
            session.execute(
                _POSTGRES_UPSERT,
                {
                    c: _array_literal(columns[c][start : start + _POSTGRES_CHUNK], t)
                    for c, t in zip(_TALLY_COLUMNS, _TALLY_TYPES, strict=True)
                },
            )
        return
    statement = sqlite.insert(Tally)
    excluded = statement.excluded
    # executemany of one compiled statement (a multi-row VALUES would be recompiled per chunk).
    session.connection().execute(
        statement.on_conflict_do_update(
            index_elements=[
                Tally.survey_round_id,
                Tally.area_id,
                Tally.breakdown_item,
                Tally.breakdown_code,
                Tally.measure,
                Tally.measure_key,
                Tally.code,
            ],
            set_={
                "count": Tally.count + excluded["count"],
                "total": Tally.total + excluded.total,
                "total_sq": Tally.total_sq + excluded.total_sq,
            },
        ),
        _rows(columns),
    )


def _watermark(session: Session, round_id: int) -> int | None:
    return session.scalar(
        select(TallyWatermark.last_response_id).where(TallyWatermark.survey_round_id == round_id)
    )


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they are stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _fold_after(
    session: Session,
    round_id: int,
    accumulator: _Accumulator,
    after: int,
    batch_size: int,
    seen: list[IntArray] | None = None,
) -> tuple[int, int]:
    """Accumulate the visible responses with id > ``after`` in id order, batch by batch.

    Returns (largest id folded, or ``after``; number folded); ``seen`` collects their ids.
    """
    last, folded = after, 0
    while True:
        batch = session.execute(
            select(Response.id, Response.area_id, Response.answers)
            .where(Response.survey_round_id == round_id, Response.id > last)
            .order_by(Response.id)
            .limit(batch_size)
        ).all()
        if not batch:
            break
        accumulator.add((row.area_id, row.answers) for row in batch)
        if seen is not None:
            seen.append(np.fromiter((row.id for row in batch), dtype=np.int64, count=len(batch)))
        folded += len(batch)
        last = batch[-1].id
        if len(batch) < batch_size:
            break
    return last, folded


def _fold_gaps(
    session: Session,
    round_id: int,
    accumulator: _Accumulator,
    after: int,
    upto: int,
    seen: list[IntArray],
    folded: int,
) -> int:
    """Fold responses in (after, upto] that were not yet committed when first read; returns
    how many there were. Must run under the exclusive lock, when every id drawn is final."""
    committed = session.scalar(
        select(func.count())
        .select_from(Response)
        .where(Response.survey_round_id == round_id, Response.id > after, Response.id <= upto)
    )
    if committed == folded:
        return 0
    ids = np.fromiter(
        session.scalars(
            select(Response.id).where(
                Response.survey_round_id == round_id, Response.id > after, Response.id <= upto
            )
        ),
        dtype=np.int64,
    )
    missing = np.setdiff1d(ids, np.concatenate(seen) if seen else np.zeros(0, dtype=np.int64))
    for start in range(0, len(missing), 1000):
        chunk = missing[start : start + 1000].tolist()
        rows = session.execute(
            select(Response.area_id, Response.answers).where(Response.id.in_(chunk))
        ).all()
        accumulator.add((row.area_id, row.answers) for row in rows)
    return len(missing)


def fold_round(
    session: Session,
    round_id: int,
    definition: QuestionnaireDefinition,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    wait: bool = False,
) -> FoldResult:
    """Fold a round's responses past its watermark into its tallies; flushes, never commits.

    Cheap when there is nothing new: one index probe, no lock, ``as_of`` = now. Otherwise:

    1. The watermark row is locked FOR UPDATE. That serialises *folders* (two of them would
       count the same responses twice) but not submitters. If another request is folding
       this round right now, we do not wait for it (unless ``wait``): the tallies as last
       committed are used, and ``as_of`` says how old they are.
    2. The bulk of the work runs without blocking anyone: the committed responses past the
       watermark are read in id order in batches of ``batch_size``, accumulated and upserted.
    3. Then the round's exclusive advisory lock (see :func:`hold_round_for_submission`) waits
       for in-flight submissions to commit and holds new ones back. Now every id drawn so
       far is final, so the responses in the range just folded that committed late (a lower
       id committing after a higher one) are found by counting and folded, then the ones
       committed meanwhile past it. Submissions wait only for this short step, until the
       caller commits, which a results request does right after reading.
    """
    checked_at = utcnow()
    watermark = _watermark(session, round_id) or 0
    pending = session.scalar(
        select(Response.id)
        .where(Response.survey_round_id == round_id, Response.id > watermark)
        .order_by(Response.id)
        .limit(1)
    )
    if pending is None:
        # Nothing committed past the watermark when this statement ran, so every response
        # committed before checked_at is already folded.
        return FoldResult(as_of=checked_at, folded=0, last_response_id=watermark)

    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(TallyWatermark)
        .values(survey_round_id=round_id, last_response_id=0, folded_at=checked_at)
        .on_conflict_do_nothing(index_elements=[TallyWatermark.survey_round_id])
    )
    # A new statement, so under READ COMMITTED it sees a previous folder's commit.
    locked = session.execute(
        select(TallyWatermark.last_response_id)
        .where(TallyWatermark.survey_round_id == round_id)
        .with_for_update(skip_locked=not wait)
    ).first()
    if locked is None:
        current = session.execute(
            select(TallyWatermark.last_response_id, TallyWatermark.folded_at).where(
                TallyWatermark.survey_round_id == round_id
            )
        ).one()
        return FoldResult(
            as_of=_aware(current.folded_at), folded=0, last_response_id=current.last_response_id
        )
    start = locked.last_response_id

    layout = layout_for(definition)
    accumulator = _Accumulator(layout)
    seen: list[IntArray] = []
    last, folded = _fold_after(session, round_id, accumulator, start, batch_size, seen)
    _upsert(session, accumulator.columns(round_id))

    _lock_round_for_fold(session, round_id)
    as_of = utcnow()
    accumulator = _Accumulator(layout)
    if dialect == "postgresql":
        folded += _fold_gaps(session, round_id, accumulator, start, last, seen, folded)
    last, tail = _fold_after(session, round_id, accumulator, last, batch_size)
    folded += tail
    _upsert(session, accumulator.columns(round_id))
    session.execute(
        update(TallyWatermark)
        .where(TallyWatermark.survey_round_id == round_id)
        .values(last_response_id=last, folded_at=as_of)
    )
    session.flush()
    return FoldResult(as_of=as_of, folded=folded, last_response_id=last)
