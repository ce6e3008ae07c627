"""Statistics used by the figures and summaries (numpy only, seeded, deterministic)."""

from __future__ import annotations

import numpy as np


def bootstrap_ci(
    x, stat=np.mean, n_boot: int = 10_000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Percentile bootstrap CI of ``stat`` over the 1-D sample ``x`` (NaNs dropped).

    Returns ``(estimate, low, high)``; all NaN for an empty sample.
    """
    x = np.asarray(x, float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (np.nan, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    boots = stat(x[idx], axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(boots, [alpha, 1 - alpha])
    return float(stat(x)), float(low), float(high)


def bootstrap_diff_ci(
    a, b, n_boot: int = 10_000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Bootstrap CI of ``mean(a) - mean(b)`` for two independent samples."""
    return bootstrap_two_sample(a, b, diff_of_means, n_boot=n_boot, level=level, seed=seed)


def hedges_g(a, b) -> float:
    """Hedges' g of ``mean(a) - mean(b)`` (pooled SD, small-sample corrected)."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    na, nb = a.size, b.size
    if na < 2 or nb < 2:
        return float("nan")
    sp = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    if sp == 0:
        d = a.mean() - b.mean()
        return float("nan") if d == 0 else float(np.sign(d) * np.inf)
    j = 1 - 3 / (4 * (na + nb) - 9)
    return float(j * (a.mean() - b.mean()) / sp)


def bootstrap_two_sample(a, b, stat, n_boot: int = 10_000, level: float = 0.95, seed: int = 0):
    """Percentile bootstrap CI of ``stat(a, b)`` resampling each sample independently.

    ``stat`` takes two arrays ``(n_boot, n)`` and returns ``(n_boot,)``. Returns
    ``(estimate, low, high)`` with the estimate on the original samples.
    """
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size == 0 or b.size == 0:
        return (np.nan, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    ra = a[rng.integers(0, a.size, (n_boot, a.size))]
    rb = b[rng.integers(0, b.size, (n_boot, b.size))]
    with np.errstate(divide="ignore", invalid="ignore"):
        boots = np.asarray(stat(ra, rb), float)
        est = float(np.asarray(stat(a[None], b[None]), float)[0])
    boots = boots[~np.isnan(boots)]
    if boots.size == 0:
        return (est, np.nan, np.nan)
    alpha = (1 - level) / 2
    # a ratio over a zero denominator is infinite: take order statistics, not interpolations
    method = "linear" if np.isfinite(boots).all() else "inverted_cdf"
    low, high = np.quantile(boots, [alpha, 1 - alpha], method=method)
    return est, float(low), float(high)


def ratio_of_means(a, b):
    """``mean(a) / mean(b)`` along the last axis (for :func:`bootstrap_two_sample`)."""
    return np.mean(a, -1) / np.mean(b, -1)


def diff_of_means(a, b):
    return np.mean(a, -1) - np.mean(b, -1)


def hedges_g_ci(a, b, n_boot: int = 2_000, level: float = 0.95, seed: int = 0):
    """Hedges' g with a percentile bootstrap CI."""

    def g(ra, rb):
        return np.array([hedges_g(x, y) for x, y in zip(ra, rb, strict=True)])

    est = hedges_g(a, b)
    _, low, high = bootstrap_two_sample(a, b, g, n_boot=n_boot, level=level, seed=seed)
    return est, low, high
