"""Where a round's tallies live: one row per area × breakdown group (:class:`TallyBlock`).

A block holds every slot of its group as three arrays of little-endian float64 (count, Σ, Σ²)
in the order of the round's ``tally_watermark.slots``. The order only ever grows at the end
(:func:`_slot_order`), so a stored block never has to be rewritten when it grows: an array
shorter than the order reads as zeros past its end. Writers must be serialised per round by
the caller (the fold holds the watermark row, imports hold the round's lock).

New responses touch a few hundred blocks of a round but tens of thousands of slots, and
PostgreSQL's cost of an upsert is per row: merging whole blocks keeps a fold's cost in
proportion to the groups its responses fall in, not to the layout.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from survey_api.models import TallyBlock, TallyWatermark, utcnow

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

Slot = tuple[str, str, int]  # (measure, measure_key, code)
GroupKey = tuple[int, str, int]  # (area_id, breakdown_item, breakdown_code)

__all__ = [
    "GroupKey",
    "Slot",
    "add_blocks",
    "add_rows",
    "areas_with_tallies",
    "delete_round",
    "read_blocks",
    "stored_rows",
    "stored_slots",
]

_DTYPE = "<f8"
# Blocks read or written per statement (a block is a few kB per array).
_CHUNK = 500


def _encode(values: FloatArray) -> bytes:
    import numpy as np

    return np.ascontiguousarray(values, dtype=_DTYPE).tobytes()


def _decode(data: bytes, width: int) -> FloatArray:
    import numpy as np

    values = np.frombuffer(data, dtype=_DTYPE)
    if len(values) >= width:
        return values[:width].astype(np.float64)
    return np.concatenate([values, np.zeros(width - len(values))])


def stored_slots(session: Session, round_id: int) -> list[Slot] | None:
    """The slot order of a round's blocks; None when the round has no tallies yet."""
    stored = session.scalar(
        select(TallyWatermark.slots).where(TallyWatermark.survey_round_id == round_id)
    )
    return None if stored is None else [(m, k, int(c)) for m, k, c in stored]


def _slot_order(session: Session, round_id: int, wanted: Sequence[Slot]) -> list[Slot]:
    """The round's slot order, extended at its end by any of ``wanted`` it lacks."""
    stored = stored_slots(session, round_id)
    if stored is None:
        order = list(wanted)
    else:
        known = set(stored)
        missing = [slot for slot in wanted if slot not in known]
        if not missing:
            return stored
        order = stored + missing
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(TallyWatermark)
        .values(survey_round_id=round_id, last_response_id=0, folded_at=utcnow(), slots=None)
        .on_conflict_do_nothing(index_elements=[TallyWatermark.survey_round_id])
    )
    session.execute(
        update(TallyWatermark)
        .where(TallyWatermark.survey_round_id == round_id)
        .values(slots=[list(slot) for slot in order])
    )
    return order


def add_blocks(
    session: Session,
    round_id: int,
    slots: Sequence[Slot],
    groups: Sequence[GroupKey],
    count: FloatArray,
    total: FloatArray,
    total_sq: FloatArray,
) -> None:
    """Add per-group sums (one row of ``count``/``total``/``total_sq`` per group, one column
    per slot of ``slots``) to the round's stored blocks, creating the blocks that are new."""
    import numpy as np

    if not groups:
        return
    order = _slot_order(session, round_id, slots)
    width = len(order)
    if list(slots) != order[: len(slots)]:
        position = {slot: i for i, slot in enumerate(order)}
        columns = np.asarray([position[slot] for slot in slots], dtype=np.int64)
        arrays = []
        for given in (count, total, total_sq):
            placed = np.zeros((len(groups), width))
            placed[:, columns] = given
            arrays.append(placed)
        count, total, total_sq = arrays
    elif width > len(slots):
        pad = ((0, 0), (0, width - len(slots)))
        count, total, total_sq = (np.pad(a, pad) for a in (count, total, total_sq))

    key = tuple_(TallyBlock.area_id, TallyBlock.breakdown_item, TallyBlock.breakdown_code)
    rows: list[dict[str, Any]] = []
    for start in range(0, len(groups), _CHUNK):
        chunk = groups[start : start + _CHUNK]
        stored = {
            (row.area_id, row.breakdown_item, row.breakdown_code): row
            for row in session.execute(
                select(
                    TallyBlock.area_id,
                    TallyBlock.breakdown_item,
                    TallyBlock.breakdown_code,
                    TallyBlock.counts,
                    TallyBlock.totals,
                    TallyBlock.totals_sq,
                ).where(TallyBlock.survey_round_id == round_id, key.in_(list(chunk)))
            )
        }
        for offset, group in enumerate(chunk):
            index = start + offset
            sums = [count[index], total[index], total_sq[index]]
            found = stored.get(group)
            if found is not None:
                sums = [
                    sums[0] + _decode(found.counts, width),
                    sums[1] + _decode(found.totals, width),
                    sums[2] + _decode(found.totals_sq, width),
                ]
            rows.append(
                dict(
                    survey_round_id=round_id,
                    area_id=group[0],
                    breakdown_item=group[1],
                    breakdown_code=group[2],
                    counts=_encode(sums[0]),
                    totals=_encode(sums[1]),
                    totals_sq=_encode(sums[2]),
                )
            )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(TallyBlock)
    excluded = statement.excluded
    upsert = statement.on_conflict_do_update(
        index_elements=[
            TallyBlock.survey_round_id,
            TallyBlock.area_id,
            TallyBlock.breakdown_item,
            TallyBlock.breakdown_code,
        ],
        set_={
            "counts": excluded.counts,
            "totals": excluded.totals,
            "totals_sq": excluded.totals_sq,
        },
    )
    for start in range(0, len(rows), _CHUNK):
        session.connection().execute(upsert, rows[start : start + _CHUNK])


def add_rows(
    session: Session, round_id: int, slots: Sequence[Slot], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Add tally rows given one per slot (area_id, breakdown_item, breakdown_code, measure,
    measure_key, code, count, total, total_sq), as answer-count imports produce them."""
    import numpy as np

    wanted = list(slots)
    known = set(wanted)
    for row in rows:
        slot = (row["measure"], row["measure_key"], row["code"])
        if slot not in known:
            known.add(slot)
            wanted.append(slot)
    position = {slot: i for i, slot in enumerate(wanted)}
    by_group: dict[GroupKey, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_group[(row["area_id"], row["breakdown_item"], row["breakdown_code"])].append(row)
    groups = list(by_group)
    count = np.zeros((len(groups), len(wanted)))
    total = np.zeros_like(count)
    total_sq = np.zeros_like(count)
    for index, group in enumerate(groups):
        for row in by_group[group]:
            column = position[(row["measure"], row["measure_key"], row["code"])]
            count[index, column] += row["count"]
            total[index, column] += row.get("total", 0.0)
            total_sq[index, column] += row.get("total_sq", 0.0)
    add_blocks(session, round_id, wanted, groups, count, total, total_sq)


def read_blocks(
    session: Session, round_id: int, area_ids: Sequence[int], breakdown_item: str
) -> Iterator[tuple[int, int, dict[Slot, tuple[int, float, float]]]]:
    """(area_id, breakdown_code, non-empty slots) of the blocks of one breakdown item."""
    import numpy as np

    if not area_ids:
        return
    order = stored_slots(session, round_id)
    if order is None:
        return
    width = len(order)
    rows = (
        session.connection()
        .execute(
            select(
                TallyBlock.area_id,
                TallyBlock.breakdown_code,
                TallyBlock.counts,
                TallyBlock.totals,
                TallyBlock.totals_sq,
            ).where(
                TallyBlock.survey_round_id == round_id,
                TallyBlock.area_id.in_(list(area_ids)),
                TallyBlock.breakdown_item == breakdown_item,
            )
        )
        .all()
    )
    for area_id, code, counts, totals, totals_sq in rows:
        count = _decode(counts, width)
        filled = np.flatnonzero(count).tolist()
        # Every contribution counts 1, so a slot with a count of 0 is empty.
        yield (
            area_id,
            code,
            dict(
                zip(
                    [order[i] for i in filled],
                    zip(
                        np.rint(count[filled]).astype(np.int64).tolist(),
                        _decode(totals, width)[filled].tolist(),
                        _decode(totals_sq, width)[filled].tolist(),
                        strict=True,
                    ),
                    strict=True,
                )
            ),
        )


def stored_rows(session: Session, round_id: int) -> list[dict[str, Any]]:
    """A round's tallies as one row per non-empty slot (tests and tools)."""
    area_ids = list(
        session.scalars(
            select(TallyBlock.area_id).where(TallyBlock.survey_round_id == round_id).distinct()
        )
    )
    items = list(
        session.scalars(
            select(TallyBlock.breakdown_item)
            .where(TallyBlock.survey_round_id == round_id)
            .distinct()
        )
    )
    rows = []
    for item in items:
        for area_id, code, slots in read_blocks(session, round_id, area_ids, item):
            for (measure, key, slot_code), (count, total, total_sq) in slots.items():
                rows.append(
                    dict(
                        area_id=area_id,
                        breakdown_item=item,
                        breakdown_code=code,
                        measure=measure,
                        measure_key=key,
                        code=slot_code,
                        count=count,
                        total=total,
                        total_sq=total_sq,
                    )
                )
    return rows


def areas_with_tallies(session: Session, round_id: int, area_ids: Sequence[int]) -> list[int]:
    """Which of ``area_ids`` hold tallies in the round."""
    return list(
        session.scalars(
            select(TallyBlock.area_id)
            .where(TallyBlock.survey_round_id == round_id, TallyBlock.area_id.in_(list(area_ids)))
            .distinct()
        )
    )


def delete_round(session: Session, round_id: int) -> None:
    """Remove a round's tallies and forget their slot order (the watermark is the caller's)."""
    session.execute(delete(TallyBlock).where(TallyBlock.survey_round_id == round_id))
    session.execute(
        update(TallyWatermark).where(TallyWatermark.survey_round_id == round_id).values(slots=None)
    )
