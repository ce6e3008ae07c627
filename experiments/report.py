"""Shared pieces of the experiments' reports: the statistics table and the claim check.

``statistics(df, measures)`` compares every condition with ``intact`` on every listed
test-phase measure of a tidy ``results.csv``: mean with a 95% bootstrap CI over seeds,
and for each lesion the difference and the ratio of means (bootstrap CIs, resampling
each group), Hedges' g (bootstrap CI) and a two-sided permutation test of the
difference of means (``p_perm``). ``format_claims`` prints a claims table.
"""

from __future__ import annotations

import numpy as np

from experiments.stats import (
    bootstrap_ci,
    bootstrap_two_sample,
    diff_of_means,
    hedges_g_ci,
    permutation_test,
    ratio_of_means,
)


def values(df, condition, metric):
    sub = df[(df["condition"] == condition) & (df["metric"] == metric)]
    return sub.sort_values("seed")["value"].to_numpy(float)


def statistics(df, measures):
    import pandas as pd

    rows = []
    conditions = list(dict.fromkeys(df["condition"]))
    for metric, label in measures:
        if metric not in set(df["metric"]):
            continue
        base = values(df, "intact", metric)
        for cond in conditions:
            x = values(df, cond, metric)
            m, lo, hi = bootstrap_ci(x)
            n = int(np.sum(~np.isnan(x)))
            row = {"measure": label, "metric": metric, "condition": cond, "n": n,
                   "mean": m, "ci_low": lo, "ci_high": hi}
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
            rows.append(row)
    return pd.DataFrame(rows)


def format_claims(claims) -> str:
    """The printed claim check: one ``[PASS]``/``[FAIL]`` line per claim."""
    lines = ["claim check (measured by this run):"]
    for c in claims:
        lines.append(f"  [{'PASS' if c['passed'] else 'FAIL'}] {c['claim']}: {c['measured']}")
    return "\n".join(lines)


def late_means(df, prefix: str, fraction: float = 0.25):
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
    return _in_condition_order(table[["condition", "seed", "metric", "value"]], df)


def _in_condition_order(table, df):
    import pandas as pd

    order = list(dict.fromkeys(df["condition"]))
    cat = pd.Categorical(table["condition"], order, ordered=True)
    out = table.assign(_c=cat).sort_values(["_c", "seed", "metric"], kind="stable")
    return out.drop(columns="_c").reset_index(drop=True)
