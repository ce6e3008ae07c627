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
* :func:`tost` -- two one-sided tests of equivalence within a stated margin;
* :func:`holm` -- Holm-Bonferroni adjusted p-values over a family of claims.

All take NaN-free data or drop NaNs (pairs with a NaN on either side) as stated, and are
deterministic (the sampled sign-flip test is seeded).
"""

from __future__ import annotations

from itertools import product

import numpy as np
from scipy import stats as sps

from experiments.analysis.stats import check_alternative, permutation_p


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
    if not margin > 0:
        raise ValueError(f"the equivalence margin must be > 0, got {margin!r}")
    d = np.asarray(d, float)
    d = d[~np.isnan(d)]
    if d.size < 2:
        return float("nan")
    m, se = float(d.mean()), float(d.std(ddof=1)) / np.sqrt(d.size)
    if se == 0:
        return 0.0 if abs(m) < margin else 1.0
    df = d.size - 1
    p_low = float(sps.t.sf((m + margin) / se, df))  # H0: mean <= -margin
    p_high = float(sps.t.cdf((m - margin) / se, df))  # H0: mean >= +margin
    return max(p_low, p_high)


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
