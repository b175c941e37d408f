"""Reading every contributing round of a benchmark at once, in a few queries (issue 13).

A benchmark reads the rounds of every opted-in organisation in a period: 300 organisations ×
50 areas is 300 rounds and 15,000 areas. Loading them one by one through the results code
(header, definition, areas, tallies and a fold check per round) cost ~10 ms a round. Here the
number of queries does not grow with the number of rounds:

1. :func:`candidate_rounds`: one query for the rounds of opted-in organisations in the period,
   with their organisation's minimum cell size and whether the round is closed;
2. :func:`definitions`: each distinct questionnaire version parsed once per process (published
   versions never change), the versions not yet known read in one query and identical
   definitions parsed once;
3. :func:`bring_up_to_date`: the freshness rule below (one query to find the rounds with
   waiting code answers, one to find the rounds with unfolded responses);
4. :func:`areas_of_rounds`: one query for the rounds' areas and households, one for their
   classifications (the round's year, else the latest earlier one, as results use);
5. :func:`read_tallies`: one query for the slot order of every round and one for the
   whole-area tally blocks of all of them, cut in SQL (``substr``) to the slots the targets
   need, so 15,000 blocks cost kilobytes, not the 23 MB of their counts;

and each target's valid n, share count and sums come out of the blocks as arrays
(:func:`target_values`), the same numbers ``results.cells`` reads from a ``CellTally``.

**Freshness** (docs/methods.md, section 18). The benchmark is as fresh as a round's own
results: a round that has responses past its fold watermark is folded before it is read, and a
closed round's waiting code answers are released first, exactly what reading the round's
results does. Finding those rounds costs one query for all of them (an index probe per round),
and only the rounds found are folded, one after the other, each committed at once like a
results read does (a fold holds the round's exclusive lock until then). Where a background
folder runs (``SURVEY_API_FOLD_INTERVAL_SECONDS``) it has usually folded them already and the
benchmark folds nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import LargeBinary, Text, cast, exists, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from survey_api.exceptions import NotFound
from survey_api.models import (
    POLICE_CLASSIFICATIONS,
    Area,
    AreaClassification,
    Organisation,
    QuestionnaireVersion,
    Response,
    SurveyRound,
    SurveyRoundArea,
    TallyBlock,
    TallyWatermark,
)
from survey_api.questionnaires.checker import parse_definition
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.responses import pending
from survey_api.results.cells import counts_only_gap
from survey_api.results.fold import BASE_NON_SUBSTANTIVE, BASE_VALID, fold_round
from survey_api.results.queries import CellTally
from survey_api.results.suppression import effective_min_cell
from survey_api.results.targets import (
    Target,
    _has_mean_target,
    _has_share,
    _indicator,
    _meta,
)
from survey_api.rounds import service as rounds_service

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
# Rounds and definitions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CandidateRound:
    """A round of an opted-in organisation in the period."""

    id: int
    organisation_id: int
    version_id: int
    counts_only: bool
    closed: bool
    min_cell: int


def candidate_rounds(session: Session, period: str) -> list[CandidateRound]:
    """Every round in the period of an organisation that opted in, by organisation, newest
    round (highest id) first."""
    closed = rounds_service.status_is("closed", rounds_service.today())
    rows = session.execute(
        select(
            SurveyRound.id,
            SurveyRound.organisation_id,
            SurveyRound.questionnaire_version_id,
            SurveyRound.source,
            closed.label("closed"),
            Organisation.min_cell_size,
        )
        .join(Organisation, Organisation.id == SurveyRound.organisation_id)
        .where(Organisation.benchmark_opt_in.is_(True), SurveyRound.period == period)
        .order_by(SurveyRound.organisation_id, SurveyRound.id.desc())
    ).all()
    return [
        CandidateRound(
            id=round_id,
            organisation_id=organisation_id,
            version_id=version_id,
            counts_only=source == "imported_tallies",
            closed=bool(is_closed),
            min_cell=effective_min_cell(min_cell),
        )
        for round_id, organisation_id, version_id, source, is_closed, min_cell in rows
    ]


# (database url, version id) -> parsed definition. A published version never changes; versions
# with the same definition share one parsed object (300 organisations publishing the standard
# questionnaire are one parse, and one entry in the targets' per-item cache).
_definitions: dict[tuple[str, int], QuestionnaireDefinition] = {}
_by_text: dict[str, QuestionnaireDefinition] = {}
_CACHE_LIMIT = 20_000


def definitions(session: Session, version_ids: Iterable[int]) -> dict[int, QuestionnaireDefinition]:
    """The parsed definitions of published versions; the ones this process has not read yet are
    read in one query. NotFound for an id that is not a published version."""
    url = str(session.get_bind().engine.url)
    wanted = set(version_ids)
    found = {v: d for v in wanted if (d := _definitions.get((url, v))) is not None}
    missing = wanted - set(found)
    if missing:
        rows = session.execute(
            select(QuestionnaireVersion.id, QuestionnaireVersion.definition).where(
                QuestionnaireVersion.id.in_(sorted(missing)),
                QuestionnaireVersion.status == "published",
            )
        ).all()
        if len(rows) != len(missing):
            absent = min(missing - {row.id for row in rows})
            raise NotFound(f"no published questionnaire version with id {absent}")
        if len(_definitions) + len(rows) > _CACHE_LIMIT:
            _definitions.clear()
            _by_text.clear()
        for version_id, data in rows:
            text = json.dumps(data, sort_keys=True, separators=(",", ":"))
            definition = _by_text.get(text)
            if definition is None:
                definition = _by_text[text] = parse_definition(data)
            _definitions[(url, version_id)] = found[version_id] = definition
    return found


def bring_up_to_date(
    session: Session,
    rounds: Sequence[CandidateRound],
    definition_of: dict[int, QuestionnaireDefinition],
) -> int:
    """Release the waiting code answers of closed rounds and fold the rounds that have responses
    past their watermark, as reading each round's results would; returns how many rounds were
    folded. The rounds needing either are found with one query each."""
    if not rounds:
        return 0
    by_id = {r.id: r for r in rounds}
    waiting = pending.waiting_counts(session, list(by_id))
    for round_id, count in waiting.items():
        if count and by_id[round_id].closed:
            # A round that closed by its date: the code answers still waiting join it now.
            pending.release_all(session, round_id)
    watermark = (
        select(TallyWatermark.last_response_id)
        .where(TallyWatermark.survey_round_id == SurveyRound.id)
        .correlate(SurveyRound)
        .scalar_subquery()
    )
    unfolded = session.scalars(
        select(SurveyRound.id)
        .where(
            SurveyRound.id.in_(list(by_id)),
            exists()
            .where(
                Response.survey_round_id == SurveyRound.id,
                Response.id > func.coalesce(watermark, 0),
            )
            .correlate(SurveyRound),
        )
        .order_by(SurveyRound.id)
    ).all()
    folded = 0
    for round_id in unfolded:
        result = fold_round(session, round_id, definition_of[by_id[round_id].version_id])
        if result.folded:
            # As a results read does: end the transaction that holds the round's exclusive
            # lock at once, so submissions to it do not wait for the rest of the benchmark.
            session.commit()
            folded += 1
    return folded


# ---------------------------------------------------------------------------------------------
# Areas
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoundAreas:
    """A round's areas as columns, by area id, classified for the round's year: id,
    households (-1 without), area type (0 without) and police class (its index in
    ``POLICE_CLASSIFICATIONS``, -1 without)."""

    id: IntArray
    households: IntArray
    area_type: IntArray
    police: IntArray


def areas_of_rounds(
    session: Session, round_ids: Collection[int], year: int
) -> dict[int, RoundAreas]:
    """Each round's areas by area id, with the classification of ``year`` (else the latest
    earlier one), as ``results.queries.areas_of_round`` reads them for one round."""
    import numpy as np

    if not round_ids:
        return {}
    ids = sorted(round_ids)
    connection = session.connection()
    rows = connection.execute(
        select(SurveyRoundArea.survey_round_id, Area.id, Area.households)
        .join(Area, Area.id == SurveyRoundArea.area_id)
        .where(SurveyRoundArea.survey_round_id.in_(ids))
        .order_by(SurveyRoundArea.survey_round_id, Area.id)
    ).all()
    police_code = {p: i for i, p in enumerate(POLICE_CLASSIFICATIONS)}
    classification: dict[int, tuple[int, int]] = {}
    # Ascending year, so the latest year not after the round's wins.
    for area_id, area_type, police in connection.execute(
        select(
            AreaClassification.area_id,
            AreaClassification.area_type,
            AreaClassification.police_classification,
        )
        .where(
            AreaClassification.area_id.in_(
                select(SurveyRoundArea.area_id).where(SurveyRoundArea.survey_round_id.in_(ids))
            ),
            AreaClassification.year <= year,
        )
        .order_by(AreaClassification.area_id, AreaClassification.year)
    ).all():
        classification[area_id] = (
            0 if area_type is None else area_type,
            -1 if police is None else police_code[police],
        )
    columns: dict[int, tuple[list[int], list[int], list[int], list[int]]] = {
        round_id: ([], [], [], []) for round_id in ids
    }
    for round_id, area_id, households in rows:
        kind, police_class = classification.get(area_id, (0, -1))
        column = columns[round_id]
        column[0].append(area_id)
        column[1].append(-1 if households is None else households)
        column[2].append(kind)
        column[3].append(police_class)
    return {
        round_id: RoundAreas(*(np.array(values, dtype=np.int64) for values in column))
        for round_id, column in columns.items()
    }


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

    def count(self, slot: Slot) -> IntArray:
        """The slot's count per area (0 where nothing was tallied)."""
        import numpy as np

        column = self.count_column.get(slot)
        if column is None:
            return np.zeros(len(self.counts), dtype=np.int64)
        return np.rint(self.counts[:, column]).astype(np.int64)

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


def _slot_orders(session: Session, round_ids: Sequence[int]) -> dict[int, list[Slot]]:
    """Each round's slot order (rounds without tallies are left out); identical orders are
    decoded once."""
    decoded: dict[str, list[Slot]] = {}
    orders: dict[int, list[Slot]] = {}
    for round_id, text in session.execute(
        select(TallyWatermark.survey_round_id, cast(TallyWatermark.slots, Text)).where(
            TallyWatermark.survey_round_id.in_(list(round_ids)),
            TallyWatermark.slots.is_not(None),
        )
    ):
        if text is None or text == "null":
            continue
        order = decoded.get(text)
        if order is None:
            order = decoded[text] = [(m, k, int(c)) for m, k, c in json.loads(text)]
        orders[round_id] = order
    return orders


def read_tallies(
    session: Session,
    wanted: Mapping[int, tuple[Collection[Slot], Collection[Slot]]],
    areas: Mapping[int, RoundAreas],
) -> dict[int, RoundTallies]:
    """The whole-area tallies of many rounds in one query: per round, the counts of its first
    collection of slots and the (count, Σ, Σ²) of its second, one row per area in ``areas``."""
    import numpy as np

    orders = _slot_orders(session, list(wanted))
    groups: dict[tuple[Any, ...], _Group] = {}
    for round_id, (count_slots, sum_slots) in wanted.items():
        order = orders.get(round_id)
        position = {} if order is None else {slot: i for i, slot in enumerate(order)}
        counted = sorted({*count_slots, *sum_slots} & position.keys())
        summed = sorted(set(sum_slots) & position.keys())
        key = (
            tuple((slot, position[slot]) for slot in counted),
            tuple((slot, position[slot]) for slot in summed),
        )
        group = groups.get(key)
        if group is None:
            count_runs, count_at = _runs(position[slot] for slot in counted)
            sum_runs, sum_at = _runs(position[slot] for slot in summed)
            group = groups[key] = _Group(
                count_runs,
                sum_runs,
                {slot: count_at[position[slot]] for slot in counted},
                {slot: sum_at[position[slot]] for slot in summed},
            )
        group.round_ids.append(round_id)

    width_c = max((len(g.count_runs) for g in groups.values()), default=0)
    width_s = max((len(g.sum_runs) for g in groups.values()), default=0)
    statements = []
    for number, group in enumerate(groups.values()):
        if not group.count_runs:
            continue

        def cut(column: Any, runs: list[tuple[int, int]], width: int, name: str) -> list[Any]:
            parts: list[Any] = [
                func.substr(column, start * _WIDTH + 1, length * _WIDTH, type_=LargeBinary)
                for start, length in runs
            ]
            parts += [cast(null(), LargeBinary)] * (width - len(runs))
            return [part.label(f"{name}{i}") for i, part in enumerate(parts)]

        statements.append(
            select(
                literal(number).label("grp"),
                TallyBlock.survey_round_id,
                TallyBlock.area_id,
                *cut(TallyBlock.counts, group.count_runs, width_c, "c"),
                *cut(TallyBlock.totals, group.sum_runs, width_s, "t"),
                *cut(TallyBlock.totals_sq, group.sum_runs, width_s, "q"),
            ).where(
                TallyBlock.survey_round_id.in_(group.round_ids),
                TallyBlock.breakdown_item == "",
                TallyBlock.breakdown_code == 0,
            )
        )
    rows_by_group: dict[int, list[Sequence[Any]]] = defaultdict(list)
    if statements:
        statement = statements[0] if len(statements) == 1 else union_all(*statements)
        for row in session.connection().execute(statement).all():
            rows_by_group[row[0]].append(row)

    result: dict[int, RoundTallies] = {}
    for number, group in enumerate(groups.values()):
        rows = rows_by_group.get(number, [])
        arrays = [
            _matrix(rows, first, runs)
            for first, runs in (
                (3, group.count_runs),
                (3 + width_c, group.sum_runs),
                (3 + width_c + width_s, group.sum_runs),
            )
        ]
        at = {(row[1], row[2]): i for i, row in enumerate(rows)}
        missing = len(rows)
        for round_id in group.round_ids:
            round_areas = areas.get(round_id)
            area_ids = [] if round_areas is None else round_areas.id.tolist()
            index = np.fromiter(
                (at.get((round_id, area_id), missing) for area_id in area_ids),
                dtype=np.int64,
                count=len(area_ids),
            )
            result[round_id] = RoundTallies(
                count_column=group.count_column,
                sum_column=group.sum_column,
                counts=arrays[0][index],
                totals=arrays[1][index],
                totals_sq=arrays[2][index],
            )
    return result


def _matrix(rows: Sequence[Sequence[Any]], first: int, runs: list[tuple[int, int]]) -> FloatArray:
    """The rows' runs of one array side by side (one row per block), and a row of zeros at
    the end for the areas without a block."""
    import numpy as np

    size = sum(length for _, length in runs)
    matrix = np.zeros((len(rows) + 1, size))
    offset = 0
    for i, (_, length) in enumerate(runs):
        parts = [row[first + i] for row in rows]
        data = b"".join(parts)
        if len(data) != len(rows) * length * _WIDTH:
            # A stored array shorter than the slot order reads as zeros past its end.
            data = b"".join(_padded(part, length) for part in parts)
        if rows:
            matrix[:-1, offset : offset + length] = np.frombuffer(data, dtype="<f8").reshape(
                len(rows), length
            )
        offset += length
    return matrix


def _padded(part: bytes | None, length: int) -> bytes:
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
