"""Tables every report shares: per-run values and the statistics table.

All functions take tidy rows with columns ``condition``, ``seed``, ``metric``, ``value``
(and ``step`` for curves), as ``results.csv`` holds them.

``statistics(df, measures)`` compares every condition with ``intact`` on every listed
measure: mean with a 95% bootstrap CI over seeds, and for each lesion the difference and
the ratio of means (bootstrap CIs, resampling each group), Hedges' g (bootstrap CI) and
a two-sided permutation test of the difference of means (``p_perm``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.analysis.stats import (
    bootstrap_ci,
    bootstrap_two_sample,
    diff_of_means,
    hedges_g_ci,
    permutation_test,
    ratio_of_means,
)


def values(df: pd.DataFrame, condition: str, metric: str) -> np.ndarray:
    """The values of ``metric`` in ``condition``, in seed order, as a float array ``(n,)``."""
    sub = df[(df["condition"] == condition) & (df["metric"] == metric)]
    return sub.sort_values("seed")["value"].to_numpy(float)


def statistics(df: pd.DataFrame, measures: list[tuple[str, str]]) -> pd.DataFrame:
    """One row per listed ``(metric, label)`` x condition (see the module docstring).

    ``df`` holds one value per condition x seed x metric. Metrics absent from ``df`` are
    left out. Columns: measure, metric, condition, n, mean, ci_low, ci_high and, for every
    condition but intact, diff (condition minus intact), ratio (over intact), hedges_g
    with their CIs, and p_perm.
    """
    rows = []
    conditions = list(dict.fromkeys(df["condition"]))
    for metric, label in measures:
        if metric not in set(df["metric"]):
            continue
        base = values(df, "intact", metric)
        for cond in conditions:
            rows.append(_statistics_row(values(df, cond, metric), base, cond, metric, label))
    return pd.DataFrame(rows)


def _statistics_row(x, base, cond: str, metric: str, label: str) -> dict:
    m, lo, hi = bootstrap_ci(x)
    row = {"measure": label, "metric": metric, "condition": cond,
           "n": int(np.sum(~np.isnan(x))), "mean": m, "ci_low": lo, "ci_high": hi}
    if cond != "intact":
        d = bootstrap_two_sample(x, base, diff_of_means)
        r = bootstrap_two_sample(x, base, ratio_of_means)
        g = hedges_g_ci(x, base)
        row.update(
            diff=d[0], diff_low=d[1], diff_high=d[2],
            ratio=r[0], ratio_low=r[1], ratio_high=r[2],
            hedges_g=g[0], g_low=g[1], g_high=g[2],
            p_perm=permutation_test(x, base),
        )
    return row


def late_means(df: pd.DataFrame, prefix: str, fraction: float = 0.25) -> pd.DataFrame:
    """Per-run means of every curve whose metric starts with ``prefix`` over the last
    ``fraction`` of training steps, as tidy rows ``late/<metric>`` (condition, seed,
    metric, value), in the conditions' order."""
    curves = df[df["metric"].str.startswith(prefix)].dropna(subset=["value"])
    last = curves["step"].max()
    cut = last - fraction * (last - curves["step"].min())
    late = curves[curves["step"] >= cut]
    table = late.groupby(["condition", "seed", "metric"], sort=False)["value"].mean()
    table = table.reset_index()
    table["metric"] = "late/" + table["metric"]
    return in_condition_order(table[["condition", "seed", "metric", "value"]], df)


def in_condition_order(table: pd.DataFrame, df: pd.DataFrame) -> pd.DataFrame:
    """``table`` sorted by condition (in the order they first appear in ``df``), seed and
    metric."""
    order = list(dict.fromkeys(df["condition"]))
    cat = pd.Categorical(table["condition"], order, ordered=True)
    out = table.assign(_c=cat).sort_values(["_c", "seed", "metric"], kind="stable")
    return out.drop(columns="_c").reset_index(drop=True)


def per_run(df: pd.DataFrame, metric: str, how: str) -> pd.DataFrame:
    """One value per (condition, seed) of ``metric``: ``"value"`` (a metric measured once
    per run: ``eval/*``, ``test/*``), ``"mean"`` (mean over training) or ``"late"`` (mean
    over the last quarter of training). Returns tidy rows (condition, seed, metric, value)."""
    sub = df[df["metric"] == metric].dropna(subset=["value"])
    if how == "late":
        last, first = sub["step"].max(), sub["step"].min()
        sub = sub[sub["step"] >= last - 0.25 * (last - first)]
    elif how not in ("value", "mean"):
        raise ValueError(f"how must be 'value', 'mean' or 'late', got {how!r}")
    table = sub.groupby(["condition", "seed"], sort=False)["value"].mean().reset_index()
    return table.assign(metric=metric)[["condition", "seed", "metric", "value"]]
