"""The benchmark's opt-in setting, who takes part, and its figures against an independent
computation of DESIGN.md's household-weighted pooled share (numpy, statsmodels)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

from tests.benchmarks.support import CELLS, benchmark, company, fresh_period
from tests.conftest import Org
from tests.helpers import ok, standard_definition

Z = float(stats.norm.ppf(0.975))


def test_opt_in_is_off_by_default_and_names_what_is_shared(org: Org) -> None:
    body = ok(org.analyst.get("/api/v1/organisation"))
    assert body["benchmark_opt_in"] is False
    text = body["benchmark_sharing_text"]
    assert set(text) == {"sv", "en"}
    assert "50 %" in text["sv"] and "minst 3 bolag" in text["sv"]
    assert "at least 3 organisations" in text["en"] and "never single responses" in text["en"]
    changed = ok(org.admin.patch("/api/v1/organisation", json={"benchmark_opt_in": True}))
    assert changed["benchmark_opt_in"] is True
    assert ok(org.integrator.get("/api/v1/organisation"))["benchmark_opt_in"] is True
    assert ok(org.admin.patch("/api/v1/organisation", json={"min_cell_size": 12}))[
        "benchmark_opt_in"
    ]
    off = ok(org.admin.patch("/api/v1/organisation", json={"benchmark_opt_in": False}))
    assert off["benchmark_opt_in"] is False


@pytest.mark.parametrize("value", [None, "yes", 1])
def test_opt_in_must_be_a_boolean(org: Org, value: object) -> None:
    response = org.admin.patch("/api/v1/organisation", json={"benchmark_opt_in": value})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert ok(org.admin.get("/api/v1/organisation"))["benchmark_opt_in"] is False


def reference(areas: list[tuple[int, int, int]]) -> tuple[float, float, float, int]:
    """Household-weighted pooled share of (households, x, n) areas, computed independently:
    the weighted mean with statsmodels, Var = Σ w² p(1−p)/n with numpy, clipped to [0, 1]."""
    h = np.array([a[0] for a in areas], dtype=float)
    x = np.array([a[1] for a in areas], dtype=float)
    n = np.array([a[2] for a in areas], dtype=float)
    p_a = x / n
    w = h / h.sum()
    p = float(DescrStatsW(p_a, weights=h).mean)
    half = Z * float(np.sqrt(np.sum(w**2 * p_a * (1 - p_a) / n)))
    return p, max(0.0, p - half), min(1.0, p + half), int(n.sum())


def test_pooled_figures_across_organisations(make_org: Callable[[], Org]) -> None:
    period = fresh_period()
    # Area type 1: three organisations, six areas (one of them too small to be shown).
    # Police class utsatt: the same organisations' type-1 areas in that class.
    plan = {
        "a": [("a1", 1, "utsatt", 800, 12, 30), ("a2", 1, "none", 300, 4, 20)],
        "b": [("b1", 1, "utsatt", 600, 20, 40), ("b2", 1, "utsatt", 400, 3, 15)],
        "c": [("c1", 1, "none", 700, 9, 25), ("c2", 1, "utsatt", 900, 2, 6)],  # c2: n < 10
    }
    orgs = {}
    for name, areas in plan.items():
        made = company(make_org())
        for code, area_type, police, households, _, _ in areas:
            made.area(code, area_type, police, households)
        made.round(period, {code: (x, n) for code, _, _, _, x, n in areas})
        orgs[name] = made
    # Not opted in: its areas of type 1 would change every figure if they took part.
    outsider = company(make_org(), opt_in=False)
    for i in range(3):
        outsider.area(f"o{i}", 1, "utsatt", 5000)
    outsider.round(period, {f"o{i}": (40, 40) for i in range(3)})

    body = benchmark(orgs["a"].org.integrator, period)
    assert body["period"] == period
    assert body["target"] == {"kind": "indicator", "key": "andel_otrygga_kvall"}
    assert body["statistic"] == "indicator_share"
    assert body["standard_questionnaire"] == "trygghetsmatning-standard"
    assert body["left_out"] == []
    assert list(body["cells"]) == CELLS

    shown = [(h, x, n) for areas in plan.values() for _, _, _, h, x, n in areas if n >= 10]
    p, low, high, n = reference(shown)
    cell = body["cells"]["area_type:1"]
    assert cell["suppressed"] is False
    assert cell["value"] == pytest.approx(p, abs=1e-12)
    assert cell["low"] == pytest.approx(low, abs=1e-12)
    assert cell["high"] == pytest.approx(high, abs=1e-12)
    assert (cell["n"], cell["organisations"], cell["areas"]) == (n, 3, 5)
    # utsatt: a1, b1, b2 (c2 too small): 3 areas, 2 organisations -> hidden.
    assert body["cells"]["police:utsatt"] == {"suppressed": True}
    for key in CELLS:
        if key != "area_type:1":
            assert body["cells"][key] == {"suppressed": True}

    # Once the outsider opts in, its areas take part.
    outsider.opt(True)
    joined = benchmark(orgs["b"].org.analyst, period)["cells"]
    p, low, high, n = reference(shown + [(5000, 40, 40)] * 3)
    # The outsider would carry 15000 of 18700 households: dominant, so hidden.
    assert joined["area_type:1"] == {"suppressed": True}
    assert p > 0.5 and n > 0


def test_item_and_index_targets(make_org: Callable[[], Org]) -> None:
    period = fresh_period()
    plan = [(5, 20), (8, 20), (2, 12), (10, 30), (6, 15), (0, 11)]
    companies = [company(make_org()) for _ in range(3)]
    data = []
    for i, (x, n) in enumerate(plan):
        made = companies[i % 3]
        made.area(f"t{i}", 3, "none", 400 + 100 * i)
        data.append((400 + 100 * i, x, n))
    for made in companies:
        made.round(period, {code: plan[int(code[1:])] for code in made.areas})
    item = benchmark(companies[0].org.analyst, period, item="trygg_ute_kvall")
    assert item["statistic"] == "favourable_share"
    p, low, high, _ = reference([(h, n - x, n) for h, x, n in data])
    cell = item["cells"]["area_type:3"]
    assert cell["value"] == pytest.approx(p, abs=1e-12)
    assert (cell["low"], cell["high"]) == (pytest.approx(low), pytest.approx(high))
    assert (cell["organisations"], cell["areas"]) == (3, 6)
    assert item["cells"]["police:none"] == cell

    # The safety index over components answered by fewer than half of them: no respondent
    # has a value, so no area is shown and every cell is hidden.
    index = benchmark(companies[0].org.analyst, period, index="trygghetsindex")
    assert index["statistic"] == "composite_index"
    assert all(c == {"suppressed": True} for c in index["cells"].values())


def test_a_diverging_version_is_left_out_with_the_reason(make_org: Callable[[], Org]) -> None:
    period = fresh_period()
    diverging = standard_definition()
    indicator = next(i for i in diverging["indicators"] if i["key"] == "andel_otrygga_kvall")
    indicator["codes"] = [4, 5]  # "unsafe" no longer counts code 3
    companies = [company(make_org()) for _ in range(3)]
    other = company(make_org(), definition=diverging)
    for i, made in enumerate([*companies, other]):
        for j in range(2):
            made.area(f"d{j}", 2, "risk", 500)
        made.round(period, {"d0": (3 + i, 20), "d1": (5, 25)})
    body = benchmark(companies[0].org.analyst, period)
    assert body["left_out"] == [{"organisations": 1, "reason": body["left_out"][0]["reason"]}]
    assert "differently from the standard questionnaire" in body["left_out"][0]["reason"]
    assert other.org.slug not in str(body)
    cell = body["cells"]["area_type:2"]
    assert (cell["organisations"], cell["areas"]) == (3, 6)
    p, _, _, _ = reference([(500, 3 + i, 20) for i in range(3)] + [(500, 5, 25)] * 3)
    assert cell["value"] == pytest.approx(p, abs=1e-12)
    # An item the diverging version left as it was still takes part from all four.
    item = benchmark(other.org.analyst, period, item="trygg_ute_kvall")
    assert item["left_out"] == []
    assert item["cells"]["area_type:2"]["organisations"] == 4


@pytest.mark.parametrize(
    "params",
    [
        {"period": "2026"},
        {"period": "2026", "indicator": "andel_otrygga_kvall", "item": "trygg_ute_kvall"},
        {"period": "26", "indicator": "andel_otrygga_kvall"},
        {"indicator": "andel_otrygga_kvall"},
        {"period": "2026", "indicator": "no_such_indicator"},
    ],
)
def test_bad_queries_are_422(org: Org, params: dict[str, str]) -> None:
    response = org.analyst.get("/api/v1/benchmarks", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
