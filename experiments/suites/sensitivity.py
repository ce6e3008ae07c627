"""The ``sensitivity`` suite: how batch size, learning rate, epochs and optimiser affect
intact vs hunger-lesioned agents on ``Foraging-v0``.

One member per setting, each changing one hyper-parameter of the default agent (the
same change for both conditions: the lesion never touches the learner):

* learning rate 1e-3, 1e-2, 1e-1, 1, 10 (Adam; the default is 2.5e-3, member ``base``);
* batch size 16, 128, 1024 (``num_envs`` 1, 8, 64 x ``num_steps`` 16);
* epochs 1 and 4 (default 2);
* optimiser RMSprop and SGD (default Adam), at the default learning rate.

The quick version (2 seeds, 300k steps) keeps learning rates 1e-3, 1e-2, 1e-1, 10,
batch 16 and SGD (and the default) to stay within the time of ``reproduce --quick``.

Measures per run: survival averaged over training (learning speed) and final evaluation
survival. The figure draws a sensitivity curve per factor; ``statistics.csv`` compares
hunger-lesioned with intact agents at every setting. A diverging setting (NaN losses)
counts as survival 0 from the update it diverged, and is listed in ``diverged.csv``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from affect.lesion import Lesion
from affect.ppo import AgentConfig
from experiments.analysis.plots import (
    log_axis_at,
    new_figure,
    save_figure,
    seaborn,
    t_errorbar,
)
from experiments.analysis.tables import per_run, read_results, write_tables
from experiments.suites.base import Suite
from experiments.tasks import foraging

DEFAULT_LR = 2.5e-3


def settings(quick: bool) -> list[tuple[str, str, float | str, dict]]:
    """``(label, factor, value, AgentConfig changes)``."""
    lrs = (1e-3, 1e-2, 1e-1, 10.0) if quick else (1e-3, 1e-2, 1e-1, 1.0, 10.0)
    batches = (1,) if quick else (1, 8, 64)
    epochs = () if quick else (1, 4)
    optimisers = ("sgd",) if quick else ("rmsprop", "sgd")
    out = [("base", "base", "default", {})]
    out += [(f"lr-{lr:g}".replace(".", "p"), "learning rate", lr, {"learning_rate": lr})
            for lr in lrs]
    out += [(f"batch-{16 * n}", "batch size", 16 * n, {"num_envs": n, "num_steps": 16})
            for n in batches]
    out += [(f"epochs-{e}", "epochs", e, {"update_epochs": e}) for e in epochs]
    out += [(f"opt-{o}", "optimiser", o, {"optimizer": o}) for o in optimisers]
    return out


def suite(quick: bool = False) -> Suite:
    """How do batch size, learning rate, epochs and optimiser affect intact vs lesioned agents?"""
    base = foraging.spec(quick)
    members = []
    for label, _, _, change in settings(quick):
        spec = dataclasses.replace(
            base, name=f"sensitivity-{label}" + ("-quick" if quick else ""),
            conditions=(Lesion("intact"), Lesion("hunger-lesion", {"hunger": 0.0})),
            agent=dataclasses.replace(AgentConfig(), **change),
            seeds=2 if quick else 8, total_steps=300_000 if quick else 1_000_000)
        members.append((label, spec))
    return Suite("sensitivity-quick" if quick else "sensitivity", tuple(members), report,
                 experiment="sensitivity")


def report(out: Path, dirs: dict[str, Path]) -> None:
    """Write ``runs.csv`` (per-run survival), ``diverged.csv``, ``statistics.csv`` (every
    setting: hunger-lesioned against intact), ``values.csv`` and the figure."""
    runs, diverged = runs_table(dirs)
    runs.to_csv(out / "runs.csv", index=False)
    pd.DataFrame(diverged, columns=["setting", "condition", "seed"]).to_csv(
        out / "diverged.csv", index=False)
    measures = []
    for label in dict.fromkeys(runs["setting"]):
        measures += [(f"{label}:charts/survival", f"{label}: survival during training"),
                     (f"{label}:eval/survival", f"{label}: final survival (eval)")]
    write_tables(out, runs.assign(metric=runs["setting"] + ":" + runs["metric"]), measures)
    draw_figure(runs, out)


def runs_table(dirs: dict[str, Path]) -> tuple[pd.DataFrame, list[dict]]:
    """Per run and setting: survival during training (0 from a divergence on) and final
    survival, tidy; and the diverged runs."""
    meta = {label: (factor, value) for label, factor, value, _ in settings(False)}
    frames, diverged = [], []
    for label, d in dirs.items():
        df = read_results(Path(d) / "results.csv",
                          {"losses/value", "charts/survival", "eval/survival"})
        loss = df[df["metric"] == "losses/value"]
        bad = loss[~np.isfinite(loss["value"])]
        for (cond, seed), _ in bad.groupby(["condition", "seed"]):
            diverged.append({"setting": label, "condition": cond, "seed": seed})
        curve = df[df["metric"] == "charts/survival"].copy()
        nan_after = curve.merge(bad[["condition", "seed", "step"]].groupby(
            ["condition", "seed"], as_index=False)["step"].min().rename(
            columns={"step": "first_bad"}), how="left", on=["condition", "seed"])
        nan_after.loc[nan_after["step"] >= nan_after["first_bad"], "value"] = 0.0
        train = per_run(nan_after.drop(columns="first_bad"), "charts/survival", "mean")
        final = per_run(df, "eval/survival", "value").fillna({"value": 0.0})
        factor, value = meta[label]
        for t in (train, final):
            frames.append(t.assign(setting=label, factor=factor, setting_value=str(value)))
    return pd.concat(frames, ignore_index=True), diverged


def draw_figure(runs: pd.DataFrame, folder: Path) -> None:
    """One sensitivity curve per factor (survival during training)."""
    sns = seaborn()
    factors = ["learning rate", "batch size", "epochs", "optimiser"]
    fig, axes = new_figure(4, (17, 4.0))
    train = runs[runs["metric"] == "charts/survival"]
    base = train[train["setting"] == "base"]
    defaults = {"learning rate": DEFAULT_LR, "batch size": 2048, "epochs": 2,
                "optimiser": "adam"}
    for ax, factor in zip(axes, factors, strict=True):
        sub = pd.concat([train[train["factor"] == factor],
                         base.assign(factor=factor, setting_value=str(defaults[factor]))])
        numeric = factor != "optimiser"
        if numeric:
            x = sub["setting_value"].astype(float)
            order = {c: i for i, c in enumerate(dict.fromkeys(sub["condition"]))}
            step = sub["condition"].map(order) - (len(order) - 1) / 2
            sub = sub.assign(x=x * 1.08 ** step)  # dodged (a log axis) so intervals show
            sns.lineplot(data=sub, x="x", y="value", hue="condition", marker="o", ax=ax,
                         errorbar=t_errorbar, err_style="bars")
            log_axis_at(ax, x)
            ax.axvline(float(defaults[factor]), color="0.6", lw=0.8, ls=":")
        else:  # categories: points and intervals, no line between unordered settings
            sns.pointplot(data=sub, x="setting_value", y="value", hue="condition", ax=ax,
                          errorbar=t_errorbar, dodge=0.2, linestyle="none")
        ax.set(title=f"{factor} (default {defaults[factor]})", xlabel=factor,
               ylabel="survival during training")
        ax.legend(fontsize=7)
    fig.suptitle("Sensitivity on Foraging-v0: mean survival over training (95% t intervals over "
                 "seeds, none below 4; diverged runs count as 0; dotted: the default)",
                 fontsize=10)
    save_figure(fig, folder)
