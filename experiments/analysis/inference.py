"""Confirmatory inference for lesion experiments: paired where conditions share seeds.

Every condition of a seed shares its initial parameters and random keys, so a lesion's
effect is best read from the per-seed differences ``d_s = x_s - intact_s`` (a paired
design). The functions here are the building blocks of honest claims at small n:

* :func:`paired_differences` -- ``d`` from two seed-aligned samples;
* :func:`t_interval` -- the Student t interval of a mean (exact coverage for normal
  data; the percentile bootstrap is anti-conservative with few seeds: under a true null
  its 95% interval excludes 0 in 30% of 2-seed and 15% of 4-seed experiments);
* :func:`sign_flip_test` -- the exact paired permutation test (under the null the
  differences are symmetric about 0, so flipping their signs is exchangeable);
* :func:`welch_interval` -- the unpaired counterpart, for conditions that do not share
  seeds (e.g. different populations);
* :func:`cohens_dz` -- the paired effect size ``mean(d) / sd(d)`` with Hedges' small-
  sample correction;
* :func:`clopper_pearson` -- exact binomial bounds (an upper bound for a rate observed
  as 0, so that "10x as often" is tested against it, never against a ratio of 0);
* :func:`one_sided_p` -- the test of a claim at its threshold: a one-sided t-test of a
  linear contrast ``x - k * base - c`` (paired over seeds, or Welch's for independent
  samples), so that differences (``k = 1``), ratios (``k`` = the threshold: Fieller's
  construction) and means (no base) share one test;
* :func:`fieller_interval` -- the interval of a ratio of means that inverts that test;
* :func:`equivalence_p` and :func:`tost` -- two one-sided tests of equivalence within a
  stated margin;
* :func:`holm` -- Holm-Bonferroni adjusted p-values over a family of claims;
* :func:`power_one_sided` and :func:`units_for_power` -- the power of the one-sided
  t-test (noncentral t) and the number of seeds that reaches a target power.

All take NaN-free data or drop NaNs (pairs with a NaN on either side) as stated, and are
deterministic (the sampled sign-flip test is seeded).
"""

from __future__ import annotations

from itertools import product

import numpy as np
from scipy import stats as sps

from experiments.analysis.stats import check_alternative, permutation_p

# The fewest seeds (pairs, or units per group) on which an interval is reported and a claim
# is tested: the smallest n of the coverage study in tests/test_claims_coverage.py, where
# the claim checks hold their level (below it a sign-flip test cannot reach p < 0.05 and
# normality of the mean cannot be leaned on).
MIN_UNITS = 4


def paired_differences(x, base) -> np.ndarray:
    """``x - base`` per seed, ``(n,)``; both samples ``(n,)`` in the same seed order, and a
    pair with a NaN on either side is dropped."""
    x = np.asarray(x, float)
    base = np.asarray(base, float)
    if x.shape != base.shape or x.ndim != 1:
        raise ValueError(f"paired samples need the same 1-D shape, got {x.shape} and "
                         f"{base.shape}")
    d = x - base
    return d[~np.isnan(d)]


def t_interval(d, level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the Student t interval of the mean of ``d`` (NaNs dropped).

    A constant sample gives ``(m, m, m)`` (no variation: the paired control that is
    identical run for run has the interval [0, 0]); fewer than 2 values give NaN bounds.
    """
    d = np.asarray(d, float)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return (np.nan, np.nan, np.nan)
    m = float(d.mean())
    if d.size < 2:
        return (m, np.nan, np.nan)
    se = float(d.std(ddof=1)) / np.sqrt(d.size)
    if se == 0:
        return (m, m, m)
    half = float(sps.t.ppf(0.5 + level / 2, d.size - 1)) * se
    return (m, m - half, m + half)


def welch_interval(a, b, level: float = 0.95) -> tuple[float, float, float]:
    """``(mean(a) - mean(b), low, high)``: Welch's t interval for two independent samples
    (NaNs dropped); two constant samples give a zero-width interval, fewer than 2 values
    on a side NaN bounds."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size == 0 or b.size == 0:
        return (np.nan, np.nan, np.nan)
    m = float(a.mean() - b.mean())
    if a.size < 2 or b.size < 2:
        return (m, np.nan, np.nan)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = float(np.sqrt(va + vb))
    if se == 0:
        return (m, m, m)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(sps.t.ppf(0.5 + level / 2, df)) * se
    return (m, m - half, m + half)


def sign_flip_test(d, n_perm: int = 10_000, seed: int = 0,
                   alternative: str = "two-sided") -> float:
    """Paired permutation p-value of ``mean(d)`` (NaNs dropped): every sign pattern when
    there are at most ``n_perm`` of them (exact), else ``n_perm`` random ones with the
    ``(k + 1) / (n_perm + 1)`` correction (Phipson & Smyth 2010). With ``n`` pairs the
    smallest two-sided p is ``2 / 2**n`` (0.125 for 4 seeds)."""
    check_alternative(alternative)
    d = np.asarray(d, float)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return float("nan")
    exact = 2 ** d.size <= n_perm
    if exact:
        signs = np.array(list(product((1.0, -1.0), repeat=d.size)))
    else:
        signs = np.where(np.random.default_rng(seed).random((n_perm, d.size)) < 0.5, -1.0, 1.0)
    null = (signs * d).mean(axis=1)
    return permutation_p(null, float(d.mean()), alternative, exact, n_perm)


def cohens_dz(d) -> float:
    """Paired effect size ``mean(d) / sd(d)`` times Hedges' correction
    ``1 - 3 / (4 (n - 1) - 1)`` (NaNs dropped); 0 for a sample of zeros, +-inf for a
    constant non-zero one, NaN below 2 pairs."""
    d = np.asarray(d, float)
    d = d[~np.isnan(d)]
    if d.size < 2:
        return float("nan")
    sd = float(d.std(ddof=1))
    m = float(d.mean())
    if sd == 0:
        return 0.0 if m == 0 else float(np.sign(m) * np.inf)
    return (1 - 3 / (4 * (d.size - 1) - 1)) * m / sd


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided bounds of a binomial rate with ``k`` events in
    ``n`` trials; the low bound is 0 when ``k == 0``, the high one 1 when ``k == n``."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n > 0, got k={k}, n={n}")
    alpha = 1 - level
    low = 0.0 if k == 0 else float(sps.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(sps.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def tost(d, margin: float) -> float:
    """p-value of two one-sided paired t-tests that ``|mean(d)| < margin`` (equivalence;
    small p: the difference lies within the margin). A constant sample gives 0 inside the
    margin and 1 outside; NaN below 2 values."""
    return equivalence_p(d, None, margin)


def _clean(x) -> np.ndarray:
    x = np.asarray(x, float)
    return x[~np.isnan(x)]


def one_sided_p(x, base=None, *, k: float = 1.0, const: float = 0.0, paired: bool = True,
                greater: bool = True) -> float:
    """p-value of the one-sided t-test that ``mean(x) - k * mean(base) - const`` is above 0
    (``greater``) or below it.

    Paired (``base`` seed-aligned with ``x``): a one-sample test of the per-seed contrasts
    ``x_s - k * base_s - const`` (pairs with a NaN dropped); unpaired: Welch's test of
    ``x`` against ``k * base + const``; without ``base``: a one-sample test of ``x - const``.
    A contrast without variation gives 0 when it lies strictly on the claimed side, else
    1; NaN below 2 values (on either side, unpaired).
    """
    alt = "greater" if greater else "less"
    if base is None or paired:
        c = _clean(np.asarray(x, float) - (0.0 if base is None else
                                           k * np.asarray(base, float)) - const)
        if c.size < 2:
            return float("nan")
        if np.ptp(c) == 0:
            return _constant_p(float(c[0]), greater)
        return float(sps.ttest_1samp(c, 0.0, alternative=alt).pvalue)
    a, b = _clean(x), k * _clean(base) + const
    if a.size < 2 or b.size < 2:
        return float("nan")
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return _constant_p(float(a[0] - b[0]), greater)
    return float(sps.ttest_ind(a, b, equal_var=False, alternative=alt).pvalue)


def _constant_p(c: float, greater: bool) -> float:
    return 0.0 if (c > 0 if greater else c < 0) else 1.0


def equivalence_p(x, base=None, margin: float = 0.0, *, center: float = 0.0,
                  paired: bool = True) -> float:
    """p-value of two one-sided tests (TOST) that ``mean(x) - mean(base)`` (or ``mean(x)``
    without ``base``) lies within ``center +- margin``: the larger of the two one-sided
    p-values of :func:`one_sided_p` (small p: equivalent within the margin)."""
    if not margin > 0:
        raise ValueError(f"the equivalence margin must be > 0, got {margin!r}")
    above = one_sided_p(x, base, const=center - margin, paired=paired, greater=True)
    below = one_sided_p(x, base, const=center + margin, paired=paired, greater=False)
    return max(above, below)


def fieller_interval(x, base, *, paired: bool = True,
                     level: float = 0.95) -> tuple[float, float, float]:
    """``(mean(x) / mean(base), low, high)``: Fieller's interval of a ratio of means, the
    thresholds ``r`` that the two-sided t-test of ``x - r * base`` does not reject (paired:
    on the per-seed contrasts, pairs with a NaN dropped; unpaired: with both groups'
    variances and the smaller group's degrees of freedom). NaN bounds when the base mean
    is not clearly away from 0 (the set is then unbounded) or below 2 values; the ratio
    itself is NaN when the base mean is 0."""
    x, base = np.asarray(x, float), np.asarray(base, float)
    if paired:
        ok = ~(np.isnan(x) | np.isnan(base))
        x, base = x[ok], base[ok]
        n_x = n_b = x.size
        cov = float(np.cov(x, base)[0, 1]) if x.size > 1 else np.nan
    else:
        x, base = _clean(x), _clean(base)
        n_x, n_b, cov = x.size, base.size, 0.0
    mx = float(x.mean()) if x.size else np.nan
    mb = float(base.mean()) if base.size else np.nan
    ratio = mx / mb if mb != 0 else np.nan
    if min(n_x, n_b) < 2:
        return (ratio, np.nan, np.nan)
    t2 = float(sps.t.ppf(0.5 + level / 2, min(n_x, n_b) - 1)) ** 2
    vx, vb = x.var(ddof=1) / n_x, base.var(ddof=1) / n_b
    vxb = cov / n_x if paired else 0.0
    # (mx - r mb)^2 <= t2 (vx - 2 r vxb + r^2 vb): a r^2 - 2 b r + c <= 0
    a, b, c = mb**2 - t2 * vb, mx * mb - t2 * vxb, mx**2 - t2 * vx
    disc = b * b - a * c
    if a <= 0 or disc < 0:
        return (ratio, np.nan, np.nan)
    root = np.sqrt(disc)
    return (ratio, float((b - root) / a), float((b + root) / a))


def power_one_sided(effect: float, n: int, alpha: float = 0.05) -> float:
    """Power of the one-sided one-sample (or paired) t-test at level ``alpha`` with ``n``
    units when the true standardized effect on the claimed side is ``effect`` (``d_z`` of
    the contrast at the claim's threshold): ``P(T > t_{1-alpha, n-1})`` for ``T`` noncentral
    t with ``n - 1`` degrees of freedom and noncentrality ``effect * sqrt(n)``."""
    if n < 2:
        return float("nan")
    crit = float(sps.t.ppf(1 - alpha, n - 1))
    return float(sps.nct.sf(crit, n - 1, effect * np.sqrt(n)))


def units_for_power(effect: float, power: float = 0.8, alpha: float = 0.05,
                    max_units: int = 10_000) -> int | None:
    """The smallest ``n >= 2`` whose :func:`power_one_sided` reaches ``power``; ``None``
    when the effect is not on the claimed side or needs more than ``max_units``."""
    if not effect > 0 or not np.isfinite(effect):
        return 2 if effect == np.inf else None
    lo, hi = 2, 2
    while power_one_sided(effect, hi, alpha) < power:
        if hi >= max_units:
            return None
        lo, hi = hi, min(2 * hi, max_units)
    while lo < hi:  # power rises with n: bisect for the first n that reaches it
        mid = (lo + hi) // 2
        if power_one_sided(effect, mid, alpha) >= power:
            hi = mid
        else:
            lo = mid + 1
    return hi


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values ``(m,)`` of ``pvalues (m,)`` (a NaN stays NaN and
    does not count in the family)."""
    p = np.asarray(pvalues, float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    running = 0.0
    for i, j in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[j]))
        out[j] = running
    return out
