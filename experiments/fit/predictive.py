"""Posterior-predictive check: each fitted participant, simulated with their fitted
parameters on the payoff scheme and the number of trials they played, against what
people did (net score ``(C + D) - (A + B)`` per block of 20 and deck shares over the
first 100 trials)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from experiments.analysis.plots import new_figure, save_figure, seaborn, t_errorbar
from experiments.fit.data import Sessions
from experiments.fit.models import Model
from experiments.fit.schemes import scheme_params

BLOCK, TRIALS = 20, 100


def payoff_schemes(sessions: Sessions) -> np.ndarray:
    """``(N,)`` each participant's payoff scheme (1 where the data have no
    ``payoff_scheme`` column)."""
    if "payoff_scheme" in sessions.extra:
        return sessions.extra["payoff_scheme"].to_numpy().astype(int)
    return np.ones(len(sessions.subjects), int)


def horizon(sessions: Sessions) -> int:
    """Trials compared: the first 100, or fewer whole blocks of 20 where a participant
    played fewer (0 when someone played fewer than 20)."""
    return int(min(TRIALS, sessions.trials.min()) // BLOCK * BLOCK)


def measures(choice: np.ndarray, source: str, subjects, schemes,
             trials: int = TRIALS) -> pd.DataFrame:
    """Tidy rows ``source, subjID, scheme, measure, block, value`` of sessions ``(N, T)``:
    ``net`` per block of 20 and each deck's share (``A``..``D``) over the first
    ``trials`` trials (100, a multiple of 20)."""
    c = np.asarray(choice)[:, :trials]
    blocks = c.reshape(len(c), -1, BLOCK)
    net = np.isin(blocks, (2, 3)).sum(-1) - np.isin(blocks, (0, 1)).sum(-1)
    rows = []
    for i, sid in enumerate(subjects):
        for b in range(net.shape[1]):
            rows.append((source, sid, schemes[i], "net", b + 1, float(net[i, b])))
        for d in range(4):
            rows.append((source, sid, schemes[i], "ABCD"[d], 0, float((c[i] == d).mean())))
    return pd.DataFrame(rows, columns=["source", "subjID", "scheme", "measure", "block",
                                       "value"])


def _theta_z(model: Model, fits: pd.DataFrame) -> np.ndarray:
    return np.stack([p.z_of(fits[p.name].to_numpy()) for p in model.free_params],
                    1).astype(np.float32)


def predictive(model: Model, fits: pd.DataFrame, sessions: Sessions, seed: int = 0
               ) -> pd.DataFrame:
    """Simulate every fitted participant once (``fits``: rows of ``model`` in the order of
    ``sessions``); returns :func:`measures` of the simulated sessions (``source`` the
    model's name). Participants play their ``payoff_scheme`` (1 where the data have no
    such column) for the trials they played."""
    schemes = payoff_schemes(sessions)
    trials, compared = sessions.trials, horizon(sessions)
    z = _theta_z(model, fits)
    keys = jax.random.split(jax.random.PRNGKey(seed), len(z))
    choice = np.full((len(z), compared), -1, np.int32)
    for scheme in np.unique(schemes):
        own = schemes == scheme
        params = scheme_params(int(scheme), sessions.select(own) if scheme == 3 else None)
        for steps in np.unique(trials[own]):
            rows = np.flatnonzero(own & (trials == steps))
            run = jax.jit(jax.vmap(lambda k, zi, s=int(steps), p=params: model.simulate(
                k, model.theta(zi), s, p)["choice"]))
            choice[rows] = np.asarray(run(keys[rows], jnp.asarray(z[rows])))[:, :compared]
    return measures(choice, model.name, sessions.subjects, schemes, compared)


def predictive_figure(table: pd.DataFrame, folder, title: str) -> list:
    """Net score per block and deck shares, people against each model, one pair of panels
    per payoff scheme (``predictive.png``/``.pdf``)."""
    sns = seaborn()
    schemes = sorted(table["scheme"].unique())
    fig, axes = new_figure(2 * len(schemes), (4.2 * 2 * len(schemes), 3.8))
    order = list(dict.fromkeys(table["source"]))
    for j, scheme in enumerate(schemes):
        rows = table[table["scheme"] == scheme]
        n = rows.loc[rows["source"] == "people", "subjID"].nunique()
        net = rows[rows["measure"] == "net"]
        sns.lineplot(data=net, x="block", y="value", hue="source", hue_order=order, marker="o",
                     errorbar=t_errorbar, ax=axes[2 * j])
        axes[2 * j].axhline(0, color="0.4", lw=0.8)
        axes[2 * j].set(title=f"scheme {scheme} ({n} people): net score", xlabel="block of 20",
                        ylabel="(C+D)-(A+B)", xticks=sorted(net["block"].unique()))
        decks = rows[rows["measure"].isin(list("ABCD"))]
        sns.barplot(data=decks, x="measure", y="value", hue="source", hue_order=order,
                    errorbar=t_errorbar, ax=axes[2 * j + 1])
        last = int(net["block"].max()) * BLOCK
        axes[2 * j + 1].set(title=f"scheme {scheme}: deck shares, trials 1-{last}", xlabel="deck",
                            ylabel="share of choices")
    for ax in axes:
        ax.legend(fontsize=7, title="")
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, folder, name="predictive")
