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
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size == 0 or b.size == 0:
        return (np.nan, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    ma = a[rng.integers(0, a.size, (n_boot, a.size))].mean(1)
    mb = b[rng.integers(0, b.size, (n_boot, b.size))].mean(1)
    alpha = (1 - level) / 2
    low, high = np.quantile(ma - mb, [alpha, 1 - alpha])
    return float(a.mean() - b.mean()), float(low), float(high)
