"""Figure scripts: they only read a results folder and write PNG and PDF.

``draw(results_dir)`` reads ``results.csv`` and ``manifest.json`` and writes
``figure.png``, ``figure.pdf`` and ``summary.csv`` (per-condition means with 95%
bootstrap CIs, and the intact-minus-lesioned difference with its CI).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from experiments.stats import bootstrap_ci, bootstrap_diff_ci

CURVES = [
    ("charts/episode_return", "Episode return (world reward)"),
    ("charts/survival", "Survival rate"),
    ("affect/homeostatic_deviation", "|energy - set-point|"),
]
MAX_BINS = 40


def _binned(df, metric: str, max_bins: int = MAX_BINS):
    """Average each seed's curve within equal step bins (keeps CIs over seeds)."""
    sub = df[df["metric"] == metric].copy()
    steps = np.sort(sub["step"].unique())
    if len(steps) > max_bins:
        edges = np.linspace(0, len(steps), max_bins + 1).astype(int)
        bin_of = np.zeros(len(steps), int)
        centre = np.zeros(max_bins)
        for b in range(max_bins):
            bin_of[edges[b] : edges[b + 1]] = b
            centre[b] = steps[edges[b + 1] - 1]
        lookup = dict(zip(steps, centre[bin_of], strict=True))
        sub["step"] = sub["step"].map(lookup)
    return sub.groupby(["condition", "seed", "step"], as_index=False)["value"].mean()


SUMMARY_MEASURES = {
    "survival during training": "charts/survival",
    "return during training": "charts/episode_return",
    "final survival (eval)": "eval/survival",
    "final return (eval)": "eval/episode_return",
    "final |energy - set-point| (eval)": "eval/homeostatic_deviation",
}


def summarize(df):
    """Per-condition summary rows (mean and 95% bootstrap CI over seeds)."""
    import pandas as pd

    rows = []
    measures = SUMMARY_MEASURES
    conditions = list(dict.fromkeys(df["condition"]))
    for label, metric in measures.items():
        sub = df[df["metric"] == metric]
        if sub.empty:
            continue
        vals = sub.groupby(["condition", "seed"])["value"].mean()  # nanmean over steps
        for cond in conditions:
            if cond not in vals.index.get_level_values(0):
                continue
            est, lo, hi = bootstrap_ci(vals.loc[cond].to_numpy())
            rows.append(
                {
                    "measure": label,
                    "condition": cond,
                    "estimate": est,
                    "ci_low": lo,
                    "ci_high": hi,
                    "n_seeds": int(vals.loc[cond].notna().sum()),
                }
            )
        if "intact" in conditions:
            for cond in conditions:
                if cond == "intact" or cond not in vals.index.get_level_values(0):
                    continue
                est, lo, hi = bootstrap_diff_ci(vals.loc["intact"], vals.loc[cond])
                rows.append(
                    {
                        "measure": label,
                        "condition": f"intact - {cond}",
                        "estimate": est,
                        "ci_low": lo,
                        "ci_high": hi,
                        "n_seeds": int(vals.loc[cond].notna().sum()),
                    }
                )
    return pd.DataFrame(rows)


def draw(results_dir: str | Path) -> list[Path]:
    """Draw the learning-curve figure and write the summary for a results folder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    results_dir = Path(results_dir)
    csv = results_dir / "results.csv"
    if not csv.is_file():
        raise FileNotFoundError(f"{csv} not found: is {results_dir} an affectlab results folder?")
    df = pd.read_csv(csv)
    metrics = set(df["metric"])
    report = None
    if "test/ticks_equal" in metrics:  # a Choice-v0 (paralysis) experiment
        from experiments import paralysis_report as report
    elif "test/net_score_late" in metrics:  # an IowaGambling-v0 (gambling) experiment
        from experiments import gambling_report as report
    elif "social/food_stock" in metrics:  # a Commons-v0 (social) experiment
        from experiments import social_report as report
    elif "detour/loop_rate" in metrics:  # a Detour-v0 (loops) experiment
        from experiments import loops_report as report
    if report is not None:
        report.draw(results_dir)
        names = ("figure.png", "figure.pdf", "statistics.csv", "claims.csv")
        return [results_dir / n for n in names]
    manifest_path = results_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    n_seeds = df["seed"].nunique()
    order = list(dict.fromkeys(df["condition"]))

    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    fig, axes = plt.subplots(1, len(CURVES), figsize=(4.2 * len(CURVES), 3.6))
    for ax, (metric, label) in zip(axes, CURVES, strict=True):
        data = _binned(df, metric)
        sns.lineplot(
            data=data,
            x="step",
            y="value",
            hue="condition",
            hue_order=order,
            ax=ax,
            errorbar=("ci", 95),
            n_boot=1000,
            seed=0,
        )
        ax.set_xlabel("environment steps")
        ax.set_ylabel(label)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        if ax is not axes[0] and ax.get_legend() is not None:
            ax.get_legend().remove()
    axes[0].legend(title="condition", fontsize=8, title_fontsize=8)
    world = manifest.get("spec", {}).get("world", df["world"].iloc[0])
    fig.suptitle(
        f"{manifest.get('experiment', df['experiment'].iloc[0])} on {world}: "
        f"mean over {n_seeds} seeds, bands = 95% bootstrap CI"
    )
    fig.tight_layout()
    paths = [results_dir / "figure.png", results_dir / "figure.pdf"]
    fig.savefig(paths[0], dpi=200)
    fig.savefig(paths[1])
    plt.close(fig)
    summary = summarize(df)
    summary.to_csv(results_dir / "summary.csv", index=False)
    statistics_table(df).to_csv(results_dir / "statistics.csv", index=False)
    return paths + [results_dir / "summary.csv", results_dir / "statistics.csv"]


def statistics_table(df):
    """:func:`experiments.report.statistics` of the summary measures, each run's value
    being its mean over training (``charts/*``) or its evaluation (``eval/*``)."""
    from experiments.report import statistics

    measures = [(m, label) for label, m in SUMMARY_MEASURES.items()]
    sub = df[df["metric"].isin(SUMMARY_MEASURES.values())]
    per_run = sub.groupby(["condition", "seed", "metric"], sort=False)["value"].mean()
    return statistics(per_run.reset_index(), measures)


def save_figure(fig, folder: Path, dpi: int = 150) -> None:
    """Write ``figure.png`` and ``figure.pdf`` into ``folder`` and close ``fig``."""
    import matplotlib.pyplot as plt

    for ext in ("png", "pdf"):
        fig.savefig(Path(folder) / f"figure.{ext}", dpi=dpi)
    plt.close(fig)
