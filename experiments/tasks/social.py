"""The ``social`` experiment: does felt standing keep a commons alive?

``Commons-v0`` (4 agents, society rules on), each agent with its own network: all
intact, all social-lesioned, and one social-lesioned agent (agent 0) among intact ones.
Measures are the Commons training measures (:mod:`worlds.commons`), averaged per run
over the last quarter of training (the "late" phase). ``statistics.csv`` compares each
condition with the intact population (:func:`experiments.report.statistics`);
``late/social/standing_gap`` is, per run, agent 0's standing minus its peers' (the
claims in ``claims.toml`` read it for the mixed population).
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
from experiments.analysis.tables import in_condition_order, late_means, statistics, write_tables
from experiments.spec import ExperimentSpec
from experiments.tasks.base import INTACT, Task

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


def spec(quick: bool = False) -> ExperimentSpec:
    """Does felt standing keep a commons alive?

    ``Commons-v0`` (4 agents, society rules on) with the default agent (every agent has
    its own network, so a developmentally lesioned agent learns its own policy rather
    than running one shaped by the feeling agents): all intact, all social-lesioned, and
    one social-lesioned agent (agent 0) among intact ones. Quick: 16 seeds, 295k steps;
    full: 48, 2M (the power table, ``docs/statistics.md``: ``social-food`` needs 41).
    """
    return ExperimentSpec(
        name="social-quick" if quick else "social",
        world="Commons-v0",
        conditions=(INTACT, Lesion(ALL, {"social": 0.0}),
                    Lesion(MIXED, {"social": 0.0}, agents=(0,))),
        seeds=16 if quick else 48,
        total_steps=294_912 if quick else 2_000_000,
    )


def late_table(df, fraction: float = 0.25):
    """Per-run means of every ``social/*`` curve over the last ``fraction`` of steps, as
    tidy rows ``late/<metric>`` (plus ``late/social/standing_gap``)."""
    out = late_means(df, "social/", fraction)
    wide = out.pivot_table(index=["condition", "seed"], columns="metric", values="value")
    gap = (wide["late/social/standing_agent0"] - wide["late/social/standing_others"]).rename(
        "value").reset_index().assign(metric="late/social/standing_gap")
    out = pd.concat([out, gap[out.columns]], ignore_index=True)
    return in_condition_order(out, df)


def claim_table(df: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The per-run late-training values and the measures of the statistics table (every
    late-training measure and each agent's standing)."""
    late = late_table(df)
    agents = sorted(
        int(m.rsplit("/", 1)[1]) for m in late["metric"].unique()
        if m.startswith("late/social/standing/")
    )
    per_agent = [(f"late/social/standing/{i}", f"standing of agent {i}, late training")
                 for i in agents]
    return late, MEASURES + per_agent


def statistics_table(df: pd.DataFrame) -> pd.DataFrame:
    """Every condition against the intact population on every measure of
    :func:`claim_table`."""
    return statistics(*claim_table(df))


def report(results_dir) -> None:
    """Write ``statistics.csv`` (:func:`statistics_table`) and the figure."""
    results_dir = Path(results_dir)
    df = pd.read_csv(results_dir / "results.csv")
    write_tables(results_dir, *claim_table(df))
    draw_figure(df, results_dir)


def draw_figure(df: pd.DataFrame, folder: Path) -> None:
    """Food, welfare, shares and standing over training, and the lone lesioned agent's
    standing against its peers (``figure.png``/``.pdf``)."""
    sns = seaborn()
    panels = [
        ("social/food_stock", "Food stock (share of spots with food)"),
        ("social/total_energy", "Group welfare (total energy)"),
        ("social/share_rate", "Shares per agent-step"),
        ("social/standing", "Mean standing"),
    ]
    fig, axes = new_figure(5, (21, 4.2), font_scale=1.05)
    order = condition_order(df)
    for ax, (metric, title) in zip(axes, panels, strict=False):
        sub = df[df["metric"] == metric].dropna(subset=["value"])
        sns.lineplot(data=sub, x="step", y="value", hue="condition", hue_order=order,
                     errorbar=t_errorbar, ax=ax)
        ax.set(title=title, xlabel="environment steps", ylabel="")
        ax.legend(fontsize=7, title="")
    mixed = df[(df["condition"] == MIXED)
               & df["metric"].isin(["social/standing_agent0", "social/standing_others"])]
    mixed = mixed.assign(agent=mixed["metric"].map(
        {"social/standing_agent0": "agent 0 (lesioned)", "social/standing_others": "its peers"}))
    sns.lineplot(data=mixed.dropna(subset=["value"]), x="step", y="value", hue="agent",
                 errorbar=t_errorbar, ax=axes[4])
    axes[4].set(title=f"{MIXED}: standing", xlabel="environment steps", ylabel="")
    axes[4].legend(fontsize=7, title="")
    n_seeds = df["seed"].nunique()
    fig.suptitle(f"Commons-v0: means over {n_seeds} seeds, bands: " + INTERVALS, fontsize=10)
    save_figure(fig, folder)


TASK = Task("social", spec, report)
