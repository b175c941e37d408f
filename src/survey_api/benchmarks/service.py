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
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_api.benchmarks.disclosure import Contribution, shown_cells
from survey_api.exceptions import ValidationFailed
from survey_api.models import POLICE_CLASSIFICATIONS, Organisation, SurveyRound
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.checker import load_standard_definition, standard_keys
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.results.cells import _index_map, _map_interval
from survey_api.results.loading import load_round
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
    standard_key, standard = standard_for(target)
    signature = target_signature(standard, target)
    data = BenchmarkData(standard_key=standard_key, standard=standard)
    rounds = session.execute(
        select(SurveyRound.id, SurveyRound.organisation_id, SurveyRound.questionnaire_version_id)
        .join(Organisation, Organisation.id == SurveyRound.organisation_id)
        .where(Organisation.benchmark_opt_in.is_(True), SurveyRound.period == period)
        .order_by(SurveyRound.organisation_id, SurveyRound.id.desc())
    ).all()
    seen: set[tuple[int, int]] = set()
    for round_id, organisation_id, version_id in rounds:
        definition = questionnaires_service.published_definition(session, version_id)
        if not target.present_in(definition):
            continue
        if target_signature(definition, target) != signature:
            data.left_out[REASON_DIVERGES].add(organisation_id)
            continue
        loaded = load_round(session, organisation_id, round_id, targets=[target])
        if loaded.unavailable(target, [a.id for a in loaded.areas]) is not None:
            data.left_out[REASON_COUNTS_ONLY].add(organisation_id)
            continue
        stats = loaded.area_stats(target)
        for area in loaded.areas:
            if (organisation_id, area.id) in seen:
                continue
            seen.add((organisation_id, area.id))
            own = stats[area.id]
            if primary_suppressed(own.n, loaded.min_cell):
                continue
            if area.households is None or area.households <= 0:
                continue
            sums = own.sums
            contribution = Contribution(
                organisation_id=organisation_id,
                area_id=area.id,
                households=area.households,
                n=own.n,
                x=own.x,
                total=0.0 if sums is None else sums.total,
                total_sq=0.0 if sums is None else sums.total_sq,
                min_cell=loaded.min_cell,
                area_type=area.area_type,
                police=area.police_classification,
            )
            if area.area_type is not None:
                data.cells[f"area_type:{area.area_type}"].append(contribution)
            if area.police_classification is not None:
                data.cells[f"police:{area.police_classification}"].append(contribution)
    return data


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
    data = collect(session, period, target)
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
    result: dict[Target, dict[str, object]] = {}
    for target in targets:
        try:
            result[target] = benchmark(session, period, target)
        except ValidationFailed:
            continue
    return result
