"""The ``lesion-matrix`` suite: every channel x every task, graded gains, two onsets.

Each task is one spec (its world, its trainer) whose conditions are intact plus, for
every channel, gains 0, 0.25, 0.5 and 0.75 (gain 1 is intact) with developmental and
acquired onset; conditions are named ``<channel>@<gain>`` (``-acquired`` appended). The
quick version keeps the whole grid for the online tasks (paralysis, gambling: cheap) and
gains 0 and 0.5 (plus 0 acquired) for the trained ones (foraging, loops), and leaves the
social task to the full version.

Each task has one headline measure per onset and a direction (which way is better);
the report computes, for every condition, the statistics row of
:func:`~experiments.analysis.tables.compare` against intact (paired over seeds) and a
*harm*: the difference in pooled-SD units (Hedges' g, with the paired 95% CI of the
difference on the same scale), oriented so that > 0 means the lesion made the task
worse. A channel is **needed** for a task when its full developmental lesion (gain 0)
does harm with the whole 95% CI above 0. ``dissociations.txt`` lists what is
needed where and every double dissociation (channel a needed for task x but not y,
channel b for y but not x).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from affect.lesion import Lesion
from experiments.analysis.plots import new_mosaic, save_figure, seaborn
from experiments.analysis.tables import compare, per_run, read_results
from experiments.suites.base import Suite
from experiments.tasks import TASKS as CATALOGUE
from experiments.tasks.base import default_channels

GAINS = (0.0, 0.25, 0.5, 0.75)
# full-size seeds where a member needs more than its catalogue spec: the power table
# (docs/statistics.md) says matrix-hunger-foraging needs 77 seeds
FULL_SEEDS = {"foraging": 80}


@dataclass(frozen=True)
class Headline:
    """A task's headline measure: ``metric``, reduced per run by ``how`` (see
    :func:`~experiments.analysis.tables.per_run`), and which direction is better."""

    metric: str
    how: str  # per_run: "value" | "mean" | "late"
    higher_is_better: bool


# task -> (catalogue experiment, {onset: headline})
HEADLINES = {
    "foraging": ("foraging", {"developmental": Headline("charts/survival", "mean", True),
                              "acquired": Headline("eval/survival", "value", True)}),
    "paralysis": ("paralysis", {"developmental": Headline("test/ticks_equal", "value", False),
                                "acquired": Headline("test/ticks_equal", "value", False)}),
    "gambling": ("gambling", {"developmental": Headline("test/net_score_late", "value", True),
                              "acquired": Headline("test/net_score_late", "value", True)}),
    "loops": ("loops", {"developmental": Headline("detour/loop_rate", "late", False),
                        "acquired": Headline("eval/episode_return", "value", True)}),
    "social": ("social", {"developmental": Headline("social/total_energy", "late", True),
                          "acquired": Headline("eval/episode_return", "value", True)}),
}


def condition_name(channel: str, gain: float, onset: str) -> str:
    """``"hunger@0.25"`` (``-acquired`` appended for the acquired onset)."""
    return f"{channel}@{gain:g}" + ("-acquired" if onset == "acquired" else "")


def graded_lesions(channels, gains=GAINS, acquired_gains=GAINS) -> tuple[Lesion, ...]:
    """Intact, and every channel at every gain, developmental and acquired."""
    out = [Lesion("intact")]
    for c in channels:
        out += [Lesion(condition_name(c, g, "developmental"), {c: g}) for g in gains]
        out += [Lesion(condition_name(c, g, "acquired"), {c: g}, onset="acquired")
                for g in acquired_gains]
    return tuple(out)


def suite(quick: bool = False) -> Suite:
    """Which channel is needed for which task (dissociations), and how much of it?"""
    channels = default_channels()
    members = []
    for task, (exp, _) in HEADLINES.items():
        if quick and task == "social":
            continue
        base = CATALOGUE[exp].spec(quick)
        cheap = base.trainer == "online"
        if quick and not cheap:
            conds = graded_lesions(channels, gains=(0.0, 0.5), acquired_gains=(0.0,))
            seeds, steps = 4, {"foraging": 400_000, "loops": 300_000}[task]
        else:
            conds = graded_lesions(channels)
            seeds = 16 if quick else max(base.seeds, FULL_SEEDS.get(task, 0))
            steps = base.total_steps
            if quick and task == "gambling":
                seeds = 50
        spec = dataclasses.replace(base, name=f"matrix-{task}" + ("-quick" if quick else ""),
                                   conditions=conds, seeds=seeds, total_steps=steps)
        members.append((task, spec))
    return Suite("lesion-matrix-quick" if quick else "lesion-matrix", tuple(members), report,
                 experiment="lesion-matrix", member_values=member_values)


def parse_condition(name: str):
    """``"hunger@0.25-acquired"`` -> ``("hunger", 0.25, "acquired")``; intact -> None."""
    if name == "intact":
        return None
    onset = "acquired" if name.endswith("-acquired") else "developmental"
    channel, gain = name.removesuffix("-acquired").split("@")
    return channel, float(gain), onset


def matrix_values(dirs: dict[str, Path]) -> pd.DataFrame:
    """Per-run values of every task's headline measures (metric ``<task>:<metric>``): for
    each onset, intact and that onset's lesions (what ``values.csv`` holds), from each
    task's member folder (:func:`member_values`)."""
    frames = [member_values(task, d) for task, d in dirs.items()]
    out = pd.concat(frames, ignore_index=True).drop_duplicates(["condition", "seed", "metric"])
    return out.assign(trials=np.nan)


def member_values(task: str, d: Path) -> pd.DataFrame:
    """One task's rows of :func:`matrix_values`: computed from ``d/results.csv``, or read
    from ``d/values.csv`` where there is no ``results.csv`` (an archived member)."""
    d = Path(d)
    if not (d / "results.csv").is_file() and (d / "values.csv").is_file():
        return pd.read_csv(d / "values.csv").drop(columns="trials", errors="ignore")
    df = read_results(d / "results.csv", {h.metric for h in HEADLINES[task][1].values()})
    frames = []
    for onset, h in HEADLINES[task][1].items():
        table = per_run(df, h.metric, h.how)
        keep = [c for c in table["condition"].unique()
                if c == "intact" or (parse_condition(c) or (0, 0, ""))[2] == onset]
        frames.append(table[table["condition"].isin(keep)].assign(metric=f"{task}:{h.metric}"))
    return pd.concat(frames, ignore_index=True)


def effects_table(values: pd.DataFrame) -> pd.DataFrame:
    """One row per task x lesion condition: the headline measure against intact, with the
    harm and whether the channel is needed (see the module docstring)."""
    rows = []
    for task, onset, h in ((t, o, h) for t in HEADLINES for o, h in HEADLINES[t][1].items()):
        metric = f"{task}:{h.metric}"
        sub = values[values["metric"] == metric]
        conds = [c for c in dict.fromkeys(sub["condition"])
                 if (parse_condition(c) or (0, 0, ""))[2] == onset]
        if not conds:
            continue
        base = compare(sub, metric, "intact")
        for cond in conds:
            r = compare(sub, metric, cond)
            if "diff" not in r:  # no intact runs to compare with
                continue
            channel, gain, _ = parse_condition(cond)
            sign = -1.0 if h.higher_is_better else 1.0  # harm > 0: the task got worse
            sp = _pooled_sd(r, base)
            harm = sorted(sign * np.array([r["diff_low"], r["diff_high"]]) / sp)
            rows.append({"task": task, "channel": channel, "gain": gain, "onset": onset,
                         **r, "harm_g": sign * r["hedges_g"], "harm_low": harm[0],
                         "harm_high": harm[1], "higher_is_better": h.higher_is_better})
    out = pd.DataFrame(rows)
    full = (out["gain"] == 0.0) & (out["onset"] == "developmental")
    out["needed"] = full & (out["harm_low"] > 0)
    return out


def _pooled_sd(r: dict, base: dict) -> float:
    """The pooled SD of a condition and intact (Hedges' g's scale); NaN when 0."""
    n1, n2 = r["n"], base["n"]
    if n1 + n2 <= 2:
        return float("nan")
    sp = np.sqrt(((n1 - 1) * r["sd"] ** 2 + (n2 - 1) * base["sd"] ** 2) / (n1 + n2 - 2))
    return float(sp) if sp > 0 else float("nan")


def dissociations(effects: pd.DataFrame) -> list[str]:
    """What each channel is needed for, and every double dissociation, as text lines."""
    full = effects[(effects["gain"] == 0.0) & (effects["onset"] == "developmental")]
    needed = {(r.channel, r.task): bool(r.needed) for r in full.itertuples()}
    tasks = list(dict.fromkeys(full["task"]))
    channels = list(dict.fromkeys(full["channel"]))
    lines = ["needed (full developmental lesion harms the task, paired 95% CI of the "
             "difference beyond 0):"]
    for c in channels:
        where = [t for t in tasks if needed.get((c, t))]
        lines.append(f"  {c}: {', '.join(where) if where else 'no task'}")
    lines.append("double dissociations (a needed for x but not y; b needed for y but not x):")
    found = 0
    for i, a in enumerate(channels):
        for b in channels[i + 1:]:
            for x in tasks:
                for y in tasks:
                    if (x != y and needed.get((a, x)) and not needed.get((a, y))
                            and needed.get((b, y)) and not needed.get((b, x))):
                        lines.append(f"  {a} ({x}) / {b} ({y})")
                        found += 1
    if not found:
        lines.append("  none")
    return lines


def report(out: Path, dirs: dict[str, Path]) -> None:
    """Write ``statistics.csv`` (the effects table), ``values.csv`` (its per-run values),
    ``dissociations.txt`` and the figure."""
    values = matrix_values(dirs)
    effects = effects_table(values)
    effects.to_csv(out / "statistics.csv", index=False)
    values.to_csv(out / "values.csv", index=False)
    lines = dissociations(effects)
    (out / "dissociations.txt").write_text("\n".join(lines) + "\n")

    save_figure(matrix_figure(effects), out)


def matrix_figure(effects: pd.DataFrame):
    """A matplotlib ``Figure``: harm heat maps of the full lesions (both onsets, one
    colour scale; ``*`` where the paired 95% CI excludes 0) above one dose-response
    panel per task (developmental solid with its CI band, acquired dashed), at most
    three panels a row, rows balanced."""
    tasks = list(dict.fromkeys(effects["task"]))
    rows = -(-len(tasks) // 3)
    k = -(-len(tasks) // rows)  # balanced rows: 4 tasks as 2 x 2, 5 as 3 + 2
    onsets = [o for o in ("developmental", "acquired") if (effects["onset"] == o).any()]
    mosaic = [[o for o in onsets for _ in range(2 * k // len(onsets))]]
    for r in range(rows):
        row = [t for t in tasks[r * k:(r + 1) * k] for _ in range(2)]
        mosaic.append(row + ["."] * (2 * k - len(row)))
    fig, axes = new_mosaic(mosaic, (4.4 * max(k, 2), 3.4 * (rows + 1)), style="white")
    _draw_heatmaps(effects, tasks, onsets, axes)
    palette = seaborn().color_palette()
    colour = dict(zip(dict.fromkeys(effects["channel"]), palette, strict=False))
    for task in tasks:
        ax = axes[task]
        for (onset, channel), s in effects[effects["task"] == task].groupby(
                ["onset", "channel"], sort=False):
            s = s.sort_values("gain")
            x, y = np.r_[s["gain"].to_numpy(), 1.0], np.r_[s["harm_g"].to_numpy(), 0.0]
            acquired = onset == "acquired"
            ax.plot(x, y, marker="s" if acquired else "o", ls="--" if acquired else "-",
                    color=colour[channel], alpha=0.7 if acquired else 1.0,
                    label=f"{channel}, {onset}")
            if not acquired:
                lo = np.r_[s["harm_low"].to_numpy(), 0.0]
                hi = np.r_[s["harm_high"].to_numpy(), 0.0]
                ax.fill_between(x, lo, hi, color=colour[channel], alpha=0.15, lw=0)
        ax.axhline(0, color="k", lw=0.6)
        metrics = dict(effects.loc[effects["task"] == task, ["onset", "metric"]].to_numpy())
        names = dict.fromkeys(m.split(":", 1)[1] for m in metrics.values())
        title = " / ".join(names) if len(names) == 1 else ", ".join(
            f"{o[:3]}. {m.split(':', 1)[1]}" for o, m in metrics.items())
        ax.set(title=f"{task}: {title}", xlabel="channel gain (1 = intact)",
               ylabel="harm (Hedges' g)")
    axes[tasks[0]].legend(fontsize=7)
    fig.suptitle("Lesion matrix: harm > 0 where the lesion made the task worse (Hedges' g; "
                 "bands: paired 95% CI, developmental onset)", fontsize=10)
    return fig


def _draw_heatmaps(effects: pd.DataFrame, tasks: list[str], onsets: list[str],
                   axes: dict) -> None:
    """The full lesions' harm, channel x task, one map per onset on one colour scale."""
    full = effects[effects["gain"] == 0.0]
    lim = float(np.nanmax(np.abs(full["harm_g"]))) if len(full) else 1.0
    lim = lim if np.isfinite(lim) and lim > 0 else 1.0
    for onset in onsets:
        sub = full[full["onset"] == onset]
        grid = sub.pivot(index="channel", columns="task", values="harm_g").reindex(
            columns=tasks)
        beyond = ((sub["harm_low"] > 0) | (sub["harm_high"] < 0)).to_numpy()
        marks = sub.assign(mark=[f"{g:.2f}" + ("*" if b else "")
                                 for g, b in zip(sub["harm_g"], beyond, strict=True)])
        annot = marks.pivot(index="channel", columns="task", values="mark").reindex(
            index=grid.index, columns=tasks).fillna("")
        seaborn().heatmap(grid, annot=annot.to_numpy(), fmt="", cmap="RdBu_r", vmin=-lim,
                          vmax=lim, ax=axes[onset], cbar_kws={"label": "harm (Hedges' g)"})
        axes[onset].set(title=f"Full lesion, {onset} onset (* 95% CI excludes 0)",
                        xlabel="", ylabel="")
