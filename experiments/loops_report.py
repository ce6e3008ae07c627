"""The ``loops`` experiment's statistics, claims and figure (reads results only).

Measures are the Detour training measures (:mod:`worlds.detour`), averaged per run over
the last quarter of training: loop rate (share of episodes caught in a short cycle for
at least ``loop_steps`` steps), success (goal reached), steps caught in the longest
cycle, and the share of looped episodes that still reached the goal (escape).
``statistics.csv`` compares each condition with intact; ``claims.csv`` holds the claim:
removing frustration raises the loop rate (95% CI of the difference excluding 0).
"""

from __future__ import annotations

from pathlib import Path

from experiments.figures import save_figure
from experiments.report import format_claims, late_means, statistics, values
from experiments.stats import bootstrap_two_sample, diff_of_means, permutation_test

__all__ = ["MEASURES", "check_claims", "draw", "format_claims"]

MEASURES = [
    ("late/detour/loop_rate", "loop rate (episodes caught in a short cycle), late training"),
    ("late/detour/success", "success (goal reached), late training"),
    ("late/detour/caught_steps", "steps in the longest short cycle per episode, late training"),
    ("late/detour/escape_rate", "looped episodes that still reached the goal, late training"),
    ("late/charts/episode_return", "world return per episode, late training"),
]
LESION = "frustration-lesion"


def late_table(df):
    import pandas as pd

    return pd.concat([late_means(df, "detour/"), late_means(df, "charts/episode_return")],
                     ignore_index=True)


def check_claims(late):
    d = bootstrap_two_sample(values(late, LESION, "late/detour/loop_rate"),
                             values(late, "intact", "late/detour/loop_rate"), diff_of_means)
    p = permutation_test(values(late, LESION, "late/detour/loop_rate"),
                         values(late, "intact", "late/detour/loop_rate"), alternative="greater")
    return [{
        "claim": f"{LESION} vs intact: removing frustration raises the loop rate (CI excludes 0)",
        "measured": f"difference {d[0]:+.3f} [95% CI {d[1]:+.3f}, {d[2]:+.3f}], one-sided "
                    f"permutation p = {p:.3g}",
        "passed": bool(d[1] > 0),
    }]


def draw(results_dir) -> list:
    """Write statistics.csv, claims.csv and the figure; return the claims."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    results_dir = Path(results_dir)
    df = pd.read_csv(results_dir / "results.csv")
    late = late_table(df)
    statistics(late, MEASURES).to_csv(results_dir / "statistics.csv", index=False)
    claims = check_claims(late)
    pd.DataFrame(claims).to_csv(results_dir / "claims.csv", index=False)

    sns.set_theme(style="whitegrid", context="paper", font_scale=1.05)
    order = list(dict.fromkeys(df["condition"]))
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.0), constrained_layout=True)
    for ax, (metric, title) in zip(axes[:2], [("detour/loop_rate", "Loop rate"),
                                              ("detour/success", "Success")], strict=True):
        sub = df[df["metric"] == metric].dropna(subset=["value"])
        sns.lineplot(data=sub, x="step", y="value", hue="condition", hue_order=order,
                     errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax)
        ax.set(title=title, xlabel="environment steps", ylabel="share of episodes")
        ax.legend(fontsize=7, title="")
    rate = late[late["metric"] == "late/detour/loop_rate"]
    sns.stripplot(data=rate, x="condition", y="value", order=order, ax=axes[2], alpha=0.6,
                  jitter=0.25)
    sns.pointplot(data=rate, x="condition", y="value", order=order, ax=axes[2], color="k",
                  errorbar=("ci", 95), n_boot=1000, seed=0, linestyle="none", markers="D")
    axes[2].set(title="Late loop rate per run (diamond: mean, 95% CI)", xlabel="",
                ylabel="share of episodes")
    axes[2].tick_params(axis="x", rotation=20)
    n_seeds = df["seed"].nunique()
    fig.suptitle(f"Detour-v0: {n_seeds} seeds per condition, 95% bootstrap intervals",
                 fontsize=10)
    save_figure(fig, results_dir)
    return claims
