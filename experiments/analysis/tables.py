"""Tables every report shares: per-run values, the statistics table and its inputs.

All functions take tidy rows with columns ``condition``, ``seed``, ``metric``, ``value``
(and ``step`` for curves, ``trials`` for rates counted over trials), as ``results.csv``
holds them.

``statistics(df, measures)`` compares every condition with ``intact`` on every listed
measure (:func:`compare`). Every condition of a seed shares the seed's initial parameters
and random keys, so where a condition has the same seeds as intact the comparison is
paired: the difference is read from the per-seed differences. One sign convention holds
everywhere: a difference is the condition minus intact, a ratio the condition over intact.
With fewer than :data:`~experiments.analysis.inference.MIN_UNITS` seeds no interval is
given (``note`` says "too few seeds"): below that the claim checks cannot hold their
level. ``values.csv`` (:func:`write_tables`) keeps the per-run values the table and the
claim checks are computed from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.inference import (
    MIN_UNITS,
    clopper_pearson,
    cohens_dz,
    fieller_interval,
    sign_flip_test,
    t_interval,
    welch_interval,
)
from experiments.analysis.stats import hedges_g, permutation_test

VALUE_COLUMNS = ["condition", "seed", "metric", "value", "trials"]
TOO_FEW = f"too few seeds for an interval (fewer than {MIN_UNITS})"


def values(df: pd.DataFrame, condition: str, metric: str) -> np.ndarray:
    """The values of ``metric`` in ``condition``, in seed order, as a float array ``(n,)``."""
    sub = df[(df["condition"] == condition) & (df["metric"] == metric)]
    return sub.sort_values("seed")["value"].to_numpy(float)


def samples(df: pd.DataFrame, condition: str, metric: str,
            base: str = "intact") -> tuple[np.ndarray, np.ndarray, bool]:
    """``(x, b, paired)``: the values of ``metric`` in ``condition`` and in ``base``; when
    both have one value for each of the same seeds, seed-aligned and ``paired``."""
    rows = df["metric"].to_numpy() == metric
    cond = df["condition"].to_numpy()[rows]
    seed, value = df["seed"].to_numpy()[rows], df["value"].to_numpy(float)[rows]
    a, b = cond == condition, cond == base
    sa, sb = seed[a], seed[b]
    oa, ob = np.argsort(sa, kind="stable"), np.argsort(sb, kind="stable")
    paired = (sa.size > 0 and sa.size == sb.size and np.unique(sa).size == sa.size
              and np.array_equal(sa[oa], sb[ob]))
    return value[a][oa], value[b][ob], bool(paired)


def compare(df: pd.DataFrame, metric: str, condition: str, label: str = "",
            permutation: bool = True) -> dict:
    """One statistics row: ``condition``'s mean of ``metric`` (t interval over seeds) and,
    unless it is intact, its difference from intact (paired t or Welch interval), ratio
    over intact (Fieller's interval), ``d_z`` (paired) and Hedges' g, and ``p_perm`` (a
    sign-flip test when paired, else a two-sample permutation test). Rates with trial
    counts (a ``trials`` column) add the pooled events, trials and the one-sided 95%
    Clopper-Pearson upper bound ``rate_ub``. ``permutation=False`` leaves ``p_perm`` out
    (NaN; it is the slow part)."""
    x, base, paired = samples(df, condition, metric)
    n = int(np.sum(~np.isnan(x)))
    m, lo, hi = t_interval(x)
    row = {"measure": label or metric, "metric": metric, "condition": condition, "n": n,
           "mean": m, "sd": float(np.nanstd(x, ddof=1)) if n > 1 else np.nan,
           "ci_low": lo, "ci_high": hi, "note": ""}
    units = n
    if condition != "intact" and base.size:
        if paired:
            ok = ~(np.isnan(x) | np.isnan(base))
            d, lo_hi = x[ok] - base[ok], t_interval(x[ok] - base[ok])
            units = int(ok.sum())
            extra = {"d_z": cohens_dz(d),
                     "p_perm": sign_flip_test(d) if permutation else np.nan}
        else:
            lo_hi = welch_interval(x, base)
            units = min(n, int(np.sum(~np.isnan(base))))
            extra = {"d_z": np.nan,
                     "p_perm": permutation_test(x, base) if permutation else np.nan}
        r = fieller_interval(x, base, paired=paired)
        row.update(paired=paired, diff=lo_hi[0], diff_low=lo_hi[1], diff_high=lo_hi[2],
                   ratio=r[0], ratio_low=r[1], ratio_high=r[2], hedges_g=hedges_g(x, base),
                   **extra)
    row.update(_rate_bound(df, condition, metric))
    if units < MIN_UNITS:
        for col in ("ci_low", "ci_high", "diff_low", "diff_high", "ratio_low", "ratio_high"):
            if col in row:
                row[col] = np.nan
        row["note"] = TOO_FEW
    return row


def _rate_bound(df: pd.DataFrame, condition: str, metric: str) -> dict:
    if "trials" not in df.columns:
        return {}
    sub = df[(df["condition"] == condition) & (df["metric"] == metric)].dropna(
        subset=["value", "trials"])
    if sub.empty:
        return {}
    trials = int(sub["trials"].sum())
    events = int(np.rint((sub["value"] * sub["trials"]).sum()))
    if trials <= 0:
        return {}
    return {"events": events, "trials": trials,
            "rate_ub": clopper_pearson(events, trials, level=0.90)[1]}


def statistics(df: pd.DataFrame, measures: list[tuple[str, str]]) -> pd.DataFrame:
    """One row per listed ``(metric, label)`` x condition (:func:`compare`; see the module
    docstring).

    ``df`` holds one value per condition x seed x metric. Metrics absent from ``df`` are
    left out. Columns: measure, metric, condition, n, mean, sd, ci_low, ci_high, note and,
    for every condition but intact, paired, diff (condition minus intact), ratio (over
    intact) with their CIs, d_z, hedges_g and p_perm; rates add events, trials, rate_ub.
    """
    rows = []
    conditions = list(dict.fromkeys(df["condition"]))
    present = set(df["metric"])
    for metric, label in measures:
        if metric in present:
            rows += [compare(df, metric, cond, label) for cond in conditions]
    return pd.DataFrame(rows)


def with_trials(df: pd.DataFrame, rates: dict[str, str]) -> pd.DataFrame:
    """``df`` with a ``trials`` column: for each ``rate metric -> count metric`` of
    ``rates``, the run's count (e.g. the number of equal-value trials behind a timeout
    rate), so that :func:`compare` can bound the rate over trials."""
    counts = df[df["metric"].isin(rates.values())].set_index(["condition", "seed", "metric"])
    counts = counts["value"]
    out = df.copy()
    out["trials"] = np.nan
    for rate, count in rates.items():
        rows = out["metric"] == rate
        keys = zip(out.loc[rows, "condition"], out.loc[rows, "seed"], [count] * rows.sum(),
                   strict=True)
        out.loc[rows, "trials"] = [counts.get(k, np.nan) for k in keys]
    return out


def claim_values(df: pd.DataFrame, measures: list[tuple[str, str]]) -> pd.DataFrame:
    """The per-run rows of ``df`` behind :func:`statistics` (``values.csv``): columns
    condition, seed, metric, value, trials (NaN where not a rate over trials)."""
    out = df[df["metric"].isin([m for m, _ in measures])].copy()
    if "trials" not in out.columns:
        out["trials"] = np.nan
    return in_condition_order(out[VALUE_COLUMNS], df)


def write_tables(folder: str | Path, df: pd.DataFrame,
                 measures: list[tuple[str, str]]) -> pd.DataFrame:
    """Write ``statistics.csv`` (:func:`statistics`) and ``values.csv``
    (:func:`claim_values`, what the claims are checked on) into ``folder``; returns the
    statistics table."""
    folder = Path(folder)
    stats = statistics(df, measures)
    stats.to_csv(folder / "statistics.csv", index=False)
    claim_values(df, measures).to_csv(folder / "values.csv", index=False)
    return stats


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


RESULT_COLUMNS = ["condition", "seed", "step", "metric", "value"]
"""The columns of ``results.csv`` the reports compute from."""


def read_results(path: str | Path, keep, chunk_rows: int = 2_000_000) -> pd.DataFrame:
    """The rows of a ``results.csv`` whose metric ``keep`` accepts (a collection of metric
    names, or a function of a metric name), with :data:`RESULT_COLUMNS` only. Read in
    chunks of ``chunk_rows`` rows, so memory holds the rows kept, not the file: a full
    suite member's file holds tens of millions of rows (the full lesion matrix's
    ``foraging`` member: 4.7 GB)."""
    if not callable(keep):
        wanted = set(keep)
        keep = wanted.__contains__
    parts = []
    with pd.read_csv(path, usecols=RESULT_COLUMNS, chunksize=chunk_rows) as chunks:
        for chunk in chunks:
            names = chunk["metric"].unique()
            chosen = [m for m in names if keep(m)]
            if chosen:
                parts.append(chunk[chunk["metric"].isin(chosen)])
    if not parts:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    return pd.concat(parts, ignore_index=True)


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


def replace_between(text: str, section: str, begin: str, end: str) -> str:
    """``text`` with the part between the markers ``begin`` and ``end`` replaced by
    ``section`` (a ``ValueError`` where either marker is missing): how commands write
    their tables into the docs."""
    if begin not in text or end not in text:
        raise ValueError(f"the file has no {begin} ... {end} section to replace")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{section}\n{end}{tail}"
