"""The benchmark across organisations: which rounds take part, pooled cells, disclosure control.

A benchmark cell is one area type (1–5) or one police class, for one period and one target (an
item, an indicator or a composite index of a shipped standard questionnaire). Its figure pools
the shown areas of every opted-in organisation whose round has the target defined exactly as
the standard does, household-weighted as DESIGN.md's pooled groups, read from the folded
tallies. A cell is shown only when it passes every rule of :func:`disclosed`; otherwise it is
``{"suppressed": true}`` and nothing else, whatever the reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.orm import Session

from survey_api.benchmarks import loading, tallies
from survey_api.benchmarks.pool import Pool, cell_keys
from survey_api.benchmarks.tallies import Slot
from survey_api.exceptions import ValidationFailed
from survey_api.questionnaires.checker import load_standard_definition, standard_keys
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.results.cells import _index_map, _map_interval
from survey_api.results.suppression import MIN_CELL_FLOOR
from survey_api.results.targets import Target, statistic_of, target_signature

if TYPE_CHECKING:
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]

REASON_DIVERGES = (
    "the round's questionnaire version defines the target differently from the standard "
    "questionnaire (codes, scores, favourable codes or components), so its figures are not "
    "comparable"
)
REASON_COUNTS_ONLY = (
    "the round holds imported answer counts only, from which this figure cannot be computed"
)


@dataclass(slots=True)
class BenchmarkData:
    """What a benchmark is computed from: the contributing areas (benchmarks/pool.py)."""

    standard_key: str
    standard: QuestionnaireDefinition
    pool: Pool = field(default_factory=Pool.empty)
    left_out: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))


def standard_for(target: Target) -> tuple[str, QuestionnaireDefinition]:
    """The first shipped standard questionnaire (key, definition) that has the target; 422 when
    none has it."""
    for key in standard_keys():
        definition = load_standard_definition(key)
        if target.present_in(definition):
            return key, definition
    name = {"item": "item", "indicator": "indicator", "index": "index"}[target.kind]
    raise ValidationFailed(
        f"{name}={target.key!r} is not part of a standard questionnaire, so it has no benchmark",
        errors=[{"loc": ["query", name], "msg": "not in a standard questionnaire", "type": name}],
    )


def collect(session: Session, period: str, target: Target) -> BenchmarkData:
    """Read the contributing areas of every opted-in organisation's rounds in the period.

    An area that two of an organisation's rounds in the period cover counts once, from the
    newest round. Only areas with a household count whose own cell is shown (valid n at least
    the organisation's minimum cell size) contribute.
    """
    return collect_many(session, period, [target])[target]


def collect_many(
    session: Session, period: str, targets: Sequence[Target]
) -> dict[Target, BenchmarkData]:
    """:func:`collect` of several targets from one read of the period's rounds
    (benchmarks/loading.py): a few queries whatever the number of rounds and targets. A target
    no standard questionnaire has raises ValidationFailed."""
    standards = {target: standard_for(target) for target in targets}
    rounds = loading.candidate_rounds(session, period)
    definition_of = loading.definitions(session, {r.version_id for r in rounds})
    result: dict[Target, BenchmarkData] = {}
    # Per target, the rounds it reads (in the candidates' order) with the slots it needs.
    reads: dict[Target, list[tuple[loading.CandidateRound, tallies.TargetSlots]]] = {}
    for target, (standard_key, standard) in standards.items():
        signature = target_signature(standard, target)
        data = result[target] = BenchmarkData(standard_key=standard_key, standard=standard)
        reads[target] = []
        # Versions with the same definition share one parsed object: decide once per object.
        verdicts: dict[int, tallies.TargetSlots | bool] = {}
        for candidate in rounds:
            definition = definition_of[candidate.version_id]
            verdict = verdicts.get(id(definition))
            if verdict is None:
                if not target.present_in(definition):
                    verdict = False
                elif target_signature(definition, target) != signature:
                    verdict = True
                else:
                    verdict = tallies.target_slots(definition, target)
                verdicts[id(definition)] = verdict
            if verdict is False:
                continue
            if verdict is True:
                data.left_out[REASON_DIVERGES].add(candidate.organisation_id)
                continue
            reads[target].append((candidate, verdict))

    wanted: dict[int, tuple[set[Slot], set[Slot]]] = {}
    used: dict[int, loading.CandidateRound] = {}
    for pairs in reads.values():
        for candidate, slots in pairs:
            counts, sums = wanted.setdefault(candidate.id, (set(), set()))
            counts.update((slots.n, *slots.x))
            if candidate.counts_only:
                counts.update(slots.check)
            if slots.sums is not None:
                sums.add(slots.sums)
            used[candidate.id] = candidate
    loading.bring_up_to_date(session, list(used.values()), definition_of)
    areas = loading.areas_of_rounds(session, list(used), int(period[:4]))
    read = tallies.read_tallies(session, wanted, areas)

    stacked: dict[tuple[int, ...], tuple[IntArray, ...]] = {}
    for target, pairs in reads.items():
        data = result[target]
        parts: list[tuple[loading.CandidateRound, tallies.AreaValues]] = []
        for candidate, slots in pairs:
            round_tallies = read[candidate.id]
            definition = definition_of[candidate.version_id]
            if candidate.counts_only and (
                tallies.unavailable(definition, target, round_tallies, slots) is not None
            ):
                data.left_out[REASON_COUNTS_ONLY].add(candidate.organisation_id)
                continue
            parts.append((candidate, tallies.target_values(round_tallies, slots)))
        data.pool = _pool(parts, areas, stacked)
    return result


def _pool(
    parts: list[tuple[loading.CandidateRound, tallies.AreaValues]],
    areas: dict[int, loading.RoundAreas],
    stacked: dict[tuple[int, ...], tuple[IntArray, ...]],
) -> Pool:
    """The contributing areas of the rounds read, in order: an area that an organisation's
    newer round in the period covers already is skipped, then areas whose own cell is
    suppressed (valid n below the organisation's minimum cell size) or that have no household
    count are left out."""
    if not parts:
        return Pool.empty()
    rounds = tuple(c.id for c, _ in parts)
    if rounds not in stacked:
        # The same rounds' area columns for every target that reads them: stacked once.
        sizes = [len(values.n) for _, values in parts]
        stacked[rounds] = (
            np.repeat([c.organisation_id for c, _ in parts], sizes).astype(np.int64),
            np.repeat([c.min_cell for c, _ in parts], sizes).astype(np.int64),
            np.concatenate([areas[c.id].id for c, _ in parts]),
            np.concatenate([areas[c.id].households for c, _ in parts]),
            np.concatenate([areas[c.id].area_type for c, _ in parts]),
            np.concatenate([areas[c.id].police for c, _ in parts]),
        )
    organisation, min_cell, area, households, area_type, police = stacked[rounds]
    n = np.concatenate([values.n for _, values in parts])
    x = np.concatenate([values.x for _, values in parts])
    total = np.concatenate([values.total for _, values in parts])
    total_sq = np.concatenate([values.total_sq for _, values in parts])
    # The first (newest) round of an organisation to cover an area is the one it counts from.
    _, first = np.unique(organisation * (1 << 32) + area, return_index=True)
    keep = np.zeros(len(area), dtype=bool)
    keep[first] = True
    keep &= ~primary_suppressed_mask(n, min_cell)
    keep &= households > 0
    return Pool(
        organisation=organisation[keep],
        area=area[keep],
        households=households[keep],
        n=n[keep],
        x=x[keep],
        total=total[keep],
        total_sq=total_sq[keep],
        min_cell=min_cell[keep],
        area_type=area_type[keep],
        police=police[keep],
    )


def primary_suppressed_mask(n: IntArray, min_cell: IntArray) -> npt.NDArray[np.bool_]:
    """:func:`results.suppression.primary_suppressed` of every area at once (``min_cell`` is
    an organisation's effective minimum cell size already)."""
    return n < np.maximum(min_cell, MIN_CELL_FLOOR)


SUPPRESSED: dict[str, object] = {"suppressed": True}


def figure(
    standard: QuestionnaireDefinition,
    target: Target,
    pool: Pool,
    key: str,
    *,
    shown: bool,
) -> dict[str, object]:
    """A cell as the API shows it: the pooled figure, or only ``suppressed: true``."""
    if not shown:
        return dict(SUPPRESSED)
    statistic = statistic_of(standard, target)
    value: float
    low: float | None
    high: float | None
    if statistic in ("indicator_share", "favourable_share"):
        value, low, high = pool.pooled_share(key)
    else:
        value, low, high = pool.pooled_mean(key)
        linear = _index_map(standard, target) if statistic != "mean" else None
        if linear is not None:
            value, low, high = _map_interval(linear, value, low, high)
    where = pool.mask(key)
    return {
        "suppressed": False,
        "value": value,
        "low": low,
        "high": high,
        "n": int(pool.n[where].sum()),
        "organisations": len(np.unique(pool.organisation[where])),
        "areas": int(where.sum()),
    }


def benchmark(session: Session, period: str, target: Target) -> dict[str, object]:
    """The benchmark of a target in a period: every cell, and who was left out and why."""
    return _payload(period, target, collect(session, period, target))


def _payload(period: str, target: Target, data: BenchmarkData) -> dict[str, object]:
    statistic = statistic_of(data.standard, target)
    visible = data.pool.shown()
    return {
        "period": period,
        "target": {"kind": target.kind, "key": target.key},
        "statistic": statistic,
        "standard_questionnaire": data.standard_key,
        "cells": {
            key: figure(data.standard, target, data.pool, key, shown=key in visible)
            for key in cell_keys()
        },
        "left_out": [
            {"organisations": len(ids), "reason": reason}
            for reason, ids in sorted(data.left_out.items())
        ],
    }


def benchmarks_of(
    session: Session, period: str, targets: list[Target]
) -> dict[Target, dict[str, object]]:
    """The benchmark of several targets in one period, each as :func:`benchmark` gives it.

    This is the interface the organisation's own results use to show the benchmark beside
    their areas and pooled groups; a target no standard questionnaire has is left out of the
    result (no error).
    """
    known = []
    for target in dict.fromkeys(targets):
        try:
            standard_for(target)
        except ValidationFailed:
            continue
        known.append(target)
    collected = collect_many(session, period, known)
    return {target: _payload(period, target, collected[target]) for target in known}
