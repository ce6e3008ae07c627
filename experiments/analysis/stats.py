"""Effect sizes and permutation tests (numpy only, seeded, deterministic), and the
percentile bootstrap that the statistics tables no longer use (it is too narrow with few
seeds: ``tests/test_inference.py`` shows it; see :mod:`experiments.analysis.inference`)."""

from __future__ import annotations

from itertools import combinations
from math import comb

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


def hedges_g(a, b) -> float:
    """Hedges' g of ``mean(a) - mean(b)`` (pooled SD, small-sample corrected); 0 for two
    identical constant samples, +-inf for two different constant ones."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    na, nb = a.size, b.size
    if na < 2 or nb < 2:
        return float("nan")
    sp = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    if sp == 0:  # both samples constant: no effect, or an infinite one
        d = a.mean() - b.mean()
        return 0.0 if d == 0 else float(np.sign(d) * np.inf)
    j = 1 - 3 / (4 * (na + nb) - 9)
    return float(j * (a.mean() - b.mean()) / sp)


def diff_of_means(a, b):
    """``mean(a) - mean(b)`` along the last axis (for :func:`bootstrap_two_sample`)."""
    return np.mean(a, -1) - np.mean(b, -1)


def permutation_test(
    a, b, stat=diff_of_means, n_perm: int = 10_000, seed: int = 0, alternative: str = "two-sided"
) -> float:
    """Permutation p-value of ``stat(a, b)`` (default: difference of means) against the
    null that the labels are exchangeable (NaNs dropped).

    Enumerates every relabelling when there are at most ``n_perm`` of them (an exact
    test, p = share of relabellings at least as extreme); otherwise draws ``n_perm``
    random ones and returns ``(k + 1) / (n_perm + 1)`` (Phipson & Smyth 2010).
    ``alternative``: ``"two-sided"`` (|stat| at least as large), ``"greater"`` or
    ``"less"``. ``stat`` takes two arrays ``(n, len)`` and returns ``(n,)``.
    """
    check_alternative(alternative)
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size == 0 or b.size == 0:
        return float("nan")
    pooled = np.concatenate([a, b])
    n, na = pooled.size, a.size
    observed = float(np.asarray(stat(a[None], b[None]))[0])
    exact = comb(n, na) <= n_perm
    if exact:
        idx = np.array(list(combinations(range(n), na)))
        mask = np.zeros((len(idx), n), bool)
        mask[np.arange(len(idx))[:, None], idx] = True
    else:
        rng = np.random.default_rng(seed)
        order = np.argsort(rng.random((n_perm, n)), axis=1)
        mask = np.zeros((n_perm, n), bool)
        np.put_along_axis(mask, order[:, :na], True, axis=1)
    ra = pooled[np.argwhere(mask)[:, 1]].reshape(len(mask), na)
    rb = pooled[np.argwhere(~mask)[:, 1]].reshape(len(mask), n - na)
    with np.errstate(divide="ignore", invalid="ignore"):
        null = np.asarray(stat(ra, rb), float)
    return permutation_p(null, observed, alternative, exact, n_perm)


def check_alternative(alternative: str) -> None:
    """A ``ValueError`` unless ``alternative`` is two-sided, greater or less."""
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(f"alternative must be 'two-sided', 'greater' or 'less', got "
                         f"{alternative!r}")


def permutation_p(null: np.ndarray, observed: float, alternative: str, exact: bool,
                  n_perm: int) -> float:
    """The p-value of ``observed`` against the statistic's values ``null (m,)`` under the
    relabellings: the share at least as extreme when ``null`` enumerates them all
    (``exact``), else ``(k + 1) / (n_perm + 1)`` (Phipson & Smyth 2010). Floating-point
    near-ties count as ties."""
    tol = 1e-12 * max(1.0, abs(observed))
    if alternative == "two-sided":
        k = int(np.sum(np.abs(null) >= abs(observed) - tol))
    elif alternative == "greater":
        k = int(np.sum(null >= observed - tol))
    else:
        k = int(np.sum(null <= observed + tol))
    return k / len(null) if exact else (k + 1) / (n_perm + 1)
