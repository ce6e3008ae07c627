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
from worlds.measures import DEFAULT, HOMEOSTASIS, SURVIVAL, Measure

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
def declared_measures(df: pd.DataFrame, spec: ExperimentSpec | None,
                      names: list[str] | None = None) -> list[Measure]:
    """The measures of the run's world (:mod:`worlds.measures`; the default pair where the
    world cannot be built here, e.g. one registered by another script) that the results
    hold, in the world's order, or in the order of ``names`` (a ``ValueError`` names the
    unknown ones)."""
    try:
        measures = list(spec.make_world()[0].measures) if spec is not None else list(DEFAULT)
    except (KeyError, ValueError, TypeError):
        measures = list(DEFAULT)
    present = set(df["metric"])
    measures = [m for m in measures if m.curve in present or m.final in present]
    if names is None:
        return measures
    by_name = {m.name: m for m in measures}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown measure(s) {unknown}; this run has: {', '.join(by_name)}")
    return [by_name[n] for n in names]


def curves_report(run_dir: str | Path, measures: list[str] | None = None) -> list[str]:
    """Learning curves (``figure.png``/``.pdf``: one panel per measure the world declares
    and the run recorded, or those named in ``measures``), and ``summary.csv``,
    ``statistics.csv`` and ``values.csv`` of every declared measure, of a PPO
    experiment's ``results.csv``. Returns the names of the measures drawn, panel by
    panel."""
    sns = seaborn()
    run_dir = Path(run_dir)
    df = pd.read_csv(run_dir / "results.csv")
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    spec = ExperimentSpec.from_dict(manifest["spec"]) if "spec" in manifest else None
    chosen = declared_measures(df, spec, measures)
    curves = [m for m in chosen if m.curve in set(df["metric"])]
    fig, axes = new_figure(max(len(curves), 1), (4.2 * max(len(curves), 1), 3.6),
                           font_scale=1.1, layout=None)
    for ax, m in zip(axes, curves, strict=False):
        sns.lineplot(data=binned(df, m.curve), x="step", y="value", hue="condition",
                     hue_order=condition_order(df), ax=ax, errorbar=t_errorbar)
        ax.set_xlabel("environment steps")
        ax.set_ylabel(m.label)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        if ax is not axes[0] and ax.get_legend() is not None:
            ax.get_legend().remove()
    if axes[0].get_legend() is not None:
        axes[0].legend(title="condition", fontsize=8, title_fontsize=8)
    world = manifest.get("spec", {}).get("world", df["world"].iloc[0])
    fig.suptitle(f"{manifest.get('experiment', df['experiment'].iloc[0])} on {world}: "
                 f"mean over {df['seed'].nunique()} seeds\nbands: " + INTERVALS, fontsize=11)
    fig.tight_layout()
    save_figure(fig, run_dir, dpi=200)
    per_run, rows = claim_table(df, declared_measures(df, spec))
    summarize(per_run, rows).to_csv(run_dir / "summary.csv", index=False)
    write_tables(run_dir, per_run, rows)
    return [m.name for m in curves]


def summary_rows(measures: list[Measure]) -> list[tuple[str, str]]:
    """``(metric, label)`` rows of the summary and statistics: each measure's training
    curve (its mean over training) and its evaluation."""
    rows = []
    for m in measures:
        if m.curve:
            rows.append((m.curve, f"{m.label} during training"))
        if m.final:
            rows.append((m.final, f"final {m.label} (eval)"))
    return rows


def summarize(per_run: pd.DataFrame, rows: list[tuple[str, str]]) -> pd.DataFrame:
    """Per-condition summary rows: the mean over seeds with its 95% t interval, and
    ``<lesion> - intact`` differences (paired over seeds where the lesion shares intact's
    seeds), as in ``statistics.csv``; no interval below
    :data:`~experiments.analysis.inference.MIN_UNITS` seeds (``note``)."""
    out = []
    for metric, label in rows:
        for cond in condition_order(per_run[per_run["metric"] == metric]):
            r = compare(per_run, metric, cond)
            out.append({"measure": label, "condition": cond, "estimate": r["mean"],
                        "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n_seeds": r["n"],
                        "note": r["note"]})
            if "diff" in r:
                out.append({"measure": label, "condition": f"{cond} - intact",
                            "estimate": r["diff"], "ci_low": r["diff_low"],
                            "ci_high": r["diff_high"], "n_seeds": r["n"], "note": r["note"]})
    return pd.DataFrame(out)


def claim_table(df: pd.DataFrame, measures: list[Measure] | None = None
                ) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The per-run values of the measures' rows (each run's mean over training for a
    curve, its evaluation for ``eval/*``) and the rows; ``measures`` default to the
    default pair plus whatever else the results record of survival and homeostasis."""
    if measures is None:
        measures = declared_measures(df, None) + [
            m for m in (SURVIVAL, HOMEOSTASIS) if m.curve in set(df["metric"])]
    rows = summary_rows(measures)
    sub = df[df["metric"].isin([metric for metric, _ in rows])]
    per_run = sub.groupby(["condition", "seed", "metric"], sort=False)["value"].mean()
    return per_run.reset_index(), rows


def statistics_table(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`~experiments.analysis.tables.statistics` of :func:`claim_table`."""
    return statistics(*claim_table(df))
