"""The benchmark beside an organisation's own results (issue 13): the round results'
``benchmark`` block and the cells the area overview shows per indicator and index.

Every cell is the one :func:`survey_api.benchmarks.service.benchmarks_of` gives (what
``GET /benchmarks`` answers) for the same target, the round's period and the key of the
pooled group or of the area's classification. A target this round's questionnaire version
defines differently from the standard questionnaire gets no benchmark: the benchmark pools
only rounds that match the standard, so the round's own figure would not be comparable.

The round payload is cached per round (:class:`survey_api.results.payload.PayloadCache`), but
the benchmark depends on every other organisation's data and settings, so the block is
computed on each request and attached to the cached bytes, never stored with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Unpack

import pydantic_core
from sqlalchemy.orm import Session

from survey_api.benchmarks import service as benchmarks_service
from survey_api.models import Organisation
from survey_api.questionnaires.checker import load_standard_definition, standard_keys
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.results import payload as payload_module
from survey_api.results.cells import Json
from survey_api.results.loading import RoundHeader, load_header
from survey_api.results.overview_schemas import OverviewBenchmark
from survey_api.results.payload import RoundQuery
from survey_api.results.pooled import _groups
from survey_api.results.schemas import RoundBenchmark, Statistic
from survey_api.results.targets import Target, statistic_of, target_signature

_BLOCK_KEY = b',"benchmark":'
_SUPPRESSED: Json = {"suppressed": True}

NO_STANDARD = "not part of a standard questionnaire, so it has no benchmark"
DIVERGES = (
    "this round's questionnaire version defines it differently from the standard "
    "questionnaire (codes, scores, favourable codes or components), so the round's own figure "
    "is not comparable with the benchmark"
)
BENCHMARK_METHOD = (
    "Beside the organisation's own figures, the benchmark of the same period (GET /benchmarks): "
    "the figure of every opted-in organisation's areas of the same area type or police class "
    "(classification of the round's year), household-weighted, from rounds whose questionnaire "
    "defines the target exactly as the standard questionnaire does. A cell is shown only with "
    "at least 3 organisations and 5 areas, enough answers, no organisation above half the "
    "weight and the two largest at most 85 % of it; otherwise it is "
    '{"suppressed": true}, whatever the reason. The organisation\'s '
    "own areas are part of it only when it has opted in. A target of this round that is not in "
    "a standard questionnaire, or that this round's version defines differently, has no "
    "benchmark (`reason`)."
)


@dataclass(frozen=True, slots=True)
class TargetBenchmark:
    """A target's benchmark in a period, or why it has none (``reason``, then no cells)."""

    target: Target
    statistic: Statistic | None
    standard_questionnaire: str | None
    reason: str | None
    cells: dict[str, Json]

    def listed(self) -> Json:
        """The target as the block's ``targets`` lists it."""
        return {
            "kind": self.target.kind,
            "key": self.target.key,
            "statistic": self.statistic,
            "standard_questionnaire": self.standard_questionnaire,
            "reason": self.reason,
        }


def _standard_of(target: Target) -> tuple[str, QuestionnaireDefinition] | None:
    """The first shipped standard questionnaire that has the target (the benchmark's rule)."""
    for key in standard_keys():
        definition = load_standard_definition(key)
        if target.present_in(definition):
            return key, definition
    return None


def target_benchmarks(
    session: Session,
    period: str,
    definition: QuestionnaireDefinition,
    targets: Sequence[Target],
    memo: dict[Target, dict[str, Any]] | None = None,
) -> dict[Target, TargetBenchmark]:
    """Each target's benchmark in the period, judged against ``definition`` (the round's
    version): none when no standard questionnaire has the target or the version defines it
    differently. ``memo`` keeps the benchmarks computed for the period across calls."""
    memo = {} if memo is None else memo
    result: dict[Target, TargetBenchmark] = {}
    comparable: list[Target] = []
    for target in targets:
        standard = _standard_of(target)
        if standard is None:
            result[target] = TargetBenchmark(target, None, None, NO_STANDARD, {})
        elif target_signature(definition, target) != target_signature(standard[1], target):
            result[target] = TargetBenchmark(target, None, standard[0], DIVERGES, {})
        else:
            comparable.append(target)
    wanted = [t for t in comparable if t not in memo]
    if wanted:
        memo.update(benchmarks_service.benchmarks_of(session, period, wanted))
    for target in comparable:
        found = memo.get(target)
        if found is None:
            result[target] = TargetBenchmark(target, None, None, NO_STANDARD, {})
            continue
        result[target] = TargetBenchmark(
            target,
            found["statistic"],
            found["standard_questionnaire"],
            None,
            dict(found["cells"]),
        )
    return {target: result[target] for target in targets}


def payload_targets(definition: QuestionnaireDefinition, query: RoundQuery) -> list[Target]:
    """The items (those with a share, an index or a mean), indicators and indices a round
    payload for ``query`` holds, in its order."""
    items, indicators, indices = payload_module._select(
        definition, query.get("items"), query.get("indicators"), query.get("indices")
    )
    targets = [Target("item", item.key) for item in items]
    targets = [t for t in targets if statistic_of(definition, t) is not None]
    return (
        targets
        + [Target("indicator", i.key) for i in indicators]
        + [Target("index", i.key) for i in indices]
    )


_PLURAL = {"item": "items", "indicator": "indicators", "index": "indices"}


def _round_block(
    session: Session, organisation_id: int, header: RoundHeader, query: RoundQuery
) -> Json:
    definition = header.definition
    period = header.survey_round.period
    found = target_benchmarks(session, period, definition, payload_targets(definition, query))
    groups: dict[str, Json] = {}
    for group, kind, _ in _groups(header.areas):
        if kind == "organisation":
            continue
        cells: Json = {"items": {}, "indicators": {}, "indices": {}}
        for target, benchmark in found.items():
            if benchmark.reason is None:
                cells[_PLURAL[target.kind]][target.key] = benchmark.cells.get(group, _SUPPRESSED)
        groups[group] = cells
    organisation = session.get(Organisation, organisation_id)
    return {
        "period": period,
        "organisation_opted_in": bool(organisation and organisation.benchmark_opt_in),
        "targets": [benchmark.listed() for benchmark in found.values()],
        "groups": groups,
        "method": BENCHMARK_METHOD,
    }


def round_results_json_with_benchmark(
    session: Session, organisation_id: int, round_id: int, **query: Unpack[RoundQuery]
) -> bytes:
    """The round results' JSON (byte for byte what ``round_results_json`` gives, from the
    same cache) with the ``benchmark`` block, computed now, as its last field."""
    header, entry, _ = payload_module._cached(session, organisation_id, round_id, query)
    body = entry.with_fields(header.folded.as_of, header.shown_pending)
    block = _round_block(session, organisation_id, header, query)
    if not body.endswith(b"}"):
        raise AssertionError("a round payload is a JSON object")
    return body[:-1] + _BLOCK_KEY + pydantic_core.to_json(block) + b"}"


def round_benchmark(
    session: Session, organisation_id: int, round_id: int, **query: Unpack[RoundQuery]
) -> RoundBenchmark:
    """The ``benchmark`` block alone, for the targets ``query`` chooses (the console, which
    shows it beside the tables it builds from the round's results)."""
    header = load_header(session, organisation_id, round_id)
    return RoundBenchmark.model_validate(_round_block(session, organisation_id, header, query))


def overview_benchmark(
    benchmark: TargetBenchmark, area_type: int | None, police: str | None
) -> OverviewBenchmark:
    """The cells of an area's type and police class for one target."""
    type_key = None if area_type is None else f"area_type:{area_type}"
    police_key = None if police is None else f"police:{police}"
    keys = [k for k in (type_key, police_key) if k is not None]
    cells = (
        {}
        if benchmark.reason is not None
        else {k: benchmark.cells.get(k, _SUPPRESSED) for k in keys}
    )
    return OverviewBenchmark.model_validate(
        {
            "statistic": benchmark.statistic,
            "standard_questionnaire": benchmark.standard_questionnaire,
            "reason": benchmark.reason,
            "area_type_cell": type_key,
            "police_cell": police_key,
            "cells": cells,
        }
    )
