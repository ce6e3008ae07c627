"""The ``robustness`` suite: train in the base worlds, evaluate the frozen agents under
shifts, and measure retention (shifted / base performance).

Members (intact vs lesioned agents, trained as usual; see :func:`robustness`):

* ``foraging-w16``, ``foraging-w64``, ``foraging-w256``: ``Foraging-v0`` with value
  networks of width 16, 64 and 256 (the complexity/robustness trade-off; the quick
  version has widths 16 and 64, 3 seeds and 800k steps), intact vs
  hunger-lesioned. Shifts: ``abundance`` (``ForagingAbundant-v0``: another layout, much
  more food, and a cost for eating past satiety: a hunger drive calibrated for scarcity
  may overeat), ``noise`` (Gaussian noise of SD 0.3 on what the agent sees), ``scarcity``
  (food regrows at 2/5 of the rate: a sparser reward of food).
* ``detour``: ``Detour-v0``, intact vs frustration-lesioned. Shift: ``held-out-layout``
  (``DetourHeldOut-v0``: the way round starts downwards and is longer).
* ``commons``: the ``social`` experiment's populations (``Commons-v0``, 4 agents, each
  with its own network; all intact, all social-lesioned, one social-lesioned agent).
  Shift: ``new-partners``: agent ``i`` of the population of seed ``s`` is put together
  with the agents ``j != i`` of the populations of seeds ``s + j - i`` (mod the number of
  seeds): every agent meets partners it never trained with, in the same condition.
  Base and shifted evaluations use the same random numbers. A finished ``social`` run
  of the same spec next to the suite (or made earlier by ``reproduce``) is used.

Retention of a run = its shifted evaluation / its base evaluation (survival and
return for foraging: under abundance everyone survives, and overeating shows only in
the return; success for the detour: its return would count lever pulls of a looping
agent as retained); undefined (NaN, left out) where the base is 0. The statistics
compare every lesion with intact.
A reward that is only sparser cannot change what a frozen policy does (it does not see
rewards), so the sparser reward of the catalogue is tested as sparser *food*.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np
import pandas as pd

from affect.lesion import Lesion, stack_lesions
from affect.ppo import AgentConfig, independent, make_evaluate
from experiments.agents import load_agents
from experiments.analysis.plots import (
    INTERVALS,
    log_axis_at,
    new_figure,
    save_figure,
    seaborn,
    t_errorbar,
)
from experiments.analysis.tables import per_run, read_results, write_tables
from experiments.suites.base import Suite
from experiments.tasks import foraging, loops, social

FORAGING_SHIFTS = {
    "abundance": {"world": "ForagingAbundant-v0"},
    "noise": {"obs_noise": 0.3},
    "scarcity": {"world_params": {"respawn_prob": 0.02}},
}
DETOUR_SHIFTS = {"held-out-layout": {"world": "DetourHeldOut-v0"}}
WIDTHS = (16, 64, 256)
QUICK_WIDTHS = (16, 64)

# member kind -> the eval measures whose retention is reported
MEASURES = {"foraging": ("survival", "episode_return"), "detour": ("success",),
            "commons": ("survival", "episode_return")}


def suite(quick: bool = False) -> Suite:
    """Are affect agents more robust to shift, and where do emotions misfire?"""
    members = []
    f = foraging.spec(quick)
    for w in QUICK_WIDTHS if quick else WIDTHS:
        spec = dataclasses.replace(
            f, name=f"robustness-foraging-w{w}" + ("-quick" if quick else ""),
            conditions=(Lesion("intact"), Lesion("hunger-lesion", {"hunger": 0.0})),
            agent=AgentConfig(hidden=(w, w)), shifts=FORAGING_SHIFTS,
            seeds=3 if quick else 16, total_steps=800_000 if quick else 3_000_000)
        members.append((f"foraging-w{w}", spec))
    d = loops.spec(quick)
    members.append(("detour", dataclasses.replace(
        d, name="robustness-detour" + ("-quick" if quick else ""),
        conditions=(Lesion("intact"), Lesion("frustration-lesion", {"frustration": 0.0})),
        shifts=DETOUR_SHIFTS, seeds=8 if quick else 32)))
    members.append(("commons", social.spec(quick)))
    return Suite("robustness-quick" if quick else "robustness", tuple(members), report,
                 needs_agents=("commons",), experiment="robustness")


def mix_partners(x: np.ndarray) -> np.ndarray:
    """``x (S, A, ...)`` (seed, agent) -> mixed populations: ``out[s, i] = x[(s + i) % S,
    i]`` (population ``s`` takes agent ``i`` from seed ``s + i``)."""
    x = np.asarray(x)
    n_seeds, n_agents = x.shape[:2]
    return np.stack([x[(np.arange(n_seeds) + i) % n_seeds, i] for i in range(n_agents)],
                    axis=1)


def new_partners(run_dir: Path, key_seed: int = 10_000):
    """Base (home population) and shifted (new partners) evaluations of the trained
    populations in ``run_dir``, tidy (condition, seed, measure, base, shifted).

    Agent ``i`` of seed index ``s`` meets agents ``j`` of seed indices ``(s + j - i) mod
    S``: as a group the mixed population is the agents ``i`` of seeds ``s + i``, and every
    agent plays with strangers. Eval gains are those of the condition (a lesioned agent
    stays lesioned)."""
    agents = load_agents(run_dir)
    static, world_params, affect_params = agents.setup()
    n_agents, n_seeds = static.world.num_agents, len(agents.seeds)
    if n_agents < 2 or not independent(static):
        raise ValueError(f"{run_dir}: new partners need a multi-agent world where every "
                         "agent has its own network")
    if n_seeds < 2:
        raise ValueError(f"{run_dir}: new partners need at least 2 seeds, got {n_seeds}")
    lesions = stack_lesions(list(agents.spec.conditions), static.module.channel_names)
    evaluate = make_evaluate(static, world_params, affect_params)

    def one(key, params, lesion):
        return evaluate(key, params, lesion.per_agent(lesion.eval_gains(), n_agents))

    run = jax.jit(jax.vmap(one, in_axes=(0, 0, None)))
    keys = jax.numpy.stack([jax.random.fold_in(jax.random.PRNGKey(s), key_seed)
                            for s in agents.seeds])
    rows = []
    for c, cond in enumerate(agents.conditions):
        home = jax.tree_util.tree_map(lambda x, c=c: x[:, c], agents.params)  # (S, A, ...)
        mixed = jax.tree_util.tree_map(mix_partners, home)
        lesion = jax.tree_util.tree_map(lambda x, c=c: x[c], lesions)
        base, shifted = run(keys, home, lesion), run(keys, mixed, lesion)
        for m in MEASURES["commons"]:
            rows.append(pd.DataFrame({
                "condition": cond, "seed": list(agents.seeds), "measure": m,
                "base": np.asarray(base[f"eval/{m}"]),
                "shifted": np.asarray(shifted[f"eval/{m}"])}))
    return pd.concat(rows, ignore_index=True)


def retention_table(dirs: dict[str, Path]) -> pd.DataFrame:
    """Per run: base and shifted evaluation and their ratio, tidy
    (member, width, shift, condition, seed, base, shifted, retention)."""
    frames = []
    for label, d in dirs.items():
        if label == "commons":
            t = new_partners(Path(d))
            with np.errstate(divide="ignore", invalid="ignore"):
                t["retention"] = np.where(t["base"] > 0, t["shifted"] / t["base"], np.nan)
            t.insert(0, "shift", "new-partners")
            t.insert(0, "width", np.nan)
            t.insert(0, "member", label)
            frames.append(t[["member", "width", "shift", "measure", "condition", "seed",
                             "base", "shifted", "retention"]])
            continue
        df = read_results(Path(d) / "results.csv",
                          lambda m: m.startswith(("eval/", "shift/")))
        kind = label.split("-w")[0]
        shifts = sorted({x.split("/")[1] for x in df["metric"].unique()
                         if x.startswith("shift/")})
        for m in MEASURES[kind]:
            base = per_run(df, f"eval/{m}", "value").set_index(["condition", "seed"])["value"]
            for shift in shifts:
                sh = per_run(df, f"shift/{shift}/{m}", "value").set_index(
                    ["condition", "seed"])["value"]
                t = pd.DataFrame({"base": base, "shifted": sh}).reset_index()
                with np.errstate(divide="ignore", invalid="ignore"):  # no base: undefined
                    t["retention"] = np.where(t["base"] > 0, t["shifted"] / t["base"], np.nan)
                t.insert(0, "shift", shift)
                t.insert(0, "width", int(label.split("-w")[1]) if "-w" in label else np.nan)
                t.insert(0, "member", label)
                t.insert(3, "measure", m)
                frames.append(t)
    return pd.concat(frames, ignore_index=True)


def report(out: Path, dirs: dict[str, Path]) -> None:
    """Write ``retention.csv``, ``statistics.csv`` (retention, shifted and base
    evaluations, every lesion against intact), ``values.csv`` and the figure."""
    ret = retention_table(dirs)
    ret.to_csv(out / "retention.csv", index=False)
    frames, measures = [], []
    for (member, shift, m), sub in ret.groupby(["member", "shift", "measure"], sort=False):
        for col in ("retention", "shifted", "base"):
            name = f"{member}:{shift}:{m}:{col}"
            tidy = sub.rename(columns={col: "value"})[["condition", "seed", "value"]]
            frames.append(tidy.assign(metric=name))
            measures.append((name, f"{member}, {shift}: {m} {col}"))
    write_tables(out, pd.concat(frames, ignore_index=True), measures)

    draw_figure(ret, out)


def draw_figure(ret: pd.DataFrame, folder: Path) -> None:
    """Retention under every shift: foraging (width 64), by width, detour, commons."""
    sns = seaborn()
    fig, axes = new_figure(4, (19, 4.2))
    surv = ret[ret["measure"] != "episode_return"]
    f = surv[surv["member"] == "foraging-w64"]
    sns.barplot(data=f, x="shift", y="retention", hue="condition", ax=axes[0],
                errorbar=t_errorbar)
    axes[0].axhline(1, color="k", lw=0.6)
    axes[0].set(title="Foraging (width 64): survival retention", ylabel="shifted / base")
    fw = surv[surv["member"].str.startswith("foraging")].groupby(
        ["width", "condition", "seed"], as_index=False)["retention"].mean()
    sns.lineplot(data=fw, x="width", y="retention", hue="condition", marker="o", ax=axes[1],
                 hue_order=list(dict.fromkeys(f["condition"])),
                 errorbar=t_errorbar)
    log_axis_at(axes[1], fw["width"])
    axes[1].axhline(1, color="k", lw=0.6)
    axes[1].set(title="Complexity vs robustness: mean retention over shifts",
                xlabel="value-network width", ylabel="shifted / base survival")
    # success itself, not its ratio: where nobody succeeds on the training layout the
    # ratio is undefined, and where nobody does on the new one the bars would vanish
    dt = surv[surv["member"] == "detour"].melt(
        id_vars=["condition", "seed", "shift"], value_vars=["base", "shifted"],
        var_name="layout", value_name="success")
    dt["layout"] = np.where(dt["layout"] == "base", "training layout", dt["shift"])
    sns.barplot(data=dt, x="condition", y="success", hue="layout", ax=axes[2],
                errorbar=t_errorbar)
    axes[2].set(title="Detour: success on the training and the held-out layout",
                ylabel="success rate", xlabel="", ylim=(0, 1.05))
    cm = ret[ret["member"] == "commons"]
    if len(cm):
        sns.barplot(data=cm, x="measure", y="retention", hue="condition", ax=axes[3],
                    errorbar=t_errorbar)
        axes[3].axhline(1, color="k", lw=0.6)
    axes[3].set(title="Commons: retention with new partners", ylabel="shifted / base",
                xlabel="")
    fig.suptitle("Robustness: frozen agents under shift (bars: mean over seeds; " + INTERVALS + ")",
                 fontsize=10)
    save_figure(fig, folder)
