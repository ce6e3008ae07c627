"""The ``loops`` experiment: does frustration break oscillation between two failing plans?

``Detour-v0``: the goal lies behind a wall, the reward gradient points into a pocket
with two levers that undo each other. Intact agents vs frustration-lesioned,
hunger-lesioned (a control: the body still tires) and fully lesioned ones.

Measures are the Detour training measures (:mod:`worlds.detour`), averaged per run over
the last quarter of training: loop rate (share of episodes caught in a short cycle for
at least ``loop_steps`` steps), success (goal reached), steps caught in the longest
cycle, and the share of looped episodes that still reached the goal (escape).
``statistics.csv`` compares each condition with intact.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from affect.lesion import Lesion
from experiments.analysis.plots import (
    INTERVALS,
    condition_order,
    new_figure,
    save_figure,
    seaborn,
    t_errorbar,
)
from experiments.analysis.tables import late_means, statistics, write_tables
from experiments.spec import ExperimentSpec
from experiments.tasks.base import INTACT, Task, default_channels, full_lesion

MEASURES = [
    ("late/detour/loop_rate", "loop rate (episodes caught in a short cycle), late training"),
    ("late/detour/success", "success (goal reached), late training"),
    ("late/detour/caught_steps", "steps in the longest short cycle per episode, late training"),
    ("late/detour/escape_rate", "looped episodes that still reached the goal, late training"),
    ("late/charts/episode_return", "world return per episode, late training"),
]


def spec(quick: bool = False) -> ExperimentSpec:
    """Does frustration break oscillation between two failing plans?

    ``Detour-v0``: the goal lies behind a wall, the reward gradient points into a pocket
    with two levers that undo each other. Intact agents vs frustration-lesioned, hunger-
    lesioned (a control: the body still tires) and fully lesioned ones; loop rate,
    success and time caught over the last quarter of training. Quick: 16 seeds, 300k
    steps; full: 64 seeds, 1M.
    """
    return ExperimentSpec(
        name="loops-quick" if quick else "loops",
        world="Detour-v0",
        conditions=(
            INTACT,
            Lesion("frustration-lesion", {"frustration": 0.0}),
            Lesion("hunger-lesion", {"hunger": 0.0}),
            Lesion("full-lesion", full_lesion(default_channels())),
        ),
        seeds=16 if quick else 64,
        total_steps=300_000 if quick else 1_000_000,
    )


def late_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per-run late-training means of the Detour measures and the world return."""
    return pd.concat([late_means(df, "detour/"), late_means(df, "charts/episode_return")],
                     ignore_index=True)


def statistics_table(df: pd.DataFrame) -> pd.DataFrame:
    """Every condition against intact on the late-training measures of ``results.csv``."""
    return statistics(late_table(df), MEASURES)


def report(results_dir) -> None:
    """Write ``statistics.csv`` (:func:`statistics_table`) and the figure."""
    sns = seaborn()
    results_dir = Path(results_dir)
    df = pd.read_csv(results_dir / "results.csv")
    write_tables(results_dir, late_table(df), MEASURES)
    late = late_table(df)
    order = condition_order(df)
    fig, axes = new_figure(3, (14, 4.0), font_scale=1.05)
    for ax, (metric, title) in zip(axes[:2], [("detour/loop_rate", "Loop rate"),
                                              ("detour/success", "Success")], strict=True):
        sub = df[df["metric"] == metric].dropna(subset=["value"])
        sns.lineplot(data=sub, x="step", y="value", hue="condition", hue_order=order,
                     errorbar=t_errorbar, ax=ax)
        ax.set(title=title, xlabel="environment steps", ylabel="share of episodes")
        ax.legend(fontsize=7, title="")
    rate = late[late["metric"] == "late/detour/loop_rate"]
    sns.stripplot(data=rate, x="condition", y="value", order=order, ax=axes[2], alpha=0.6,
                  jitter=0.25)
    sns.pointplot(data=rate, x="condition", y="value", order=order, ax=axes[2], color="k",
                  errorbar=t_errorbar, linestyle="none", markers="D")
    axes[2].set(title="Late loop rate per run (diamond: mean, 95% t interval)", xlabel="",
                ylabel="share of episodes")
    axes[2].tick_params(axis="x", rotation=20)
    n_seeds = df["seed"].nunique()
    fig.suptitle(f"Detour-v0: {n_seeds} seeds per condition, " + INTERVALS,
                 fontsize=10)
    save_figure(fig, results_dir)


TASK = Task("loops", spec, report)
