"""The batched read (benchmarks/loading.py, tallies.py, pool.py) against the round-by-round
one it replaced, what a fresh response does to the benchmark, and blocks shorter than their
round's slot order.

The reference below is the benchmark as it was computed before the batched read: each round
loaded on its own through ``results.loading.load_round`` (which folds it first), one
``Contribution`` per area, ``disclosure.shown_cells`` over those lists and the pooled figures of
``results.statistics``. The two must agree to the last bit for every target of the standard
questionnaire.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.benchmarks import service, tallies
from survey_api.benchmarks.disclosure import Contribution, shown_cells
from survey_api.benchmarks.loading import areas_of_rounds
from survey_api.models import Organisation, SurveyRound, TallyWatermark
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.checker import load_standard_definition
from survey_api.results import queries, tally_store
from survey_api.results.cells import _index_map, _map_interval
from survey_api.results.loading import load_round
from survey_api.results.statistics import AreaCell, AreaMeanCell, pooled_mean, pooled_share
from survey_api.results.suppression import primary_suppressed
from survey_api.results.targets import Target, statistic_of, target_signature
from tests.benchmarks.support import (
    INDICATOR,
    answers,
    benchmark,
    company,
    fresh_period,
    upload,
)
from tests.benchmarks.test_benchmark_figures import reference as pooled_reference
from tests.conftest import Org
from tests.helpers import ok, standard_definition
from tests.results.support import generate


def every_target() -> list[Target]:
    definition = load_standard_definition()
    return (
        [Target("item", item.key) for item in definition.items if item.kind != "text"]
        + [Target("indicator", i.key) for i in definition.indicators]
        + [Target("index", i.key) for i in definition.indices]
    )


def round_by_round(session: Session, period: str, target: Target) -> dict[str, Any]:
    """The benchmark of one target computed as before the batched read (commit b6fc5db)."""
    standard_key, standard = service.standard_for(target)
    signature = target_signature(standard, target)
    cells: dict[str, list[Contribution]] = defaultdict(list)
    left_out: dict[str, set[int]] = defaultdict(set)
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
            left_out[service.REASON_DIVERGES].add(organisation_id)
            continue
        loaded = load_round(session, organisation_id, round_id, targets=[target])
        if loaded.unavailable(target, [a.id for a in loaded.areas]) is not None:
            left_out[service.REASON_COUNTS_ONLY].add(organisation_id)
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
            contribution = Contribution(
                organisation_id=organisation_id,
                area_id=area.id,
                households=area.households,
                n=own.n,
                x=own.x,
                total=0.0 if own.sums is None else own.sums.total,
                total_sq=0.0 if own.sums is None else own.sums.total_sq,
                min_cell=loaded.min_cell,
                area_type=area.area_type,
                police=area.police_classification,
            )
            if area.area_type is not None:
                cells[f"area_type:{area.area_type}"].append(contribution)
            if area.police_classification is not None:
                cells[f"police:{area.police_classification}"].append(contribution)
    keys = service.cell_keys()
    visible = shown_cells({key: cells.get(key, []) for key in keys})
    statistic = statistic_of(standard, target)

    def figure(contributions: list[Contribution]) -> dict[str, object]:
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
            value, low, high = mean.mean, mean.low, mean.high
            if linear is not None:
                value, low, high = _map_interval(linear, value, low, high)
        return {
            "suppressed": False,
            "value": value,
            "low": low,
            "high": high,
            "n": sum(c.n for c in contributions),
            "organisations": len({c.organisation_id for c in contributions}),
            "areas": len(contributions),
        }

    return {
        "period": period,
        "target": {"kind": target.kind, "key": target.key},
        "statistic": statistic,
        "standard_questionnaire": standard_key,
        "cells": {
            key: figure(cells[key]) if key in visible else {"suppressed": True} for key in keys
        },
        "left_out": [
            {"organisations": len(ids), "reason": reason}
            for reason, ids in sorted(left_out.items())
        ],
    }


def test_every_target_is_what_the_round_by_round_read_gives(
    make_org: Callable[[], Org], db: sessionmaker[Session]
) -> None:
    period = fresh_period()
    rng = random.Random(13)
    diverging = standard_definition()
    indicator = next(i for i in diverging["indicators"] if i["key"] == INDICATOR)
    indicator["codes"] = [4, 5]
    companies = [company(make_org(), min_cell=5 + 3 * i) for i in range(4)]
    companies.append(company(make_org(), definition=diverging))
    police = ["none", "utsatt", "risk", "none", "sarskilt_utsatt", "none"]
    for number, made in enumerate(companies):
        sets: dict[str, list[dict[str, Any]]] = {}
        for j in range(6):
            code = f"b{j}"
            # One area without a household count: it never contributes.
            households = None if (number, j) == (1, 5) else 300 + 97 * ((number * 7 + j) % 11)
            # Some areas had another classification before: the latest one counts.
            earlier = [{"year": 2023, "area_type": 5, "police_classification": "risk"}]
            made.area(
                code,
                1 + (number + j) % 3,
                police[j],
                households=households,
                earlier=earlier if j % 2 else None,
            )
            sets[code] = generate(rng, rng.randint(4, 24), tilt=rng.uniform(-0.1, 0.5))
        made.round_with(period, sets)
    # An organisation with a second, newer round in the period over two of its areas: those
    # two count from the newer round only.
    companies[0].round_with(period, {"b0": generate(rng, 20), "b1": generate(rng, 3)})
    # An organisation whose round holds imported answer counts only: it takes part where
    # counts suffice, and is left out with the reason where they do not (an index, a
    # multi-choice item whose respondents were not imported).
    counted = company(make_org())
    for j in range(3):
        counted.area(f"h{j}", 1 + j, "none", households=700)
    historical = ok(
        counted.org.admin.post(
            "/api/v1/rounds",
            json={
                "name": "Inläst",
                "questionnaire_version_id": counted.version_id,
                "period": period,
                "area_ids": list(counted.areas.values()),
                "open_date": "2022-03-01",
                "close_date": "2022-04-15",
                "historical": True,
            },
        ),
        201,
    )["id"]
    rows = "".join(
        f"h{j},trygg_ute_kvall,1,{9 + j}\nh{j},trygg_ute_kvall,2,{7 + 2 * j}\n"
        f"h{j},trygg_ute_kvall,3,{4 + j}\nh{j},utsatt_brott_12m,1,{3 + j}\n"
        for j in range(3)
    )
    ok(
        counted.org.admin.post(
            f"/api/v1/rounds/{historical}/tallies/import",
            files={"file": ("counts.csv", f"area,item,option,count\n{rows}".encode(), "text/csv")},
        ),
        201,
    )

    targets = every_target()
    with db() as session:
        batched = service.benchmarks_of(session, period, targets)
    shown = 0
    with db() as session:
        for target in targets:
            expected = round_by_round(session, period, target)
            assert batched[target] == expected, target
            shown += sum(1 for cell in expected["cells"].values() if not cell["suppressed"])
    # The comparison means something: many cells of many targets are shown.
    assert shown >= 40
    assert batched[Target("indicator", INDICATOR)]["left_out"][0]["organisations"] == 1
    reasons = {entry["reason"] for result in batched.values() for entry in result["left_out"]}
    assert service.REASON_COUNTS_ONLY in reasons


def test_a_fresh_response_counts_in_the_next_benchmark(
    make_org: Callable[[], Org], db: sessionmaker[Session]
) -> None:
    """Reading the benchmark folds the rounds that have new responses (one query finds them),
    as reading each round's results would: a response submitted a moment ago is in the next
    benchmark, whoever reads it and whether or not its organisation read its own results."""
    period = fresh_period()
    plan = [[(4, 20), (6, 25)], [(8, 30), (3, 12)], [(5, 15), (9, 40)]]
    companies = [company(make_org()) for _ in plan]
    rounds = []
    for made, areas in zip(companies, plan, strict=True):
        for j in range(len(areas)):
            made.area(f"f{j}", 4, "none", 400 + 100 * j)
        rounds.append(made.round(period, {f"f{j}": xn for j, xn in enumerate(areas)}))
    before = benchmark(companies[0].org.analyst, period)["cells"]["area_type:4"]
    flat = [(400 + 100 * j, x, n) for areas in plan for j, (x, n) in enumerate(areas)]
    assert before["value"] == pytest.approx(pooled_reference(flat)[0], abs=1e-12)
    with db() as session:
        watermark = session.scalar(
            select(TallyWatermark.last_response_id).where(
                TallyWatermark.survey_round_id == rounds[2]
            )
        )

    # Ten new answers in the third organisation's second area, all of them unsafe.
    upload(companies[2].org.integrator, rounds[2], companies[2].areas["f1"], answers(10, 10))
    after = benchmark(companies[1].org.analyst, period)["cells"]["area_type:4"]
    flat[-1] = (500, 19, 50)
    p, low, high, n = pooled_reference(flat)
    assert (after["value"], after["n"]) == (pytest.approx(p, abs=1e-12), n)
    assert (after["low"], after["high"]) == (pytest.approx(low), pytest.approx(high))
    assert after["n"] == before["n"] + 10 and after["value"] > before["value"]
    with db() as session:
        folded = session.scalar(
            select(TallyWatermark.last_response_id).where(
                TallyWatermark.survey_round_id == rounds[2]
            )
        )
    assert watermark is not None and folded is not None and folded > watermark


def test_blocks_shorter_than_the_slot_order_read_as_zeros_past_their_end(
    make_org: Callable[[], Org], db: sessionmaker[Session]
) -> None:
    """A round's slot order only grows at its end, and a block not written since has shorter
    arrays: past their end it holds zeros. The batched read (one row per round on PostgreSQL)
    finds such rounds and reads their blocks one by one, like the results code does."""
    period = fresh_period()
    made = company(make_org())
    for j in range(3):
        made.area(f"s{j}", 2)
    round_id = made.round(period, {"s0": (2, 11), "s1": (5, 14), "s2": (0, 9)})
    benchmark(made.org.analyst, period)  # folds the round
    grown = ("indicator", "tillagd_senare", 0)
    area_ids = [made.areas[f"s{j}"] for j in range(3)]
    with db() as session:
        tally_store.add_blocks(
            session,
            round_id,
            [grown],
            [(area_ids[1], "", 0)],
            np.array([[7.0]]),
            np.array([[0.0]]),
            np.array([[0.0]]),
        )
        session.commit()
        order = tally_store.stored_slots(session, round_id)
        assert order is not None and order[-1] == grown
        base = ("base", "trygg_ute_kvall", 0)
        unsafe = ("indicator", INDICATOR, 0)
        wanted = {round_id: ({base, unsafe, grown}, {base})}
        areas = areas_of_rounds(session, [round_id], int(period[:4]))
        read = tallies.read_tallies(session, wanted, areas)[round_id]
        stored = queries.load_tallies(session, round_id, area_ids)
        for row, area_id in enumerate(area_ids):
            cell = stored.get((area_id, 0), queries.CellTally())
            assert int(read.count(base)[row]) == cell.count(*base)
            assert int(read.count(unsafe)[row]) == cell.count(*unsafe)
            assert int(read.count(grown)[row]) == cell.count(*grown)
            _, total, total_sq = read.sums(base)
            assert (float(total[row]), float(total_sq[row])) == (
                cell.get(*base).total,
                cell.get(*base).total_sq,
            )
        assert [int(v) for v in read.count(grown)] == [0, 7, 0]
        assert [int(v) for v in read.count(base)] == [11, 14, 9]
