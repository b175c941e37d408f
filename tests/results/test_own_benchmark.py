"""The benchmark beside an organisation's own results (issue 13): GET /rounds/{id}/results
?benchmark=true and the area overview carry, for the round's pooled groups and the area's own
classification, the very cells GET /benchmarks gives for the same target and period; the
payload without the flag is unchanged byte for byte; a target the round defines differently
from the standard (or one no standard has) gets none; the payload cache never serves a stale
benchmark. Both databases."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from survey_api.results.payload import results_cache
from tests.benchmarks.support import Company, benchmark, company, fresh_period
from tests.benchmarks.test_benchmark_figures import reference
from tests.conftest import Org
from tests.helpers import ok, standard_definition

INDICATOR = "andel_otrygga_kvall"
ITEM = "trygg_ute_kvall"
INDEX = "trygghetsindex"
TARGETS = {"indicator": INDICATOR, "item": ITEM, "index": INDEX}
PLURAL = {"item": "items", "indicator": "indicators", "index": "indices"}


@dataclass
class World:
    period: str
    companies: list[Company]
    rounds: list[int]
    plan: list[list[tuple[str, int, str, int, int, int]]]


def make_world(make_org: Callable[[], Org], *, opt_in_first: bool = True) -> World:
    """Three organisations with two type-1 "utsatt" areas each (area type 1 and police class
    utsatt are the same six areas: shown), and a type-3 area and one without an area type of
    the first (their cells suppressed: too few areas)."""
    period = fresh_period()
    plan = [
        [
            ("a1", 1, "utsatt", 600, 12, 30),
            ("a2", 1, "utsatt", 400, 5, 20),
            ("a3", 3, "none", 500, 4, 25),
            ("a4", None, "none", 400, 2, 12),
        ],
        [("b1", 1, "utsatt", 700, 20, 40), ("b2", 1, "utsatt", 300, 3, 15)],
        [("c1", 1, "utsatt", 500, 9, 25), ("c2", 1, "utsatt", 500, 6, 12)],
    ]
    companies, rounds = [], []
    for i, areas in enumerate(plan):
        made = company(make_org(), opt_in=opt_in_first or i > 0)
        for code, area_type, police, households, _, _ in areas:
            made.area(code, area_type, police, households)
        rounds.append(made.round(period, {code: (x, n) for code, _, _, _, x, n in areas}))
        companies.append(made)
    return World(period, companies, rounds, plan)


def without_as_of(body: bytes) -> bytes:
    """A payload's bytes with its as_of (the instant of the read) blanked."""
    return re.sub(rb'"as_of":"[^"]*"', b'"as_of":""', body, count=1)


def results(made: Company, round_id: int, **params: Any) -> Any:
    response = made.org.integrator.get(f"/api/v1/rounds/{round_id}/results", params=params)
    assert response.status_code == 200, response.text
    return response


def test_block_cells_are_the_benchmarks_cells(make_org: Callable[[], Org]) -> None:
    world = make_world(make_org)
    a = world.companies[0]
    body = results(a, world.rounds[0], benchmark="true", **TARGETS).json()
    block = body["benchmark"]
    assert block["period"] == world.period
    assert block["organisation_opted_in"] is True
    assert block["targets"] == [
        {
            "kind": kind,
            "key": key,
            "statistic": statistic,
            "standard_questionnaire": "trygghetsmatning-standard",
            "reason": None,
        }
        for kind, key, statistic in (
            ("item", ITEM, "favourable_share"),
            ("indicator", INDICATOR, "indicator_share"),
            ("index", INDEX, "composite_index"),
        )
    ]
    # One entry per pooled group of an area type or a police class, none for the organisation.
    groups = [g["group"] for g in body["pooled"] if g["kind"] != "organisation"]
    assert groups == ["area_type:1", "area_type:3", "police:none", "police:utsatt"]
    assert list(block["groups"]) == groups
    for kind, key in TARGETS.items():
        cells = benchmark(a.org.analyst, world.period, **{kind: key})["cells"]
        for group in groups:
            assert block["groups"][group][PLURAL[kind]] == {key: cells[group]}, (kind, group)
    # The shown cell against an independent computation of the pooled share (every area of
    # type 1 has n >= 10, so all six contribute).
    shown = [(h, x, n) for areas in world.plan for _, t, _, h, x, n in areas if t == 1]
    p, low, high, n = reference(shown)
    cell = block["groups"]["area_type:1"]["indicators"][INDICATOR]
    assert cell["value"] == pytest.approx(p, abs=1e-12)
    assert (cell["low"], cell["high"]) == (pytest.approx(low), pytest.approx(high))
    assert (cell["n"], cell["organisations"], cell["areas"]) == (n, 3, 6)
    assert block["groups"]["police:utsatt"]["indicators"][INDICATOR] == cell
    # One area of type 3, and an index nobody answered enough for: exactly {"suppressed": true}.
    assert block["groups"]["area_type:3"]["indicators"][INDICATOR] == {"suppressed": True}
    assert block["groups"]["area_type:1"]["indices"][INDEX] == {"suppressed": True}
    raw = results(a, world.rounds[0], benchmark="true", indicator=INDICATOR).content
    assert (
        b'"area_type:3":{"items":{},"indicators":{"andel_otrygga_kvall":{"suppressed":true}}' in raw
    )


def test_whole_round_lists_every_target_with_a_figure(make_org: Callable[[], Org]) -> None:
    world = make_world(make_org)
    a = world.companies[0]
    body = results(a, world.rounds[0], benchmark="true").json()
    block = body["benchmark"]
    organisation = body["pooled"][0]
    listed = {(t["kind"], t["key"]) for t in block["targets"]}
    expected = {("item", i["key"]) for i in organisation["items"]}
    expected |= {("indicator", i["key"]) for i in organisation["indicators"]}
    expected |= {("index", i["key"]) for i in organisation["indices"]}
    assert listed == expected
    assert all(t["reason"] is None for t in block["targets"])
    for group in block["groups"].values():
        assert set(group["items"]) == {k for kind, k in listed if kind == "item"}
    some = next(t["key"] for t in block["targets"] if t["kind"] == "item" and t["key"] != ITEM)
    other = benchmark(a.org.analyst, world.period, item=some)["cells"]
    assert block["groups"]["area_type:1"]["items"][some] == other["area_type:1"]


def test_without_the_flag_the_payload_is_unchanged(make_org: Callable[[], Org]) -> None:
    world = make_world(make_org)
    a, round_id = world.companies[0], world.rounds[0]
    for params in ({}, {"indicator": INDICATOR}, {"by": "kon"}):
        plain = without_as_of(results(a, round_id, **params).content)
        off = without_as_of(results(a, round_id, benchmark="false", **params).content)
        on = without_as_of(results(a, round_id, benchmark="true", **params).content)
        assert off == plain
        assert b'"benchmark"' not in plain
        # The flag adds the block as the last field and changes nothing before it.
        cut = on.index(b',"benchmark":')
        assert on[:cut] + b"}" == plain
        assert json.loads(on[cut + len(b',"benchmark":') : -1])["period"] == world.period


def test_a_diverging_or_non_standard_target_gets_none(make_org: Callable[[], Org]) -> None:
    world = make_world(make_org)
    diverging = standard_definition()
    indicator = next(i for i in diverging["indicators"] if i["key"] == INDICATOR)
    indicator["codes"] = [4, 5]
    own = dict(indicator, key="egen_andel", codes=[3])
    diverging["indicators"].append(own)
    other = company(make_org(), definition=diverging)
    other.area("d1", 1, "utsatt", 500)
    round_id = other.round(world.period, {"d1": (4, 20)})
    body = results(
        other, round_id, benchmark="true", indicator=[INDICATOR, "egen_andel"], item=ITEM
    ).json()
    reasons = {t["key"]: t["reason"] for t in body["benchmark"]["targets"]}
    assert reasons[ITEM] is None
    assert "defines it differently from the standard" in reasons[INDICATOR]
    assert "not comparable" in reasons[INDICATOR]
    assert "not part of a standard questionnaire" in reasons["egen_andel"]
    group = body["benchmark"]["groups"]["area_type:1"]
    assert group["indicators"] == {}
    assert group["items"] == {
        ITEM: benchmark(other.org.analyst, world.period, item=ITEM)["cells"]["area_type:1"]
    }
    # The overview says the same for the area's indicators.
    overview = ok(
        other.org.analyst.get(
            f"/api/v1/areas/{other.areas['d1']}/overview", params={"period": world.period}
        )
    )
    cells = {c["key"]: c["benchmark"] for c in overview["surveys"][0]["rounds"][0]["indicators"]}
    assert cells[INDICATOR]["reason"] == reasons[INDICATOR]
    assert cells[INDICATOR]["cells"] == {}
    assert cells["egen_andel"]["reason"] == reasons["egen_andel"]


def test_the_cache_never_serves_a_stale_benchmark(make_org: Callable[[], Org]) -> None:
    world = make_world(make_org, opt_in_first=False)
    a, round_id = world.companies[0], world.rounds[0]
    first = results(a, round_id, benchmark="true", indicator=INDICATOR).json()["benchmark"]
    assert first["organisation_opted_in"] is False
    # Only two organisations take part: every cell is hidden.
    assert first["groups"]["area_type:1"]["indicators"][INDICATOR] == {"suppressed": True}
    hits = results_cache().hits
    # Another organisation's data change: a third company's type-1 areas are answered.
    late = company(make_org())
    late.area("e1", 1, "utsatt", 500)
    late.area("e2", 1, "utsatt", 500)
    late.round(world.period, {"e1": (7, 20), "e2": (2, 18)})
    second = results(a, round_id, benchmark="true", indicator=INDICATOR).json()["benchmark"]
    assert results_cache().hits > hits  # a's payload came from the cache, unchanged
    now = benchmark(a.org.analyst, world.period)["cells"]
    assert now["area_type:1"]["suppressed"] is False
    assert second["groups"]["area_type:1"]["indicators"][INDICATOR] == now["area_type:1"]
    # And a's own opting in, a setting of its organisation, shows at once too.
    a.opt(True)
    third = results(a, round_id, benchmark="true", indicator=INDICATOR).json()["benchmark"]
    assert third["organisation_opted_in"] is True
    again = benchmark(a.org.analyst, world.period)["cells"]["area_type:1"]
    assert again["organisations"] == 4
    assert third["groups"]["area_type:1"]["indicators"][INDICATOR] == again


def test_overview_has_the_cells_of_the_areas_type_and_police_class(
    make_org: Callable[[], Org],
) -> None:
    world = make_world(make_org)
    a = world.companies[0]
    every = {
        (kind, key): benchmark(a.org.analyst, world.period, **{kind: key})["cells"]
        for kind, key in (("indicator", INDICATOR), ("index", INDEX))
    }
    for code, type_key, police_key in (
        ("a1", "area_type:1", "police:utsatt"),
        ("a3", "area_type:3", "police:none"),
        ("a4", None, "police:none"),  # no area type for the year: its police class only
    ):
        overview = ok(
            a.org.integrator.get(
                f"/api/v1/areas/{a.areas[code]}/overview", params={"period": world.period}
            )
        )
        entry = overview["surveys"][0]["rounds"][0]
        assert len(entry["indicators"]) == 6 and len(entry["indices"]) == 2
        for kind, cells in (("indicator", entry["indicators"]), ("index", entry["indices"])):
            for cell in cells:
                bm = cell["benchmark"]
                assert bm["reason"] is None
                assert bm["standard_questionnaire"] == "trygghetsmatning-standard"
                assert (bm["area_type_cell"], bm["police_cell"]) == (type_key, police_key)
                keys = [k for k in (type_key, police_key) if k is not None]
                assert list(bm["cells"]) == keys
                if (kind, cell["key"]) in every:
                    expected = every[(kind, cell["key"])]
                    assert bm["cells"] == {k: expected[k] for k in keys}
        shown = entry["indicators"][0]["benchmark"]["cells"][police_key]
        assert shown["suppressed"] is (code != "a1")
