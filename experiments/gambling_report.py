"""The ``gambling`` experiment's statistics, claims and figure (reads results only).

``draw(results_dir)`` writes ``statistics.csv`` (every condition against intact on
every measure: :func:`experiments.report.statistics`), ``claims.csv`` and
``figure.png``/``figure.pdf`` in the layout readers of the Iowa Gambling Task know:
net score ``(C + D) - (A + B)`` per block of 20 trials, one line per condition with
95% bootstrap CIs; deck proportions per block; the anticipatory marker before bad and
good decks. Measures: :mod:`experiments.iowa_metrics`.

The claims compare each lesion kind (full, frustration-only, marker-only "vmpfc"),
developmental onset, with intact participants. "No marker difference" holds for a lesion
by construction (the marker gains are 0, so the read-out is exactly 0); it is printed so
that a change which leaks the marker around the lesion shows up. Blocks 3-5 are the test phase (an
acquired lesion takes effect after block 2; its numbers are in the statistics table).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.figures import save_figure
from experiments.report import format_claims, statistics, values
from experiments.stats import bootstrap_ci, bootstrap_two_sample, diff_of_means

__all__ = ["MEASURES", "LESIONS", "check_claims", "draw", "format_claims"]

MEASURES = [
    ("test/net_score_late", "net score (C+D)-(A+B) per block, blocks 3-5"),
    ("test/net_score_first", "net score, block 1"),
    ("test/net_score_gain", "net score, blocks 3-5 minus block 1"),
    ("test/marker_gap", "anticipatory marker, bad minus good decks, blocks 2-5"),
    ("test/knowing", "knowing: share of good>bad deck pairs ranked right by final values"),
    ("test/doing", "doing: share of good-deck choices, last 40 trials"),
    ("test/knowing_minus_doing", "knowing minus doing"),
    ("test/money", "money won over the session ($)"),
]
LESIONS = ("full-lesion", "frustration-lesion", "vmpfc-lesion")


def _block_values(df, condition, metric):
    """``(seeds, blocks)`` values of a block curve for one condition."""
    sub = df[(df["condition"] == condition) & (df["metric"] == metric)]
    table = sub.pivot_table(index="seed", columns="step", values="value", aggfunc="first")
    return table.sort_index(axis=1).to_numpy(float)


def check_claims(df, lesions=LESIONS):
    """The issue's claims, measured: a list of dicts (claim, measured, passed)."""
    claims = []

    def add(claim, measured, passed):
        claims.append({"claim": claim, "measured": measured, "passed": bool(passed)})

    late = values(df, "intact", "test/net_score_late")
    gain = bootstrap_ci(values(df, "intact", "test/net_score_gain"))
    net = _block_values(df, "intact", "curve/net_score")
    block_means = ", ".join(f"{m:.1f}" for m in np.nanmean(net, axis=0))
    add(
        "intact: net score rises across blocks (blocks 3-5 minus block 1, CI excludes 0)",
        f"block means {block_means}; rise {gain[0]:+.2f} [95% CI {gain[1]:+.2f}, {gain[2]:+.2f}]",
        gain[1] > 0,
    )
    m = bootstrap_ci(late)
    add(
        "intact: net score > 0 on average in blocks 3-5",
        f"{m[0]:+.2f} [95% CI {m[1]:+.2f}, {m[2]:+.2f}]",
        m[0] > 0,
    )
    bad = _block_values(df, "intact", "curve/marker_bad")
    good = _block_values(df, "intact", "curve/marker_good")
    per_block = [bootstrap_ci(bad[:, b] - good[:, b]) for b in range(1, bad.shape[1])]
    add(
        "intact: larger pre-choice marker before bad than good decks in every block from 2 on "
        "(each CI excludes 0)",
        "aversion gap by block "
        + ", ".join(
            f"{b + 2}: {g[0]:+.2f} [{g[1]:+.2f}, {g[2]:+.2f}]" for b, g in enumerate(per_block)
        ),
        bool(per_block) and all(g[1] > 0 for g in per_block),
    )
    for lesion in lesions:
        if lesion not in set(df["condition"]):
            continue
        x = values(df, lesion, "test/net_score_late")
        m = bootstrap_ci(x)
        add(
            f"{lesion}: net score <= 0 on average in blocks 3-5",
            f"{m[0]:+.2f} [95% CI {m[1]:+.2f}, {m[2]:+.2f}]",
            m[0] <= 0,
        )
        d = bootstrap_two_sample(x, late, diff_of_means)
        add(
            f"{lesion}: net score in blocks 3-5 below intact (CI of the difference excludes 0)",
            f"difference {d[0]:+.2f} [95% CI {d[1]:+.2f}, {d[2]:+.2f}]",
            d[2] < 0,
        )
        g = bootstrap_ci(values(df, lesion, "test/marker_gap"))
        add(
            f"{lesion}: no pre-choice marker difference between bad and good decks",
            f"aversion gap {g[0]:+.3f} [95% CI {g[1]:+.3f}, {g[2]:+.3f}]",
            g[1] <= 0 <= g[2],
        )
    return claims


def knowing_doing_lines(df) -> list[str]:
    """The knowing-vs-doing measure per condition, with CIs (reported, not a claim)."""
    lines = []
    for cond in dict.fromkeys(df["condition"]):
        parts = []
        for metric in ("test/knowing", "test/doing", "test/knowing_minus_doing"):
            m = bootstrap_ci(values(df, cond, metric))
            parts.append(f"{metric[5:]} {m[0]:.2f} [{m[1]:.2f}, {m[2]:.2f}]")
        lines.append(f"  {cond}: " + "; ".join(parts))
    return lines


def draw(results_dir) -> list:
    """Write statistics.csv, claims.csv and the figure; return the claims."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    results_dir = Path(results_dir)
    df = pd.read_csv(results_dir / "results.csv")
    statistics(df, MEASURES).to_csv(results_dir / "statistics.csv", index=False)
    claims = check_claims(df)
    pd.DataFrame(claims).to_csv(results_dir / "claims.csv", index=False)
    (results_dir / "knowing_doing.txt").write_text(
        "knowing vs doing (mean [95% bootstrap CI] over participants):\n"
        + "\n".join(knowing_doing_lines(df))
        + "\n"
    )

    sns.set_theme(style="whitegrid", context="paper", font_scale=1.05)
    shown = [c for c in dict.fromkeys(df["condition"])
             if c == "intact" or c.removesuffix("-acquired") in ("full-lesion", "vmpfc-lesion")]
    curves = df[df["metric"].str.startswith("curve/")].copy()
    curves["block"] = (curves["step"] // 20).astype(int)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), constrained_layout=True)

    net = curves[(curves["metric"] == "curve/net_score") & curves["condition"].isin(shown)].copy()
    net["lesion"] = net["condition"].str.removesuffix("-acquired")
    net["onset"] = np.where(net["condition"].str.endswith("-acquired"), "acquired (after block 2)",
                            "developmental")
    sns.lineplot(data=net, x="block", y="value", hue="lesion", style="onset", marker="o",
                 style_order=["developmental", "acquired (after block 2)"],
                 errorbar=("ci", 95), n_boot=2000, seed=0, ax=axes[0])
    axes[0].axhline(0, color="0.3", lw=0.8)
    axes[0].set(title="Net score (C+D)-(A+B) per block of 20", xlabel="block",
                ylabel="net score", xticks=sorted(net["block"].unique()))

    props = curves[curves["metric"].str.startswith("curve/prop_")
                   & curves["condition"].isin(["intact", "full-lesion", "vmpfc-lesion"])].copy()
    props["deck"] = props["metric"].str[-1]
    sns.barplot(data=props, x="deck", y="value", hue="condition", errorbar=("ci", 95),
                n_boot=2000, seed=0, ax=axes[1])
    axes[1].set(title="Deck choices over the session", xlabel="deck (A, B bad; C, D good)",
                ylabel="proportion of choices")

    mk = curves[curves["metric"].isin(["curve/marker_bad", "curve/marker_good"])
                & (curves["condition"] == "intact")].copy()
    mk["before"] = mk["metric"].map({"curve/marker_bad": "bad decks (A, B)",
                                     "curve/marker_good": "good decks (C, D)"})
    sns.lineplot(data=mk, x="block", y="value", hue="before", marker="o", errorbar=("ci", 95),
                 n_boot=2000, seed=0, ax=axes[2])
    axes[2].set(title="Intact: anticipatory marker before a choice", xlabel="block",
                ylabel="aversion (-marker of the chosen deck)",
                xticks=sorted(mk["block"].unique()))
    for ax in axes:
        ax.legend(title="", fontsize=8)
    fig.suptitle("IowaGambling-v0: means over participants, 95% bootstrap CIs "
                 "(the frustration lesion equals the full lesion here: a sated participant "
                 "feels no hunger)", fontsize=10)
    save_figure(fig, results_dir)
    return claims
