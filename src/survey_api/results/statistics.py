"""Pure statistical estimators for survey results.

Everything here follows DESIGN.md, section "Statistics (normative)". The functions take plain
counts or sufficient statistics (sums and sums of squares), so a cell's result costs O(1)
whatever the number of responses, and they never touch the database.

Callers are expected to apply small-cell suppression (:mod:`survey_api.results.suppression`)
*before* calling into this module; estimators raise ``ValueError`` on an empty base (n == 0)
rather than inventing a figure.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "LOW_PRECISION_HALF_WIDTH",
    "Z",
    "AreaCell",
    "AreaMeanCell",
    "Change",
    "DiD",
    "IndexEstimate",
    "MeanEstimate",
    "PooledMean",
    "PooledShare",
    "ShareEstimate",
    "Weighting",
    "change_from_pooled",
    "composite_component",
    "composite_estimate",
    "composite_respondent_value",
    "difference_in_differences",
    "index_estimate",
    "mean_estimate",
    "newcombe",
    "pooled_mean",
    "pooled_share",
    "t_quantile",
    "to_index",
    "wilson",
]

#: Standard normal 97.5 % quantile (two-sided 95 %), as fixed by the design.
Z = 1.959963984540054

#: A share is flagged ``low_precision`` when its Wilson half-width exceeds this (10 pp).
LOW_PRECISION_HALF_WIDTH = 0.10

Weighting = Literal["households", "unweighted"]


# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShareEstimate:
    """A share p = x / n with its Wilson score interval."""

    x: int
    n: int
    p: float
    low: float
    high: float
    #: The Wilson half-width z/(1 + z²/n)·√(p(1−p)/n + z²/4n²) (the interval is symmetric
    #: around the Wilson centre, not around p).
    half_width: float
    low_precision: bool


@dataclass(frozen=True, slots=True)
class MeanEstimate:
    """Mean of valid scores with a t-interval; ``sd``/``low``/``high`` are None for n < 2."""

    n: int
    mean: float
    sd: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True, slots=True)
class IndexEstimate:
    """A 0–100 index (item index or composite index) with its transformed t-interval.

    The interval is the mean's interval transformed, not clipped to [0, 100].
    """

    n: int
    index: float
    low: float | None
    high: float | None


@dataclass(frozen=True, slots=True)
class Change:
    """Difference between two periods, Δ = p₂ − p₁, with a 95 % interval."""

    delta: float
    low: float
    high: float
    #: True when the interval excludes 0.
    significant: bool


@dataclass(frozen=True, slots=True)
class AreaCell:
    """One area's contribution to a pooled share: x of n respondents, H households."""

    households: int | None
    x: int
    n: int


@dataclass(frozen=True, slots=True)
class PooledShare:
    """A share pooled over several areas.

    ``variance`` is the variance of ``p`` used for changes and difference-in-differences.
    ``n`` is the number of respondents over all pooled areas. ``x`` is the pooled count of
    respondents in the set of codes; it is only meaningful (and only set) for an unweighted
    pool, where the pool is a single binomial sample. ``low_precision``: the interval's
    half-width before clipping (z·√Var weighted, Wilson's unweighted) exceeds 10 points.
    """

    p: float
    low: float
    high: float
    variance: float
    n: int
    weighting: Weighting
    note: str | None
    x: int | None = None
    low_precision: bool = False


@dataclass(frozen=True, slots=True)
class AreaMeanCell:
    """One area's contribution to a pooled mean, as sufficient statistics."""

    households: int | None
    n: int
    total: float
    total_sq: float


@dataclass(frozen=True, slots=True)
class PooledMean:
    """A mean pooled over several areas (see :func:`pooled_mean`)."""

    mean: float
    low: float | None
    high: float | None
    variance: float | None
    n: int
    weighting: Weighting
    note: str | None


@dataclass(frozen=True, slots=True)
class DiD:
    """Difference-in-differences estimate with a normal-approximation 95 % interval."""

    estimate: float
    se: float
    low: float
    high: float
    significant: bool


# --------------------------------------------------------------------------------------------
# Shares
# --------------------------------------------------------------------------------------------


def _check_counts(x: int, n: int) -> None:
    if n <= 0:
        raise ValueError(f"n must be positive (suppress empty cells before estimating), got {n}")
    if x < 0 or x > n:
        raise ValueError(f"x must be between 0 and n={n}, got {x}")


def wilson(x: int, n: int) -> ShareEstimate:
    """Share x/n with the Wilson score interval (DESIGN.md, "Share for a set of codes").

    centre = (p + z²/2n)/(1 + z²/n), half = z/(1 + z²/n)·√(p(1−p)/n + z²/4n²).
    The bounds are exactly 0 for x = 0 and exactly 1 for x = n (the formula gives them up to
    floating-point error). Raises ``ValueError`` for n == 0.
    """
    _check_counts(x, n)
    p = x / n
    z2 = Z * Z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = Z / denom * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    low = 0.0 if x == 0 else max(0.0, centre - half)
    high = 1.0 if x == n else min(1.0, centre + half)
    return ShareEstimate(
        x=x,
        n=n,
        p=p,
        low=low,
        high=high,
        half_width=half,
        low_precision=half > LOW_PRECISION_HALF_WIDTH,
    )


# --------------------------------------------------------------------------------------------
# Means and indices
# --------------------------------------------------------------------------------------------


# Cached: SciPy's ppf costs ~50–150 µs a call and a whole round needs one per area × item (and
# more for pooled groups), which alone would take most of the O(cells) results budget.
@functools.lru_cache(maxsize=8192)
def t_quantile(df: float, q: float = 0.975) -> float:
    """Quantile of Student's t distribution (SciPy's), as a plain float.

    A round's means need t(0.975, n - 1) only: for n - 1 up to 4,999 those are SciPy's own
    values, stored (:mod:`.t_table`); above, the Cornish-Fisher expansion in 1/df to the
    fourth order, within 4 units in the last place of SciPy's (tests check both), so reading
    results loads no SciPy. Anything else (Welch's fractional df in trends) asks SciPy.
    """
    if q == 0.975 and df >= 1 and float(df).is_integer():
        from survey_api.results.t_table import T975_MAX_DF, t975_table

        if df <= T975_MAX_DF:
            return t975_table()[int(df) - 1]
        return _t975_expansion(df)
    # Imported on first use, and only the special function: ``scipy.stats.t.ppf`` computes
    # exactly this (bit for bit) but importing scipy.stats takes ~70 MB more than NumPy, and
    # ``scipy.special`` ~27 MB.
    from scipy.special import stdtrit

    return float(stdtrit(df, q))


# Abramowitz & Stegun 26.7.5: t(q, df) = z + g1(z)/df + g2(z)/df² + g3(z)/df³ + g4(z)/df⁴ + …
# with z the normal quantile; at df >= 5,000 the next term is below 1e-19.
_G1 = (Z**3 + Z) / 4
_G2 = (5 * Z**5 + 16 * Z**3 + 3 * Z) / 96
_G3 = (3 * Z**7 + 19 * Z**5 + 17 * Z**3 - 15 * Z) / 384
_G4 = (79 * Z**9 + 776 * Z**7 + 1482 * Z**5 - 1920 * Z**3 - 945 * Z) / 92160


def _t975_expansion(df: float) -> float:
    return Z + (_G1 + (_G2 + (_G3 + _G4 / df) / df) / df) / df


def mean_estimate(n: int, total: float, total_sq: float) -> MeanEstimate:
    """Mean with a t-interval from sufficient statistics.

    ``total`` = Σ yᵢ and ``total_sq`` = Σ yᵢ² over the n valid answers. The SD is the sample
    SD (ddof = 1); CI = mean ± t(0.975, n−1)·s/√n. For n < 2 there is no SD and no interval.
    A slightly negative variance caused by floating-point cancellation is clamped to 0.
    Raises ``ValueError`` for n <= 0.
    """
    if n <= 0:
        raise ValueError(f"n must be positive (suppress empty cells before estimating), got {n}")
    mean = total / n
    if n < 2:
        return MeanEstimate(n=n, mean=mean, sd=None, low=None, high=None)
    variance = max(0.0, (total_sq - total * total / n) / (n - 1))
    sd = math.sqrt(variance)
    half = t_quantile(n - 1) * sd / math.sqrt(n)
    return MeanEstimate(n=n, mean=mean, sd=sd, low=mean - half, high=mean + half)


def _check_scale(min_score: float, max_score: float) -> None:
    if not max_score > min_score:
        raise ValueError(f"max_score ({max_score}) must exceed min_score ({min_score})")


def to_index(value: float, min_score: float, max_score: float) -> float:
    """Index 0–100: 100·(value − min)/(max − min)."""
    _check_scale(min_score, max_score)
    return 100.0 * (value - min_score) / (max_score - min_score)


def index_estimate(mean_est: MeanEstimate, min_score: float, max_score: float) -> IndexEstimate:
    """Transform a mean and its interval to the 0–100 index of the item's scale.

    The map is increasing (max > min), so the interval bounds map to bounds in the same order.
    """
    _check_scale(min_score, max_score)
    low = None if mean_est.low is None else to_index(mean_est.low, min_score, max_score)
    high = None if mean_est.high is None else to_index(mean_est.high, min_score, max_score)
    return IndexEstimate(
        n=mean_est.n,
        index=to_index(mean_est.mean, min_score, max_score),
        low=low,
        high=high,
    )


def composite_component(score: float, min_score: float, max_score: float) -> float:
    """Rescale one answered component score to 0–1: (score − min)/(max − min)."""
    _check_scale(min_score, max_score)
    return (score - min_score) / (max_score - min_score)


def composite_respondent_value(
    component_values: Sequence[float | None], n_components: int
) -> float | None:
    """One respondent's composite value in 0–1: the mean of their answered components.

    ``component_values`` are the rescaled values (:func:`composite_component`) of the components
    the respondent answered substantively; ``None`` entries (unanswered / non-substantive) are
    ignored, so either the answered values only or one entry per component may be passed.
    ``n_components`` is the number of components in the index. The respondent is left out
    (``None``) when they answered fewer than half of the components: answered·2 < n_components.
    """
    if n_components < 1:
        raise ValueError(f"n_components must be at least 1, got {n_components}")
    answered = [v for v in component_values if v is not None]
    if len(answered) > n_components:
        raise ValueError(
            f"{len(answered)} answered components but the index has only {n_components}"
        )
    if len(answered) * 2 < n_components:
        return None
    return math.fsum(answered) / len(answered)


def composite_estimate(
    n: int, total: float, total_sq: float, higher_is_worse: bool = False
) -> IndexEstimate:
    """Composite index from sufficient statistics of respondent values in 0–1.

    index = 100 × mean (100 − that when ``higher_is_worse``), with the t-interval of the mean
    transformed the same way; for ``higher_is_worse`` the bounds swap (low = 100 − 100·high).
    ``n`` counts respondents with a composite value (those not left out by the half rule).
    """
    est = mean_estimate(n, total, total_sq)
    if not higher_is_worse:
        return IndexEstimate(
            n=n,
            index=100.0 * est.mean,
            low=None if est.low is None else 100.0 * est.low,
            high=None if est.high is None else 100.0 * est.high,
        )
    return IndexEstimate(
        n=n,
        index=100.0 - 100.0 * est.mean,
        low=None if est.high is None else 100.0 - 100.0 * est.high,
        high=None if est.low is None else 100.0 - 100.0 * est.low,
    )


# --------------------------------------------------------------------------------------------
# Change between periods
# --------------------------------------------------------------------------------------------


def _change(delta: float, low: float, high: float) -> Change:
    return Change(delta=delta, low=low, high=high, significant=low > 0.0 or high < 0.0)


def newcombe(x1: int, n1: int, x2: int, n2: int) -> Change:
    """Δ = p₂ − p₁ (period 1 = before, period 2 = after) with Newcombe's hybrid score interval.

    From the two Wilson intervals (l₁, u₁) and (l₂, u₂):
    [Δ − √((p₂−l₂)² + (u₁−p₁)²), Δ + √((u₂−p₂)² + (p₁−l₁)²)] (Newcombe 1998, method 10).
    ``significant`` when the interval excludes 0. Raises ``ValueError`` if n1 or n2 is 0.
    """
    a = wilson(x1, n1)
    b = wilson(x2, n2)
    delta = b.p - a.p
    low = delta - math.hypot(b.p - b.low, a.high - a.p)
    high = delta + math.hypot(b.high - b.p, a.p - a.low)
    return _change(delta, low, high)


def change_from_pooled(a: PooledShare, b: PooledShare) -> Change:
    """Change Δ = p_b − p_a between two pooled estimates (a = earlier, b = later period).

    Newcombe's interval is built from Wilson intervals, which exist only for a single binomial
    sample x/n. A household-weighted pooled share Σ wₐpₐ is not one: it has no single x and n,
    only a variance. So for weighted pools the interval is the normal approximation
    Δ ± z·√(Var_a + Var_b) (independent samples; not clipped).

    When *both* pools are unweighted they are single binomial samples, so the normative
    Newcombe interval (DESIGN.md, "Change between two periods") is used on the pooled counts.
    """
    if (
        a.weighting == "unweighted"
        and b.weighting == "unweighted"
        and a.x is not None
        and b.x is not None
    ):
        return newcombe(a.x, a.n, b.x, b.n)
    delta = b.p - a.p
    half = Z * math.sqrt(a.variance + b.variance)
    return _change(delta, delta - half, delta + half)


# --------------------------------------------------------------------------------------------
# Pooled groups of areas
# --------------------------------------------------------------------------------------------


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" if k == 1 else f"{k} {word}s"


def _has_households(households: int | None) -> bool:
    return households is not None and households > 0


def pooled_share(cells: Sequence[AreaCell]) -> PooledShare:
    """Share pooled over areas (DESIGN.md, "Pooled groups").

    Only areas with respondents (n > 0) take part. If each of them has a household count
    H > 0, areas are weighted by households, wₐ = Hₐ/ΣH: p = Σ wₐpₐ,
    Var = Σ wₐ²·pₐ(1−pₐ)/nₐ, CI = p ± z√Var clipped to [0, 1].
    Otherwise respondents are pooled unweighted: p = Σx/Σn with a Wilson interval and
    Var = p(1−p)/n, and ``note`` says why. Raises ``ValueError`` when no area has respondents.
    """
    for cell in cells:
        if cell.n == 0:
            if cell.x != 0:
                raise ValueError(f"invalid area cell {cell!r}: x > 0 with n == 0")
        else:
            _check_counts(cell.x, cell.n)
    used = [c for c in cells if c.n > 0]
    if not used:
        raise ValueError("no area in the pool has respondents")
    empty = len(cells) - len(used)
    empty_note = f"{_plural(empty, 'area')} without respondents left out." if empty else None
    missing = sum(1 for c in used if not _has_households(c.households))

    if missing:
        x = sum(c.x for c in used)
        n = sum(c.n for c in used)
        w = wilson(x, n)
        note = (
            f"{_plural(missing, 'area')} without a household count, so respondents are pooled "
            "unweighted (Wilson interval) instead of weighting areas by households."
        )
        if empty_note:
            note = f"{note} {empty_note}"
        return PooledShare(
            p=w.p,
            low=w.low,
            high=w.high,
            variance=w.p * (1.0 - w.p) / n,
            n=n,
            weighting="unweighted",
            note=note,
            x=x,
            low_precision=w.low_precision,
        )

    total_h = sum(c.households for c in used if c.households is not None)
    p = 0.0
    variance = 0.0
    for c in used:
        assert c.households is not None
        wa = c.households / total_h
        pa = c.x / c.n
        p += wa * pa
        variance += wa * wa * pa * (1.0 - pa) / c.n
    half = Z * math.sqrt(variance)
    return PooledShare(
        p=p,
        low=max(0.0, p - half),
        high=min(1.0, p + half),
        variance=variance,
        n=sum(c.n for c in used),
        weighting="households",
        note=empty_note,
        # The half-width before clipping: a clipped interval is no more precise.
        low_precision=half > LOW_PRECISION_HALF_WIDTH,
    )


def pooled_mean(cells: Sequence[AreaMeanCell]) -> PooledMean:
    """Mean pooled over areas, analogous to :func:`pooled_share`.

    Household-weighted (wₐ = Hₐ/ΣH over areas with n > 0): mean = Σ wₐ·ȳₐ,
    Var = Σ wₐ²·sₐ²/nₐ (sample SD per area), CI = mean ± z√Var (normal approximation, as for
    pooled shares; not clipped). This needs a household count for every area and at least two
    respondents in every area (otherwise sₐ is undefined). If either is missing, respondents are
    pooled unweighted with the t-interval of :func:`mean_estimate`, Var = s²/n, and ``note`` says
    why. Raises ``ValueError`` when no area has respondents.
    """
    for cell in cells:
        if cell.n < 0:
            raise ValueError(f"invalid area cell {cell!r}")
    used = [c for c in cells if c.n > 0]
    if not used:
        raise ValueError("no area in the pool has respondents")
    empty = len(cells) - len(used)
    empty_note = f"{_plural(empty, 'area')} without respondents left out." if empty else None
    missing = sum(1 for c in used if not _has_households(c.households))
    singletons = sum(1 for c in used if c.n < 2)

    if missing or singletons:
        n = sum(c.n for c in used)
        est = mean_estimate(
            n, math.fsum(c.total for c in used), math.fsum(c.total_sq for c in used)
        )
        reasons = []
        if missing:
            reasons.append(f"{_plural(missing, 'area')} without a household count")
        if singletons:
            reasons.append(f"{_plural(singletons, 'area')} with a single respondent")
        note = (
            f"{' and '.join(reasons)}, so respondents are pooled unweighted (t-interval) "
            "instead of weighting areas by households."
        )
        if empty_note:
            note = f"{note} {empty_note}"
        return PooledMean(
            mean=est.mean,
            low=est.low,
            high=est.high,
            variance=None if est.sd is None else est.sd * est.sd / n,
            n=n,
            weighting="unweighted",
            note=note,
        )

    total_h = sum(c.households for c in used if c.households is not None)
    mean = 0.0
    variance = 0.0
    for c in used:
        assert c.households is not None
        wa = c.households / total_h
        area = mean_estimate(c.n, c.total, c.total_sq)
        assert area.sd is not None
        mean += wa * area.mean
        variance += wa * wa * area.sd * area.sd / c.n
    half = Z * math.sqrt(variance)
    return PooledMean(
        mean=mean,
        low=mean - half,
        high=mean + half,
        variance=variance,
        n=sum(c.n for c in used),
        weighting="households",
        note=empty_note,
    )


# --------------------------------------------------------------------------------------------
# Intervention effect
# --------------------------------------------------------------------------------------------


def difference_in_differences(
    treated_before: PooledShare,
    treated_after: PooledShare,
    comparison_before: PooledShare,
    comparison_after: PooledShare,
) -> DiD:
    """DiD = (p_T,a − p_T,b) − (p_C,a − p_C,b), SE = √(sum of the four variances),
    CI = DiD ± z·SE; ``significant`` when the interval excludes 0.

    This is an association, not proof of cause: callers must show the four cells with their n
    and the warning required by DESIGN.md.
    """
    estimate = (treated_after.p - treated_before.p) - (comparison_after.p - comparison_before.p)
    se = math.sqrt(
        treated_before.variance
        + treated_after.variance
        + comparison_before.variance
        + comparison_after.variance
    )
    low = estimate - Z * se
    high = estimate + Z * se
    return DiD(
        estimate=estimate,
        se=se,
        low=low,
        high=high,
        significant=low > 0.0 or high < 0.0,
    )
