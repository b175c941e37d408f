"""The tallies of many rounds in one query, cut to the slots the targets need (issue 13).

A tally block (results/tally_store.py) holds every slot of an area as three float64 arrays in
the order of its round's ``tally_watermark.slots``. A benchmark target needs two or three of
~200 slots, so the blocks are cut in SQL (``substr`` of the bytes, adjacent slots read as one
run) and the 15,000 blocks of 300 rounds × 50 areas cost tens of kilobytes instead of the
23 MB of their counts. On PostgreSQL the cut runs are also concatenated per round in SQL
(``string_agg``), so the driver hands back one row per round, not one per area.
:func:`target_values` then gives a target's valid n, share count and sums per area as arrays:
the numbers ``results.cells`` reads from a ``CellTally``, slot by slot.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import LargeBinary, Text, cast, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from survey_api.benchmarks.loading import RoundAreas
from survey_api.models import TallyBlock, TallyWatermark
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.results.cells import counts_only_gap
from survey_api.results.fold import BASE_NON_SUBSTANTIVE, BASE_VALID
from survey_api.results.queries import CellTally
from survey_api.results.targets import (
    Target,
    _has_mean_target,
    _has_share,
    _indicator,
    _meta,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]

Slot = tuple[str, str, int]  # (measure, measure_key, code)

_WIDTH = 8  # bytes per float64 in a tally block
# Positions closer than this are read as one run (one substr), gaps included.
_MERGE_GAP = 3


# ---------------------------------------------------------------------------------------------
# What a target reads of a round's tallies
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TargetSlots:
    """The tally slots a target's figure reads in a round (results/cells.py): the valid n, the
    share count (a sum of counts; empty for a target without a share), the mean's sums (None
    for a target without a mean), and for a round of answer counts only, the slots its check
    of what can be computed looks at."""

    n: Slot
    x: tuple[Slot, ...]
    sums: Slot | None
    check: tuple[Slot, ...]


def target_slots(definition: QuestionnaireDefinition, target: Target) -> TargetSlots:
    """What ``cells.valid_n``, ``share_counts``, ``mean_sums`` and ``counts_only_gap`` read."""
    sums: Slot | None = None
    x: tuple[Slot, ...] = ()
    if target.kind == "index":
        return TargetSlots(("index", target.key, 0), (), ("index", target.key, 0), ())
    if target.kind == "indicator":
        item = definition.item(_indicator(definition, target.key).item)
        x = (("indicator", target.key, 0),)
    else:
        item = definition.item(target.key)
        if _has_share(definition, target):
            if item.kind == "multi_choice":
                x = (("favourable", item.key, 0),)
            else:
                x = tuple(("option", item.key, code) for code in _meta(item).favourable)
        if _has_mean_target(definition, target):
            sums = ("base", item.key, BASE_VALID)
    check: tuple[Slot, ...] = ()
    if item.kind == "multi_choice":
        check = (
            ("base", item.key, BASE_VALID),
            ("base", item.key, BASE_NON_SUBSTANTIVE),
            *(("option", item.key, code) for code in item.codes),
        )
    return TargetSlots(("base", item.key, BASE_VALID), x, sums, check)


# ---------------------------------------------------------------------------------------------
# Tallies
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class RoundTallies:
    """A round's whole-area tallies, restricted to some slots: one row per area of the round
    (in its areas' order), one column per slot read."""

    count_column: dict[Slot, int]
    sum_column: dict[Slot, int]
    counts: FloatArray
    totals: FloatArray
    totals_sq: FloatArray
    # The counts as integers (as results/tally_store.py reads them), made on first use.
    integers: IntArray | None = None

    def count(self, slot: Slot) -> IntArray:
        """The slot's count per area (0 where nothing was tallied)."""
        import numpy as np

        column = self.count_column.get(slot)
        if column is None:
            return np.zeros(len(self.counts), dtype=np.int64)
        if self.integers is None:
            self.integers = np.rint(self.counts).astype(np.int64)
        return self.integers[:, column]

    def sums(self, slot: Slot) -> tuple[IntArray, FloatArray, FloatArray]:
        """The slot's (count, Σ, Σ²) per area."""
        import numpy as np

        column = self.sum_column.get(slot)
        if column is None:
            zeros = np.zeros(len(self.counts))
            return self.count(slot), zeros, zeros
        return self.count(slot), self.totals[:, column], self.totals_sq[:, column]

    def cell(self, row: int, slots: Iterable[Slot]) -> CellTally:
        """A ``CellTally`` of one area holding the given slots (the non-empty ones, as the
        results code reads them)."""
        tally = CellTally()
        for slot in slots:
            column = self.count_column.get(slot)
            if column is None:
                continue
            count = int(round(float(self.counts[row, column])))
            if count:
                total = total_sq = 0.0
                sum_column = self.sum_column.get(slot)
                if sum_column is not None:
                    total = float(self.totals[row, sum_column])
                    total_sq = float(self.totals_sq[row, sum_column])
                tally.slots[slot] = (count, total, total_sq)
        return tally


@dataclass(slots=True)
class _Group:
    """Rounds whose wanted slots sit at the same positions: read with the same substr runs."""

    count_runs: list[tuple[int, int]]
    sum_runs: list[tuple[int, int]]
    count_column: dict[Slot, int]
    sum_column: dict[Slot, int]
    round_ids: list[int] = field(default_factory=list)


def _runs(positions: Iterable[int]) -> tuple[list[tuple[int, int]], dict[int, int]]:
    """Runs (start, length) covering the positions, and each position's column in the runs'
    concatenation."""
    runs: list[tuple[int, int]] = []
    for position in sorted(set(positions)):
        if runs and position - (runs[-1][0] + runs[-1][1]) < _MERGE_GAP:
            start, _ = runs[-1]
            runs[-1] = (start, position - start + 1)
        else:
            runs.append((position, 1))
    column: dict[int, int] = {}
    offset = 0
    for start, length in runs:
        for i in range(length):
            column[start + i] = offset + i
        offset += length
    return runs, column


# Slot orders by a 64-bit hash of their JSONB and their length (PostgreSQL): 300 rounds of one
# questionnaire usually share one order, so it is transferred and decoded once per process.
_orders_by_digest: dict[tuple[int, int], list[Slot] | None] = {}
_DIGEST_LIMIT = 1000


def _decode_order(text: str | None) -> list[Slot] | None:
    data = None if text is None else json.loads(text)
    return None if data is None else [(m, k, int(c)) for m, k, c in data]


def _slot_orders(session: Session, round_ids: Sequence[int]) -> dict[int, list[Slot]]:
    """Each round's slot order (rounds without tallies are left out); identical orders are
    decoded once."""
    connection = session.connection()
    ids = list(round_ids)
    found = TallyWatermark.survey_round_id.in_(ids), TallyWatermark.slots.is_not(None)
    text = cast(TallyWatermark.slots, Text)
    orders: dict[int, list[Slot] | None] = {}
    if connection.dialect.name == "postgresql":
        digest = func.jsonb_hash_extended(TallyWatermark.slots, 0)
        length = func.jsonb_array_length(TallyWatermark.slots)
        digests = connection.execute(
            select(TallyWatermark.survey_round_id, digest, length).where(
                *found, func.jsonb_typeof(TallyWatermark.slots) == "array"
            )
        )
        by_round: dict[int, tuple[int, int]] = {
            round_id: (key, size) for round_id, key, size in digests
        }
        unknown = set(by_round.values()) - _orders_by_digest.keys()
        if unknown:
            if len(_orders_by_digest) + len(unknown) > _DIGEST_LIMIT:
                _orders_by_digest.clear()
            for key, size, value in connection.execute(
                select(digest, length, text)
                .where(*found, digest.in_(sorted(k for k, _ in unknown)))
                .distinct()
            ):
                _orders_by_digest[(key, size)] = _decode_order(value)
        orders = {round_id: _orders_by_digest.get(key) for round_id, key in by_round.items()}
    else:
        decoded: dict[str, list[Slot] | None] = {}
        for round_id, value in connection.execute(
            select(TallyWatermark.survey_round_id, text).where(*found)
        ):
            if value not in decoded:
                decoded[value] = _decode_order(value)
            orders[round_id] = decoded[value]
    return {round_id: order for round_id, order in orders.items() if order is not None}


def _span(runs: list[tuple[int, int]]) -> tuple[int, int]:
    """(first position, number of positions up to the end of the last run) of some runs."""
    if not runs:
        return 0, 0
    return runs[0][0], runs[-1][0] + runs[-1][1] - runs[0][0]


def _substr(column: Any, start: int, length: int) -> Any:
    return func.substr(column, start * _WIDTH + 1, length * _WIDTH, type_=LargeBinary)


def _round_select(number: int, group: _Group, round_ids: list[int]) -> Any:
    """PostgreSQL: a row per round of the group, with the ids of its blocks' areas and, per
    array, every block's runs concatenated (in the same, unspecified, order as the ids: the
    aggregates of a group see its rows in one order). Each array is detoasted once per block,
    cut to the span of its runs, in a subquery: a ``substr`` per run of the stored (compressed)
    value would decompress it once per run."""
    c_start, c_span = _span(group.count_runs)
    s_start, s_span = _span(group.sum_runs)
    inner = (
        select(
            TallyBlock.survey_round_id,
            TallyBlock.area_id,
            _substr(TallyBlock.counts, c_start, c_span).label("c"),
            _substr(TallyBlock.totals, s_start, s_span).label("t"),
            _substr(TallyBlock.totals_sq, s_start, s_span).label("q"),
        )
        .where(
            TallyBlock.survey_round_id.in_(round_ids),
            TallyBlock.breakdown_item == "",
            TallyBlock.breakdown_code == 0,
        )
        .offset(0)
        .subquery()
    )

    def joined(column: Any, runs: list[tuple[int, int]], origin: int) -> Any:
        if not runs:
            return cast(null(), LargeBinary)
        parts = [_substr(column, start - origin, length) for start, length in runs]
        value = parts[0]
        for part in parts[1:]:
            value = value.op("||", return_type=LargeBinary)(part)
        return func.string_agg(value, literal(b"", LargeBinary), type_=LargeBinary)

    return select(
        literal(number).label("grp"),
        inner.c.survey_round_id,
        func.array_agg(inner.c.area_id).label("area"),
        joined(inner.c.c, group.count_runs, c_start).label("c"),
        joined(inner.c.t, group.sum_runs, s_start).label("t"),
        joined(inner.c.q, group.sum_runs, s_start).label("q"),
    ).group_by(inner.c.survey_round_id)


def _block_select(
    number: int, group: _Group, round_ids: list[int], width_c: int, width_s: int
) -> Any:
    """A row per block of the group's rounds: each run of each array a column of its own,
    padded with NULLs to ``width_c`` count and ``width_s`` sum runs."""

    def cut(column: Any, runs: list[tuple[int, int]], width: int) -> list[Any]:
        parts = [_substr(column, start, length) for start, length in runs]
        return parts + [cast(null(), LargeBinary)] * (width - len(runs))

    return select(
        literal(number).label("grp"),
        TallyBlock.survey_round_id,
        TallyBlock.area_id,
        *cut(TallyBlock.counts, group.count_runs, width_c),
        *cut(TallyBlock.totals, group.sum_runs, width_s),
        *cut(TallyBlock.totals_sq, group.sum_runs, width_s),
    ).where(
        TallyBlock.survey_round_id.in_(round_ids),
        TallyBlock.breakdown_item == "",
        TallyBlock.breakdown_code == 0,
    )


# Per round: its blocks' area ids (in any order) and the counts, totals and totals_sq of the
# runs read, a row per block in that order.
_Blocks = dict[int, tuple["IntArray", "FloatArray", "FloatArray", "FloatArray"]]


def _read_blocks(
    session: Session, groups: list[_Group], only: Collection[int] | None = None
) -> tuple[_Blocks, set[int]]:
    """The groups' blocks (of the rounds in ``only`` when given) in one statement; on
    PostgreSQL a row per round. Returns them and the rounds whose runs did not line up (a
    stored array shorter than the slot order: it grew since the block was last written),
    which the caller reads again with ``per_block``."""
    import numpy as np

    connection = session.connection()
    per_round = only is None and connection.dialect.name == "postgresql"
    width_c = max((len(g.count_runs) for g in groups), default=0)
    width_s = max((len(g.sum_runs) for g in groups), default=0)
    statements: list[Any] = []
    for number, group in enumerate(groups):
        round_ids = [r for r in group.round_ids if only is None or r in only]
        if not group.count_runs or not round_ids:
            continue
        if per_round:
            statements.append(_round_select(number, group, round_ids))
        else:
            statements.append(_block_select(number, group, round_ids, width_c, width_s))
    blocks: _Blocks = {}
    short: set[int] = set()
    if not statements:
        return blocks, short
    statement: Any = statements[0] if len(statements) == 1 else union_all(*statements)
    rows = connection.execute(statement).all()
    if per_round:
        for number, round_id, area_ids, c, t, q in rows:
            group = groups[number]
            c_len = sum(length for _, length in group.count_runs)
            s_len = sum(length for _, length in group.sum_runs)
            arrays = []
            for value, size in ((c, c_len), (t, s_len), (q, s_len)):
                data = bytes(value or b"")
                if len(data) != len(area_ids) * size * _WIDTH:
                    break
                arrays.append(np.frombuffer(data, dtype="<f8").reshape(len(area_ids), size))
            if len(arrays) < 3:
                short.add(round_id)
                continue
            blocks[round_id] = (np.asarray(area_ids, dtype=np.int64), *arrays)  # type: ignore[assignment]
        return blocks, short

    by_round: dict[int, list[Sequence[Any]]] = defaultdict(list)
    for row in rows:
        by_round[row[1]].append(row)
    for round_id, round_rows in by_round.items():
        group = groups[round_rows[0][0]]
        matrices = []
        for first, runs in (
            (3, group.count_runs),
            (3 + width_c, group.sum_runs),
            (3 + width_c + width_s, group.sum_runs),
        ):
            parts = [
                _padded(row[first + i], length)
                for row in round_rows
                for i, (_, length) in enumerate(runs)
            ]
            size = sum(length for _, length in runs)
            matrices.append(
                np.frombuffer(b"".join(parts), dtype="<f8").reshape(len(round_rows), size)
            )
        area_ids = np.asarray([row[2] for row in round_rows], dtype=np.int64)
        blocks[round_id] = (area_ids, matrices[0], matrices[1], matrices[2])
    return blocks, short


def read_tallies(
    session: Session,
    wanted: Mapping[int, tuple[Collection[Slot], Collection[Slot]]],
    areas: Mapping[int, RoundAreas],
) -> dict[int, RoundTallies]:
    """The whole-area tallies of many rounds in one query: per round, the counts of its first
    collection of slots and the (count, Σ, Σ²) of its second, one row per area in ``areas``."""
    import numpy as np

    orders = _slot_orders(session, list(wanted))
    by_key: dict[tuple[Any, ...], _Group] = {}
    for round_id, (count_slots, sum_slots) in wanted.items():
        order = orders.get(round_id)
        position = {} if order is None else {slot: i for i, slot in enumerate(order)}
        counted = sorted({*count_slots, *sum_slots} & position.keys())
        summed = sorted(set(sum_slots) & position.keys())
        key = (
            tuple((slot, position[slot]) for slot in counted),
            tuple((slot, position[slot]) for slot in summed),
        )
        group = by_key.get(key)
        if group is None:
            count_runs, count_at = _runs(position[slot] for slot in counted)
            sum_runs, sum_at = _runs(position[slot] for slot in summed)
            group = by_key[key] = _Group(
                count_runs,
                sum_runs,
                {slot: count_at[position[slot]] for slot in counted},
                {slot: sum_at[position[slot]] for slot in summed},
            )
        group.round_ids.append(round_id)
    groups = list(by_key.values())

    blocks, short = _read_blocks(session, groups)
    if short:
        blocks.update(_read_blocks(session, groups, short)[0])

    result: dict[int, RoundTallies] = {}
    empty = np.zeros(0, dtype=np.int64)
    for group in groups:
        c_len = sum(length for _, length in group.count_runs)
        s_len = sum(length for _, length in group.sum_runs)
        # All rounds of the group at once: blocks and areas keyed (round's place, area id).
        read = [(i, blocks[r]) for i, r in enumerate(group.round_ids) if r in blocks]
        block_keys = np.concatenate([empty, *((i << 32) + found[0] for i, found in read)])
        stacked: list[FloatArray] = [
            np.vstack([np.zeros((0, size)), *(found[k] for _, found in read), np.zeros((1, size))])
            for k, size in ((1, c_len), (2, s_len), (3, s_len))
        ]
        members = [areas[r].id if r in areas else empty for r in group.round_ids]
        wanted_keys = np.concatenate([empty, *((i << 32) + ids for i, ids in enumerate(members))])
        # Each area's block; the last row (zeros) for an area without one.
        key_order = np.argsort(block_keys, kind="stable")
        ordered = block_keys[key_order]
        index = np.full(len(wanted_keys), len(block_keys), dtype=np.int64)
        if len(ordered):
            at = np.minimum(np.searchsorted(ordered, wanted_keys), len(ordered) - 1)
            hit = ordered[at] == wanted_keys
            index[hit] = key_order[at[hit]]
        counts, totals, totals_sq = (np.asarray(m[index], dtype=np.float64) for m in stacked)
        start = 0
        for round_id, ids in zip(group.round_ids, members, strict=True):
            end = start + len(ids)
            result[round_id] = RoundTallies(
                count_column=group.count_column,
                sum_column=group.sum_column,
                counts=counts[start:end],
                totals=totals[start:end],
                totals_sq=totals_sq[start:end],
            )
            start = end
    return result


def _padded(part: bytes | None, length: int) -> bytes:
    """A block's run, padded with zeros to its length (a stored array shorter than the slot
    order reads as zeros past its end)."""
    size = length * _WIDTH
    data = bytes(part or b"")
    return data if len(data) == size else data.ljust(size, b"\0")[:size]


# ---------------------------------------------------------------------------------------------
# A target's figures per area
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AreaValues:
    """A target's valid n, share count x and (Σ, Σ²) per area of a round, in the round's area
    order (x is 0 and the sums 0.0 where the target has none)."""

    n: IntArray
    x: IntArray
    total: FloatArray
    total_sq: FloatArray


def target_values(tallies: RoundTallies, slots: TargetSlots) -> AreaValues:
    """``cells.valid_n``, ``share_counts`` and ``mean_sums`` of every area at once."""
    import numpy as np

    rows = len(tallies.counts)
    n = tallies.count(slots.n)
    x = np.zeros(rows, dtype=np.int64)
    for slot in slots.x:
        x = x + tallies.count(slot)
    if slots.sums is None:
        zeros = np.zeros(rows)
        return AreaValues(n, x, zeros, zeros)
    _, total, total_sq = tallies.sums(slots.sums)
    return AreaValues(n, x, total, total_sq)


def unavailable(
    definition: QuestionnaireDefinition,
    target: Target,
    tallies: RoundTallies,
    slots: TargetSlots,
) -> str | None:
    """Why a round of answer counts only cannot give the target's figure in one of its areas
    (``RoundData.unavailable`` for every area), or None."""
    if target.kind == "index":
        return counts_only_gap(definition, target, CellTally())
    for row in range(len(tallies.counts)):
        reason = counts_only_gap(definition, target, tallies.cell(row, slots.check))
        if reason is not None:
            return reason
    return None
