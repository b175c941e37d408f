"""Tests for survey_api.results.statistics against statsmodels, SciPy, numpy and hand examples."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from survey_api.results.statistics import (
    AreaCell,
    AreaMeanCell,
    MeanEstimate,
    PooledShare,
    Z,
    change_from_pooled,
    composite_component,
    composite_estimate,
    composite_respondent_value,
    difference_in_differences,
    index_estimate,
    mean_estimate,
    newcombe,
    pooled_mean,
    pooled_share,
    t_quantile,
    to_index,
    wilson,
)

# ------------------------------------------------------------------------------------------
# Wilson
# ------------------------------------------------------------------------------------------


def test_z_is_the_normal_quantile() -> None:
    assert float(stats.norm.ppf(0.975)) == pytest.approx(Z, abs=1e-15)


def test_the_t_quantile_is_scipys() -> None:
    # A round's means (q = 0.975, whole df) load no SciPy: its stored values up to df 4,999,
    # a fourth-order expansion above; anything else is SciPy's own.
    quantile = t_quantile.__wrapped__
    for df in range(1, 5000):
        assert quantile(df, 0.975) == float(stats.t.ppf(0.975, df))
    for df in [*range(5000, 5100), 12_345, 99_999, 999_999, 10**7]:
        expected = float(stats.t.ppf(0.975, df))
        assert abs(quantile(df, 0.975) - expected) <= 4 * math.ulp(expected)
    for df in [*range(1, 60), 999, 12_345, 0.5, 2.5, 17.3]:
        for q in (0.95, 0.5, 0.025):
            assert quantile(df, q) == float(stats.t.ppf(q, df))
        assert quantile(df, 0.975) == pytest.approx(float(stats.t.ppf(0.975, df)), rel=1e-15)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 37, 100, 1000])
def test_wilson_matches_statsmodels_for_every_x(n: int) -> None:
    for x in range(n + 1) if n <= 100 else range(0, n + 1, 37):
        est = wilson(x, n)
        low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
        assert est.low == pytest.approx(low, abs=1e-12)
        assert est.high == pytest.approx(high, abs=1e-12)
        assert est.p == x / n
        assert (est.x, est.n) == (x, n)


def test_wilson_hand_example() -> None:
    # x = 5, n = 10: p = 0.5, z² = 3.841459, 1 + z²/n = 1.384146,
    # centre = (0.5 + 0.192073)/1.384146 = 0.5,
    # half = 1.959964/1.384146 · √(0.025 + 0.0096036) = 1.416004 · 0.186020 = 0.263407
    # -> [0.236593, 0.763407]; half-width 26 pp > 10 pp, so low precision.
    est = wilson(5, 10)
    assert est.low == pytest.approx(0.236593, abs=1e-6)
    assert est.high == pytest.approx(0.763407, abs=1e-6)
    assert est.half_width == pytest.approx(0.263407, abs=1e-6)
    assert est.low_precision


def test_wilson_at_zero_and_n_is_exactly_bounded() -> None:
    zero = wilson(0, 20)
    assert zero.p == 0.0
    assert zero.low == 0.0
    assert zero.high == pytest.approx(proportion_confint(0, 20, method="wilson")[1], abs=1e-12)
    assert zero.high > 0.0
    full = wilson(20, 20)
    assert full.p == 1.0
    assert full.high == 1.0
    assert full.low == pytest.approx(proportion_confint(20, 20, method="wilson")[0], abs=1e-12)
    assert full.low < 1.0
    # Symmetry: the interval of x/n mirrors the one of (n−x)/n.
    assert zero.high == pytest.approx(1.0 - full.low, abs=1e-15)


def test_wilson_half_width_and_low_precision_flag() -> None:
    for n in (10, 50, 95, 96, 97, 400):
        for x in (0, n // 3, n // 2, n):
            est = wilson(x, n)
            # The interval is symmetric around the Wilson centre (also at x = 0 and x = n).
            assert est.half_width == pytest.approx((est.high - est.low) / 2, abs=1e-12)
            assert est.low_precision == (est.half_width > 0.10)
    # At p = 0.5 the half-width drops below 10 pp between n = 92 (0.1001) and n = 94 (0.0991).
    assert wilson(46, 92).low_precision
    assert not wilson(47, 94).low_precision


def test_wilson_rejects_empty_and_invalid() -> None:
    with pytest.raises(ValueError):
        wilson(0, 0)
    with pytest.raises(ValueError):
        wilson(5, 4)
    with pytest.raises(ValueError):
        wilson(-1, 4)


def test_results_are_frozen() -> None:
    est = wilson(3, 10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.p = 0.5  # type: ignore[misc]


# ------------------------------------------------------------------------------------------
# Means and indices
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 10, 57, 500])
def test_mean_estimate_matches_scipy_on_generated_data(n: int) -> None:
    rng = np.random.default_rng(20240 + n)
    data = rng.integers(1, 6, size=n).astype(float)
    est = mean_estimate(n, float(data.sum()), float((data**2).sum()))
    assert est.n == n
    assert est.mean == pytest.approx(float(data.mean()), abs=1e-12)
    assert est.sd == pytest.approx(float(data.std(ddof=1)), abs=1e-9)
    sem = float(data.std(ddof=1)) / math.sqrt(n)
    low, high = stats.t.interval(0.95, n - 1, loc=float(data.mean()), scale=sem)
    assert est.low == pytest.approx(low, abs=1e-9)
    assert est.high == pytest.approx(high, abs=1e-9)
    assert est.high is not None and est.mean is not None
    assert est.high - est.mean == pytest.approx(stats.t.ppf(0.975, n - 1) * sem, abs=1e-9)


def test_mean_estimate_continuous_data() -> None:
    rng = np.random.default_rng(7)
    data = rng.normal(3.2, 1.1, size=250)
    est = mean_estimate(len(data), float(data.sum()), float((data**2).sum()))
    low, high = stats.t.interval(0.95, len(data) - 1, loc=data.mean(), scale=stats.sem(data))
    assert est.low == pytest.approx(low, abs=1e-9)
    assert est.high == pytest.approx(high, abs=1e-9)


def test_mean_estimate_small_n() -> None:
    one = mean_estimate(1, 4.0, 16.0)
    assert one == MeanEstimate(n=1, mean=4.0, sd=None, low=None, high=None)
    with pytest.raises(ValueError):
        mean_estimate(0, 0.0, 0.0)


def test_mean_estimate_guards_negative_variance() -> None:
    # All answers equal: Σy² − (Σy)²/n may come out as a tiny negative number.
    n = 3
    y = 0.1
    total = y + y + y
    total_sq = y * y * 3
    assert total_sq - total * total / n < 0  # the floating-point trap is real here
    est = mean_estimate(n, total, total_sq)
    assert est.sd == 0.0
    assert est.low == est.high == pytest.approx(0.1)


def test_to_index() -> None:
    assert to_index(1, 1, 5) == 0.0
    assert to_index(5, 1, 5) == 100.0
    assert to_index(3, 1, 5) == 50.0
    assert to_index(3.4, 1, 5) == pytest.approx(60.0)
    assert to_index(0.25, 0, 1) == 25.0
    with pytest.raises(ValueError):
        to_index(3, 5, 5)


def test_index_estimate_transforms_mean_and_interval() -> None:
    # Scores 1..4: mean 3.1 -> 100·2.1/3 = 70; interval bounds transform the same way.
    est = MeanEstimate(n=40, mean=3.1, sd=0.8, low=2.85, high=3.35)
    idx = index_estimate(est, 1, 4)
    assert idx.n == 40
    assert idx.index == pytest.approx(70.0)
    assert idx.low == pytest.approx(100 * 1.85 / 3)
    assert idx.high == pytest.approx(100 * 2.35 / 3)
    none = index_estimate(MeanEstimate(n=1, mean=2.0, sd=None, low=None, high=None), 1, 5)
    assert none.index == 25.0
    assert none.low is None and none.high is None


def test_composite_component_and_half_rule() -> None:
    assert composite_component(1, 1, 5) == 0.0
    assert composite_component(4, 1, 4) == 1.0
    assert composite_component(3, 1, 5) == 0.5
    # 4 components: 2 answered is exactly half -> kept; 1 answered -> left out.
    assert composite_respondent_value([0.5, 1.0], 4) == 0.75
    assert composite_respondent_value([0.5, None, 1.0, None], 4) == 0.75
    assert composite_respondent_value([0.5], 4) is None
    # 3 components: 2 answered kept (4 >= 3), 1 answered left out (2 < 3).
    assert composite_respondent_value([0.0, 1.0], 3) == 0.5
    assert composite_respondent_value([1.0, None, None], 3) is None
    assert composite_respondent_value([], 3) is None
    # 1 component: answered -> kept.
    assert composite_respondent_value([0.25], 1) == 0.25
    with pytest.raises(ValueError):
        composite_respondent_value([0.1, 0.2, 0.3], 2)
    with pytest.raises(ValueError):
        composite_respondent_value([], 0)


def test_composite_estimate_on_generated_respondents() -> None:
    rng = np.random.default_rng(42)
    n_components = 5
    answers = rng.integers(1, 6, size=(300, n_components)).astype(float)
    missing = rng.random(size=answers.shape) < 0.35
    values: list[float] = []
    for row, miss in zip(answers, missing, strict=True):
        components = [
            None if m else composite_component(float(score), 1, 5)
            for score, m in zip(row, miss, strict=True)
        ]
        value = composite_respondent_value(components, n_components)
        answered = int((~miss).sum())
        if answered * 2 < n_components:
            assert value is None
        else:
            assert value == pytest.approx(float(((row[~miss] - 1) / 4).mean()))
        if value is not None:
            values.append(value)
    data = np.array(values)
    assert 0 < len(data) < 300  # the half rule really left some respondents out
    n = len(data)
    total, total_sq = float(data.sum()), float((data**2).sum())
    low, high = stats.t.interval(0.95, n - 1, loc=data.mean(), scale=stats.sem(data))

    plain = composite_estimate(n, total, total_sq, higher_is_worse=False)
    assert plain.n == n
    assert plain.index == pytest.approx(100 * data.mean())
    assert plain.low == pytest.approx(100 * low)
    assert plain.high == pytest.approx(100 * high)

    worse = composite_estimate(n, total, total_sq, higher_is_worse=True)
    assert worse.index == pytest.approx(100 - 100 * data.mean())
    assert worse.low == pytest.approx(100 - 100 * high)
    assert worse.high == pytest.approx(100 - 100 * low)
    assert worse.low is not None and worse.high is not None
    assert worse.low < worse.index < worse.high


def test_composite_estimate_single_respondent() -> None:
    est = composite_estimate(1, 0.8, 0.64, higher_is_worse=True)
    assert est.index == pytest.approx(20.0)
    assert est.low is None and est.high is None


# ------------------------------------------------------------------------------------------
# Change (Newcombe)
# ------------------------------------------------------------------------------------------


def test_newcombe_paper_example() -> None:
    # Newcombe (1998), Stat Med 17:873-890, example (a): 56/70 vs 48/80.
    # p1 = 0.8, p2 = 0.6, difference 0.2000; method 10 (hybrid score) gives 0.0524 to 0.3339.
    # (Verified against statsmodels confint_proportions_2indep(..., method="newcomb").)
    # Our Δ is p₂ − p₁ with period 1 = 48/80 and period 2 = 56/70.
    change = newcombe(48, 80, 56, 70)
    assert change.delta == pytest.approx(0.2)
    assert change.low == pytest.approx(0.0524, abs=5e-5)
    assert change.high == pytest.approx(0.3339, abs=5e-5)
    assert change.significant
    # Reversed order: the interval mirrors.
    back = newcombe(56, 70, 48, 80)
    assert back.delta == pytest.approx(-0.2)
    assert back.low == pytest.approx(-0.3339, abs=5e-5)
    assert back.high == pytest.approx(-0.0524, abs=5e-5)
    assert back.significant


def test_newcombe_formula_from_wilson_intervals() -> None:
    a, b = wilson(30, 90), wilson(45, 85)
    change = newcombe(30, 90, 45, 85)
    delta = b.p - a.p
    assert change.low == pytest.approx(
        delta - math.sqrt((b.p - b.low) ** 2 + (a.high - a.p) ** 2), abs=1e-15
    )
    assert change.high == pytest.approx(
        delta + math.sqrt((b.high - b.p) ** 2 + (a.p - a.low) ** 2), abs=1e-15
    )


def test_newcombe_matches_statsmodels() -> None:
    rng = np.random.default_rng(1998)
    cases = [(0, 10, 0, 12), (10, 10, 0, 15), (0, 20, 20, 20), (3, 9, 9, 9), (1, 1, 0, 1)]
    for _ in range(300):
        n1, n2 = (int(v) for v in rng.integers(1, 400, size=2))
        cases.append((int(rng.integers(0, n1 + 1)), n1, int(rng.integers(0, n2 + 1)), n2))
    for x1, n1, x2, n2 in cases:
        change = newcombe(x1, n1, x2, n2)
        # statsmodels computes p1 − p2 of its (count1, nobs1) minus (count2, nobs2),
        # so pass period 2 first to get p₂ − p₁.
        low, high = confint_proportions_2indep(x2, n2, x1, n1, method="newcomb", compare="diff")
        assert change.delta == pytest.approx(x2 / n2 - x1 / n1, abs=1e-15)
        assert change.low == pytest.approx(low, abs=1e-12)
        assert change.high == pytest.approx(high, abs=1e-12)
        assert change.significant == (change.low > 0 or change.high < 0)


def test_newcombe_no_change_is_not_significant() -> None:
    change = newcombe(40, 100, 40, 100)
    assert change.delta == 0.0
    assert change.low < 0 < change.high
    assert not change.significant
    with pytest.raises(ValueError):
        newcombe(0, 0, 1, 10)


def _pooled(p: float, variance: float, n: int = 100) -> PooledShare:
    return PooledShare(
        p=p, low=0.0, high=1.0, variance=variance, n=n, weighting="households", note=None
    )


def test_change_from_weighted_pools_uses_variances() -> None:
    # Δ = 0.46 − 0.40 = 0.06, √(0.0004 + 0.0005) = 0.03, half = 1.959964·0.03 = 0.058799
    # -> [0.001201, 0.118799], significant.
    change = change_from_pooled(_pooled(0.40, 0.0004), _pooled(0.46, 0.0005))
    assert change.delta == pytest.approx(0.06)
    assert change.low == pytest.approx(0.06 - 0.058799, abs=1e-6)
    assert change.high == pytest.approx(0.06 + 0.058799, abs=1e-6)
    assert change.significant
    flat = change_from_pooled(_pooled(0.40, 0.0009), _pooled(0.44, 0.0007))
    assert not flat.significant


def test_change_from_unweighted_pools_is_newcombe() -> None:
    a = pooled_share([AreaCell(None, 20, 60), AreaCell(None, 10, 40)])
    b = pooled_share([AreaCell(None, 40, 70), AreaCell(None, 25, 45)])
    assert a.weighting == b.weighting == "unweighted"
    assert change_from_pooled(a, b) == newcombe(30, 100, 65, 115)


# ------------------------------------------------------------------------------------------
# Pooled groups
# ------------------------------------------------------------------------------------------


def test_pooled_share_hand_example() -> None:
    # Area A: H = 100, 30/50 (p 0.60); area B: H = 300, 20/80 (p 0.25).
    # w = 0.25, 0.75; p = 0.25·0.6 + 0.75·0.25 = 0.3375;
    # Var = 0.0625·0.24/50 + 0.5625·0.1875/80 = 0.0003 + 0.00131836 = 0.00161836;
    # CI = 0.3375 ± 1.959964·0.0402289 = [0.258653, 0.416347].
    pooled = pooled_share([AreaCell(100, 30, 50), AreaCell(300, 20, 80)])
    assert pooled.weighting == "households"
    assert pooled.note is None
    assert pooled.n == 130
    assert pooled.p == pytest.approx(0.3375)
    assert pooled.variance == pytest.approx(0.00161836, abs=1e-8)
    assert pooled.low == pytest.approx(0.258653, abs=1e-6)
    assert pooled.high == pytest.approx(0.416347, abs=1e-6)


def test_pooled_share_matches_numpy_weighted_average() -> None:
    rng = np.random.default_rng(11)
    for _ in range(50):
        k = int(rng.integers(1, 12))
        households = rng.integers(50, 2000, size=k)
        ns = rng.integers(1, 300, size=k)
        xs = np.array([rng.integers(0, n + 1) for n in ns])
        cells = [
            AreaCell(int(h), int(x), int(n)) for h, x, n in zip(households, xs, ns, strict=True)
        ]
        pooled = pooled_share(cells)
        ps = xs / ns
        weights = households / households.sum()
        expected_p = float(np.average(ps, weights=households))
        expected_var = float(np.sum(weights**2 * ps * (1 - ps) / ns))
        assert pooled.p == pytest.approx(expected_p, abs=1e-12)
        assert pooled.variance == pytest.approx(expected_var, abs=1e-14)
        assert pooled.low == pytest.approx(max(0.0, expected_p - Z * math.sqrt(expected_var)))
        assert pooled.high == pytest.approx(min(1.0, expected_p + Z * math.sqrt(expected_var)))
        assert pooled.n == int(ns.sum())
        assert 0.0 <= pooled.low <= pooled.p <= pooled.high <= 1.0


def test_pooled_share_clips_to_unit_interval() -> None:
    pooled = pooled_share([AreaCell(100, 1, 12), AreaCell(100, 0, 10)])
    assert pooled.low == 0.0
    assert pooled.p - Z * math.sqrt(pooled.variance) < 0
    top = pooled_share([AreaCell(100, 12, 12), AreaCell(100, 9, 10)])
    assert top.high == 1.0


def test_a_clipped_pooled_interval_is_still_low_precision() -> None:
    # 300 households with 1 of 5, 700 with 0 of 20: p = 0.3 * 0.2 = 0.06 and
    # z * sqrt(0.3^2 * 0.2 * 0.8 / 5) = 0.1052 > 0.10, though the clipped interval [0, 0.1652]
    # is only 0.0826 wide on each side: the flag reads the half-width before clipping.
    pooled = pooled_share([AreaCell(300, 1, 5), AreaCell(700, 0, 20)])
    half = stats.norm.ppf(0.975) * math.sqrt(0.3**2 * 0.2 * 0.8 / 5)
    assert pooled.p == pytest.approx(0.06) and half == pytest.approx(0.10519, abs=1e-5)
    assert pooled.low == 0.0 and (pooled.high - pooled.low) / 2 < 0.10
    assert pooled.low_precision
    # Below the threshold either way: not flagged; unweighted pools follow Wilson's half-width.
    assert not pooled_share([AreaCell(300, 30, 100), AreaCell(700, 40, 200)]).low_precision
    wide = pooled_share([AreaCell(None, 1, 5), AreaCell(None, 0, 20)])
    low, high = proportion_confint(1, 25, method="wilson")
    assert wide.weighting == "unweighted" and wide.low_precision == ((high - low) / 2 > 0.10)


def test_pooled_share_skips_areas_without_respondents() -> None:
    # An empty area gets no weight; weights are renormalised over the others.
    pooled = pooled_share([AreaCell(100, 30, 50), AreaCell(300, 20, 80), AreaCell(10_000, 0, 0)])
    assert pooled.weighting == "households"
    assert pooled.p == pytest.approx(0.3375)
    assert pooled.note is not None and "without respondents" in pooled.note


def test_pooled_share_unweighted_when_household_count_missing() -> None:
    pooled = pooled_share([AreaCell(None, 30, 50), AreaCell(300, 20, 80)])
    assert pooled.weighting == "unweighted"
    assert pooled.note is not None and "household" in pooled.note
    est = wilson(50, 130)
    assert pooled.p == pytest.approx(50 / 130)
    assert (pooled.low, pooled.high) == (est.low, est.high)
    assert pooled.variance == pytest.approx((50 / 130) * (80 / 130) / 130)
    assert pooled.n == 130
    assert pooled.x == 50


def test_pooled_share_rejects_empty_pool() -> None:
    with pytest.raises(ValueError):
        pooled_share([])
    with pytest.raises(ValueError):
        pooled_share([AreaCell(100, 0, 0)])
    with pytest.raises(ValueError):
        pooled_share([AreaCell(100, 5, 3)])


def test_pooled_mean_weighted_and_unweighted() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(1, 6, size=40).astype(float)
    b = rng.integers(1, 6, size=90).astype(float)
    cells = [
        AreaMeanCell(200, len(a), float(a.sum()), float((a**2).sum())),
        AreaMeanCell(600, len(b), float(b.sum()), float((b**2).sum())),
    ]
    weighted = pooled_mean(cells)
    assert weighted.weighting == "households"
    expected = float(np.average([a.mean(), b.mean()], weights=[200, 600]))
    expected_var = 0.25**2 * a.var(ddof=1) / len(a) + 0.75**2 * b.var(ddof=1) / len(b)
    assert weighted.mean == pytest.approx(expected)
    assert weighted.variance == pytest.approx(expected_var)
    assert weighted.low == pytest.approx(expected - Z * math.sqrt(expected_var))

    cells[0] = dataclasses.replace(cells[0], households=None)
    unweighted = pooled_mean(cells)
    both = np.concatenate([a, b])
    low, high = stats.t.interval(0.95, len(both) - 1, loc=both.mean(), scale=stats.sem(both))
    assert unweighted.weighting == "unweighted"
    assert unweighted.note is not None
    assert unweighted.mean == pytest.approx(both.mean())
    assert unweighted.low == pytest.approx(low)
    assert unweighted.high == pytest.approx(high)


# ------------------------------------------------------------------------------------------
# Difference in differences
# ------------------------------------------------------------------------------------------


def test_difference_in_differences_hand_example() -> None:
    # Treated 0.40 -> 0.55, comparison 0.42 -> 0.47:
    # DiD = (0.55 − 0.40) − (0.47 − 0.42) = 0.15 − 0.05 = 0.10
    # SE = √(0.0010 + 0.0012 + 0.0008 + 0.0010) = √0.0040 = 0.0632456
    # CI = 0.10 ± 1.959964·0.0632456 = 0.10 ± 0.123959 = [−0.023959, 0.223959] -> not significant.
    did = difference_in_differences(
        _pooled(0.40, 0.0010), _pooled(0.55, 0.0012), _pooled(0.42, 0.0008), _pooled(0.47, 0.0010)
    )
    assert did.estimate == pytest.approx(0.10)
    assert did.se == pytest.approx(0.0632456, abs=1e-7)
    assert did.low == pytest.approx(-0.023959, abs=1e-6)
    assert did.high == pytest.approx(0.223959, abs=1e-6)
    assert not did.significant

    # Same effect with smaller variances (SE = √0.0009 = 0.03): CI = 0.10 ± 0.058799 -> significant.
    did = difference_in_differences(
        _pooled(0.40, 0.0002), _pooled(0.55, 0.0002), _pooled(0.42, 0.0003), _pooled(0.47, 0.0002)
    )
    assert did.se == pytest.approx(0.03)
    assert did.low == pytest.approx(0.041201, abs=1e-6)
    assert did.significant


def test_difference_in_differences_from_pooled_areas() -> None:
    tb = pooled_share([AreaCell(400, 120, 200), AreaCell(600, 100, 250)])
    ta = pooled_share([AreaCell(400, 150, 210), AreaCell(600, 140, 240)])
    cb = pooled_share([AreaCell(500, 110, 220), AreaCell(500, 90, 180)])
    ca = pooled_share([AreaCell(500, 115, 215), AreaCell(500, 95, 190)])
    did = difference_in_differences(tb, ta, cb, ca)
    assert did.estimate == pytest.approx((ta.p - tb.p) - (ca.p - cb.p))
    se = math.sqrt(tb.variance + ta.variance + cb.variance + ca.variance)
    assert did.se == pytest.approx(se)
    assert (did.low, did.high) == pytest.approx((did.estimate - Z * se, did.estimate + Z * se))
    assert did.significant == (did.low > 0 or did.high < 0)
