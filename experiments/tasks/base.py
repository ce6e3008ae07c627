"""What a catalogued experiment is (:class:`Task`), and the pieces tasks share.

A task module (one per catalogued experiment, in this package) defines its pinned specs
(``spec(quick)``), its measures, its report (``report(run_dir)``: reads ``results.csv``,
writes ``statistics.csv`` and the figure) and, for online tasks, the analysis that turns
session logs into measures. Its claims live in ``experiments/claims.toml``, under the
task's name. :func:`curves_report` is the report of PPO experiments in a world that no
task claims (learning curves, summary and statistics).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from affect.lesion import Lesion
from affect.ppo import AgentConfig
from experiments.analysis.claims import CLAIMS_FILE
from experiments.analysis.plots import (
    INTERVALS,
    binned,
    condition_order,
    new_figure,
    save_figure,
    seaborn,
    t_errorbar,
)
from experiments.analysis.tables import compare, statistics, write_tables
from experiments.spec import ExperimentSpec

INTACT = Lesion("intact")

# analyse(spec, world, world_params, logs (S, C, T, ...)) -> (metrics, block end steps)
SessionAnalysis = Callable[[ExperimentSpec, Any, Any, dict], tuple[dict, Any]]


@dataclass(frozen=True)
class Task:
    """A catalogued experiment.

    Attributes:
        name: catalogue name (``affectlab run NAME``; ``experiment`` in ``claims.toml``).
        spec: ``spec(quick) -> ExperimentSpec``: the pinned quick and full specs; its
            docstring's first line is the task's question.
        report: ``report(run_dir)``: reads ``results.csv`` and writes ``statistics.csv``,
            the figure and any extra tables into ``run_dir``.
        analyse: online tasks only: turns session logs into measures (see
            :data:`SessionAnalysis`).
        claims_file: the claims file holding the task's claims (under its name);
            affectlab's own ``claims.toml`` by default, a task of your own may bring its own.
    """

    name: str
    spec: Callable[[bool], ExperimentSpec]
    report: Callable[[Path], None]
    analyse: SessionAnalysis | None = None
    claims_file: Path = CLAIMS_FILE

    @property
    def question(self) -> str:
        """The first line of the spec function's docstring."""
        return (self.spec.__doc__ or self.name).strip().splitlines()[0]

    def handles(self, spec: ExperimentSpec) -> bool:
        """Whether this task's report (and analysis) apply to ``spec``: same world and
        trainer as the task's own spec."""
        own = self.spec(True)
        return spec.world == own.world and spec.trainer == own.trainer


def default_channels() -> tuple[str, ...]:
    """The affect channels of the default agent."""
    return AgentConfig().affect_channels


def full_lesion(channels: tuple[str, ...]) -> dict[str, float]:
    """Gains that remove every channel in ``channels``."""
    return {c: 0.0 for c in channels}


def lesion_set(channels: tuple[str, ...]) -> tuple[Lesion, ...]:
    """Intact, full lesion, each single-channel lesion and the marker-only ("vmpfc")
    lesion, each with developmental and acquired onset."""
    kinds = [("full-lesion", full_lesion(channels))]
    kinds += [(f"{c}-lesion", {c: 0.0}) for c in channels]
    kinds += [("vmpfc-lesion", {c: {"marker": 0.0} for c in channels})]
    out = [INTACT]
    for onset, suffix in (("developmental", ""), ("acquired", "-acquired")):
        out += [Lesion(name + suffix, gains, onset=onset) for name, gains in kinds]
    return tuple(out)


# ------------------------------------------------------------------ the curves report
CURVES = [
    ("charts/episode_return", "Episode return (world reward)"),
    ("charts/survival", "Survival rate"),
    ("affect/homeostatic_deviation", "|energy - set-point|"),
]
SUMMARY_MEASURES = {
    "survival during training": "charts/survival",
    "return during training": "charts/episode_return",
    "final survival (eval)": "eval/survival",
    "final return (eval)": "eval/episode_return",
    "final |energy - set-point| (eval)": "eval/homeostatic_deviation",
}


def curves_report(run_dir: str | Path) -> None:
    """Learning curves (``figure.png``/``.pdf``), ``summary.csv`` and ``statistics.csv``
    of a PPO experiment's ``results.csv``."""
    sns = seaborn()
    run_dir = Path(run_dir)
    df = pd.read_csv(run_dir / "results.csv")
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    fig, axes = new_figure(len(CURVES), (4.2 * len(CURVES), 3.6), font_scale=1.1, layout=None)
    for ax, (metric, label) in zip(axes, CURVES, strict=True):
        sns.lineplot(data=binned(df, metric), x="step", y="value", hue="condition",
                     hue_order=condition_order(df), ax=ax, errorbar=t_errorbar)
        ax.set_xlabel("environment steps")
        ax.set_ylabel(label)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        if ax is not axes[0] and ax.get_legend() is not None:
            ax.get_legend().remove()
    axes[0].legend(title="condition", fontsize=8, title_fontsize=8)
    world = manifest.get("spec", {}).get("world", df["world"].iloc[0])
    fig.suptitle(f"{manifest.get('experiment', df['experiment'].iloc[0])} on {world}: "
                 f"mean over {df['seed'].nunique()} seeds, bands = " + INTERVALS)
    fig.tight_layout()
    save_figure(fig, run_dir, dpi=200)
    summarize(df).to_csv(run_dir / "summary.csv", index=False)
    write_tables(run_dir, *claim_table(df))


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """Per-condition summary rows of :data:`SUMMARY_MEASURES`: the mean over seeds with its
    95% t interval, and ``<lesion> - intact`` differences (paired over seeds where the
    lesion shares intact's seeds), as in ``statistics.csv``; no interval below
    :data:`~experiments.analysis.inference.MIN_UNITS` seeds (``note``)."""
    rows = []
    per_run, _ = claim_table(df)
    for metric, label in _summary_measures(df):
        for cond in condition_order(per_run[per_run["metric"] == metric]):
            r = compare(per_run, metric, cond)
            rows.append({"measure": label, "condition": cond, "estimate": r["mean"],
                         "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n_seeds": r["n"],
                         "note": r["note"]})
            if "diff" in r:
                rows.append({"measure": label, "condition": f"{cond} - intact",
                             "estimate": r["diff"], "ci_low": r["diff_low"],
                             "ci_high": r["diff_high"], "n_seeds": r["n"],
                             "note": r["note"]})
    return pd.DataFrame(rows)


def _summary_measures(df: pd.DataFrame) -> list[tuple[str, str]]:
    present = set(df["metric"])
    return [(m, label) for label, m in SUMMARY_MEASURES.items() if m in present]


def claim_table(df: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The per-run values of the summary measures (each run's mean over training for
    ``charts/*``, its evaluation for ``eval/*``) and the measures."""
    sub = df[df["metric"].isin(SUMMARY_MEASURES.values())]
    per_run = sub.groupby(["condition", "seed", "metric"], sort=False)["value"].mean()
    return per_run.reset_index(), _summary_measures(df)


def statistics_table(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`~experiments.analysis.tables.statistics` of :func:`claim_table`."""
    return statistics(*claim_table(df))
