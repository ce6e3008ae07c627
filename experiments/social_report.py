"""The ``social`` experiment's statistics, claims and figure (reads results only).

Measures are the Commons training measures (:mod:`worlds.commons`), averaged per run
over the last quarter of training (the "late" phase). ``statistics.csv`` compares each
condition with the intact population (:func:`experiments.report.statistics`);
``claims.csv`` holds the issue's claims:

* the all-lesioned population sustains less food stock *or* lower group welfare (total
  energy) than the intact one, the 95% CI of the difference excluding 0;
* in the mixed population a lone lesioned agent (agent 0) ends with lower standing than
  its intact peers (the CI of the within-run difference excluding 0).
"""

from __future__ import annotations

from pathlib import Path

from experiments.figures import save_figure
from experiments.report import _in_condition_order, format_claims, late_means, statistics, values
from experiments.stats import bootstrap_ci, bootstrap_two_sample, diff_of_means

__all__ = ["MEASURES", "check_claims", "draw", "format_claims", "late_table"]

MEASURES = [
    ("late/social/food_stock", "food stock (share of spots with food), late training"),
    ("late/social/total_energy", "group welfare: total energy, late training"),
    ("late/social/alive", "share of agents alive, late training"),
    ("late/social/gini_eaten", "Gini coefficient of food eaten, late training"),
    ("late/social/share_rate", "share rate per agent-step, late training"),
    ("late/social/take_rate", "take rate per agent-step, late training"),
    ("late/social/refusals", "refusals per agent-step, late training"),
    ("late/social/exclusions", "exclusions per agent-step, late training"),
    ("late/social/standing", "mean standing, late training"),
    ("late/social/standing_gap", "standing of agent 0 minus the others, late training"),
]
ALL = "social-lesion"
MIXED = "one-lesioned"


def late_table(df, fraction: float = 0.25):
    """Per-run means of every ``social/*`` curve over the last ``fraction`` of steps, as
    tidy rows ``late/<metric>`` (plus ``late/social/standing_gap``)."""
    out = late_means(df, "social/", fraction)
    wide = out.pivot_table(index=["condition", "seed"], columns="metric", values="value")
    gap = (wide["late/social/standing_agent0"] - wide["late/social/standing_others"]).rename(
        "value").reset_index().assign(metric="late/social/standing_gap")
    import pandas as pd

    out = pd.concat([out, gap[out.columns]], ignore_index=True)
    return _in_condition_order(out, df)


def check_claims(late):
    claims = []

    def add(claim, measured, passed):
        claims.append({"claim": claim, "measured": measured, "passed": bool(passed)})

    diffs = {}
    for metric in ("late/social/food_stock", "late/social/total_energy"):
        diffs[metric] = bootstrap_two_sample(
            values(late, ALL, metric), values(late, "intact", metric), diff_of_means
        )
    text = "; ".join(
        f"{m.split('/')[-1]} difference {d[0]:+.3f} [95% CI {d[1]:+.3f}, {d[2]:+.3f}]"
        for m, d in diffs.items()
    )
    add(f"{ALL} vs intact: less food stock or lower group welfare (CI excludes 0)", text,
        any(d[2] < 0 for d in diffs.values()))
    gap = bootstrap_ci(values(late, MIXED, "late/social/standing_gap"))
    add(f"{MIXED}: the lone lesioned agent ends with lower standing than its peers "
        "(CI excludes 0)",
        f"agent 0 minus the others {gap[0]:+.3f} [95% CI {gap[1]:+.3f}, {gap[2]:+.3f}]",
        gap[2] < 0)
    return claims


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
    agents = sorted(
        int(m.rsplit("/", 1)[1]) for m in late["metric"].unique()
        if m.startswith("late/social/standing/")
    )
    per_agent = [(f"late/social/standing/{i}", f"standing of agent {i}, late training")
                 for i in agents]
    statistics(late, MEASURES + per_agent).to_csv(results_dir / "statistics.csv", index=False)
    claims = check_claims(late)
    pd.DataFrame(claims).to_csv(results_dir / "claims.csv", index=False)

    sns.set_theme(style="whitegrid", context="paper", font_scale=1.05)
    panels = [
        ("social/food_stock", "Food stock (share of spots with food)"),
        ("social/total_energy", "Group welfare (total energy)"),
        ("social/share_rate", "Shares per agent-step"),
        ("social/standing", "Mean standing"),
    ]
    fig, axes = plt.subplots(1, 5, figsize=(21, 4.2), constrained_layout=True)
    order = list(dict.fromkeys(df["condition"]))
    for ax, (metric, title) in zip(axes, panels, strict=False):
        sub = df[df["metric"] == metric].dropna(subset=["value"])
        sns.lineplot(data=sub, x="step", y="value", hue="condition", hue_order=order,
                     errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax)
        ax.set(title=title, xlabel="environment steps", ylabel="")
        ax.legend(fontsize=7, title="")
    mixed = df[(df["condition"] == MIXED)
               & df["metric"].isin(["social/standing_agent0", "social/standing_others"])]
    mixed = mixed.assign(agent=mixed["metric"].map(
        {"social/standing_agent0": "agent 0 (lesioned)", "social/standing_others": "its peers"}))
    sns.lineplot(data=mixed.dropna(subset=["value"]), x="step", y="value", hue="agent",
                 errorbar=("ci", 95), n_boot=1000, seed=0, ax=axes[4])
    axes[4].set(title=f"{MIXED}: standing", xlabel="environment steps", ylabel="")
    axes[4].legend(fontsize=7, title="")
    n_seeds = df["seed"].nunique()
    fig.suptitle(f"Commons-v0: means over {n_seeds} seeds, 95% bootstrap bands", fontsize=10)
    save_figure(fig, results_dir)
    return claims
