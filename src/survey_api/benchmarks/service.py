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

from sqlalchemy.orm import Session

from survey_api.benchmarks import loading
from survey_api.benchmarks.disclosure import Contribution, shown_cells
from survey_api.benchmarks.loading import Slot
from survey_api.exceptions import ValidationFailed
from survey_api.models import POLICE_CLASSIFICATIONS
from survey_api.questionnaires.checker import load_standard_definition, standard_keys
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.results.cells import _index_map, _map_interval
from survey_api.results.statistics import AreaCell, AreaMeanCell, pooled_mean, pooled_share
from survey_api.results.suppression import primary_suppressed
from survey_api.results.targets import Target, statistic_of, target_signature

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
    """What a benchmark is computed from: per cell key, the contributing areas."""

    standard_key: str
    standard: QuestionnaireDefinition
    cells: dict[str, list[Contribution]] = field(default_factory=lambda: defaultdict(list))
    left_out: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))


def cell_keys() -> list[str]:
    """Every benchmark cell, in order: area types 1–5, then the police classes."""
    return [f"area_type:{t}" for t in range(1, 6)] + [f"police:{p}" for p in POLICE_CLASSIFICATIONS]


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
    reads: dict[Target, list[tuple[loading.CandidateRound, loading.TargetSlots]]] = {}
    for target, (standard_key, standard) in standards.items():
        signature = target_signature(standard, target)
        data = result[target] = BenchmarkData(standard_key=standard_key, standard=standard)
        reads[target] = []
        for candidate in rounds:
            definition = definition_of[candidate.version_id]
            if not target.present_in(definition):
                continue
            if target_signature(definition, target) != signature:
                data.left_out[REASON_DIVERGES].add(candidate.organisation_id)
                continue
            reads[target].append((candidate, loading.target_slots(definition, target)))

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
    tallies = loading.read_tallies(session, wanted, areas)

    for target, pairs in reads.items():
        data = result[target]
        seen: set[tuple[int, int]] = set()
        for candidate, slots in pairs:
            round_tallies = tallies[candidate.id]
            definition = definition_of[candidate.version_id]
            if candidate.counts_only and (
                loading.unavailable(definition, target, round_tallies, slots) is not None
            ):
                data.left_out[REASON_COUNTS_ONLY].add(candidate.organisation_id)
                continue
            _contribute(data, candidate, areas[candidate.id], round_tallies, slots, seen)
    return result


def _contribute(
    data: BenchmarkData,
    candidate: loading.CandidateRound,
    areas: list[loading.BenchmarkArea],
    tallies: loading.RoundTallies,
    slots: loading.TargetSlots,
    seen: set[tuple[int, int]],
) -> None:
    """Add a round's shown areas with a household count to the cells they lie in."""
    values = loading.target_values(tallies, slots)
    organisation_id = candidate.organisation_id
    min_cell = candidate.min_cell
    for area, n, x, total, total_sq in zip(
        areas, values.n, values.x, values.total, values.total_sq, strict=True
    ):
        if (organisation_id, area.id) in seen:
            continue
        seen.add((organisation_id, area.id))
        if primary_suppressed(n, min_cell):
            continue
        if area.households is None or area.households <= 0:
            continue
        contribution = Contribution(
            organisation_id=organisation_id,
            area_id=area.id,
            households=area.households,
            n=n,
            x=x,
            total=total,
            total_sq=total_sq,
            min_cell=min_cell,
            area_type=area.area_type,
            police=area.police_classification,
        )
        if area.area_type is not None:
            data.cells[f"area_type:{area.area_type}"].append(contribution)
        if area.police_classification is not None:
            data.cells[f"police:{area.police_classification}"].append(contribution)


SUPPRESSED: dict[str, object] = {"suppressed": True}


def figure(
    standard: QuestionnaireDefinition,
    target: Target,
    contributions: list[Contribution],
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
        share = pooled_share(
            [AreaCell(households=c.households, x=c.x, n=c.n) for c in contributions]
        )
        value, low, high = share.p, share.low, share.high
    else:
        mean = pooled_mean(
            [
                AreaMeanCell(households=c.households, n=c.n, total=c.total, total_sq=c.total_sq)
                for c in contributions
            ]
        )
        linear = _index_map(standard, target) if statistic != "mean" else None
        if linear is None:
            value, low, high = mean.mean, mean.low, mean.high
        else:
            value, low, high = _map_interval(linear, mean.mean, mean.low, mean.high)
    return {
        "suppressed": False,
        "value": value,
        "low": low,
        "high": high,
        "n": sum(c.n for c in contributions),
        "organisations": len({c.organisation_id for c in contributions}),
        "areas": len(contributions),
    }


def benchmark(session: Session, period: str, target: Target) -> dict[str, object]:
    """The benchmark of a target in a period: every cell, and who was left out and why."""
    return _payload(period, target, collect(session, period, target))


def _payload(period: str, target: Target, data: BenchmarkData) -> dict[str, object]:
    statistic = statistic_of(data.standard, target)
    visible = shown_cells({key: data.cells.get(key, []) for key in cell_keys()})
    return {
        "period": period,
        "target": {"kind": target.kind, "key": target.key},
        "statistic": statistic,
        "standard_questionnaire": data.standard_key,
        "cells": {
            key: figure(data.standard, target, data.cells.get(key, []), shown=key in visible)
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
