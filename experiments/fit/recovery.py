"""The models by name, and parameter recovery: simulate participants from known
parameters, fit them, and compare.

True parameters are drawn on each parameter's unconstrained scale from
``Normal(0, spread)`` (``spread = 1`` by default: narrower than the fitting prior, so
simulated participants are neither random pickers nor deterministic ones). Recovery is
the Pearson correlation of true and fitted values over participants, on the log scale
for parameters bounded on one (step sizes, temperatures).
"""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from experiments.fit.agent import agent_model
from experiments.fit.data import Sessions
from experiments.fit.fitting import fit_sessions
from experiments.fit.models import EV, PVL_DELTA, Model

MODELS = ("agent", "ev", "pvl-delta", "ddm", "race")
"""Models ``affectlab fit`` and ``affectlab recover`` know (the first three for the IGT,
the last two for value-based choices with response times)."""


def get_model(name: str, free=None, decision: str | None = None) -> Model:
    """The model called ``name`` (:data:`MODELS`), fitting ``free`` (default: its own set);
    ``decision`` sets the agent's decision rule (``"deliberate"``, ``"softmax"``)."""
    if decision is not None and name != "agent":
        raise ValueError(f"--decision applies to the agent only, not to {name!r}")
    if name == "agent":
        from affect.policy import AgentConfig

        cfg = AgentConfig() if decision is None else AgentConfig(decision=decision)
        model = agent_model(config=cfg)
    elif name == "ev":
        model = EV
    elif name == "pvl-delta":
        model = PVL_DELTA
    elif name in ("ddm", "race"):
        from experiments.fit.rt import DDM, RACE

        model = DDM if name == "ddm" else RACE
    else:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    return model if free is None else model.with_free(free)


def simulate(model: Model, participants: int, steps: int = 100, seed: int = 0,
             spread: float = 1.0) -> tuple[Sessions, pd.DataFrame]:
    """``participants`` simulated sessions of ``steps`` trials and their true parameters."""
    if participants < 2:
        raise ValueError(f"recovery needs at least 2 participants, got {participants}")
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, spread, (participants, len(model.free))).astype(np.float32)
    keys = jax.random.split(jax.random.PRNGKey(seed), participants)
    run = jax.jit(jax.vmap(lambda k, zi: model.simulate(k, model.theta(zi), steps)))
    trials = {k: np.asarray(v) for k, v in run(keys, jnp.asarray(z)).items()}
    subjects = [f"sim-{i + 1}" for i in range(participants)]
    truth = pd.DataFrame({p.name: np.asarray(p.value(jnp.asarray(z[:, i])))
                          for i, p in enumerate(model.free_params)})
    truth.insert(0, "subjID", subjects)
    extra = pd.DataFrame(index=pd.Index(subjects, name="subjID"))
    if "rt" in trials:  # choice-RT sessions (experiments.fit.rt)
        from experiments.fit.rt import RTSessions

        return RTSessions(subjects, np.where(trials["valid"], trials["choice"], -1),
                          trials["rt"], np.zeros(trials["rt"].shape + (2,), np.float32),
                          trials["valid"], extra, trials["levels"][0],
                          trials["level"]), truth
    sessions = Sessions(subjects, trials["choice"].astype(np.int32),
                        trials["gain"].astype(np.float32), trials["loss"].astype(np.float32),
                        trials["valid"].astype(bool), None, extra, 4)
    return sessions, truth


def recovery_table(model: Model, truth: pd.DataFrame, fits: pd.DataFrame) -> pd.DataFrame:
    """Per free parameter: Pearson ``r`` of true and fitted values (log scale where the
    parameter is bounded on one), and the fitted values' bias (median of fitted minus
    true)."""
    rows = []
    for p in model.free_params:
        t, f = truth[p.name].to_numpy(float), fits[p.name].to_numpy(float)
        tt, ff = (np.log(t), np.log(f)) if p.log else (t, f)
        r = float(np.corrcoef(tt, ff)[0, 1]) if np.std(tt) > 0 and np.std(ff) > 0 else np.nan
        rows.append({"parameter": p.name, "scale": "log" if p.log else "linear", "r": r,
                     "median_bias": float(np.median(f - t)), "participants": len(t)})
    return pd.DataFrame(rows)


def recover(model: Model, participants: int = 100, trials: int = 100, seed: int = 0,
            log=sys.stderr, **fit_kw) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate ``participants`` sessions of ``trials`` trials, fit them
    (:func:`~experiments.fit.fitting.fit_sessions` with ``fit_kw``) and compare:
    ``(recovery.csv rows: subjID, true_* and fit_* per parameter, loglik; summary per
    parameter)``."""
    sessions, truth = simulate(model, participants, trials, seed)
    fits = fit_sessions(model, sessions, seed=seed + 1, log=log, **fit_kw)
    table = truth.rename(columns={p: f"true_{p}" for p in model.free})
    for p in model.free:
        table[f"fit_{p}"] = fits[p].to_numpy()
    table["loglik"] = fits["loglik"].to_numpy()
    return table, recovery_table(model, truth, fits)
