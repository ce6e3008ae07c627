"""Value-based choices with response times: data, a drift-diffusion model, and the
agent's decision process scored on choices *and* times.

Data (one row per trial): ``subjID``, ``trial`` (1..n), ``choice`` (1: the first item, 2:
the second), ``rt`` (seconds), ``value1`` and ``value2`` (the items' values, e.g.
ratings). The aDDM toolbox's ``expdata.csv`` (25 people, about 1,270 perceptual choices
each: which of two lines is closer to a target orientation, Tavares, Perona & Rangel
2017; GPL-3) is read in that layout by :func:`read_rt_example` from the archive ``pip
download`` fetches, with the toolbox's own conversion of an item's offset to its value,
``|(|offset| - 15) / 5|`` (0 for the farthest line, 3 for one on target).

Models (drift toward item 1 in proportion to ``value1 - value2``):

* :data:`DDM` -- the drift-diffusion model (Ratcliff 1978): drift ``d * (v1 - v2)``,
  boundary separation ``a``, start in the middle, non-decision time ``t0``; the exact
  first-passage density (Navarro & Fuss 2009, seven terms of each series);
* :data:`RACE` -- the agent's own decision process (:func:`affect.deliberation.deliberate`
  with its default constants, its deadline and its urgency at rest): preferences
  ``value_scale * v``, one tick lasting ``tick`` seconds, ``t0``; the choice and tick
  probabilities are computed exactly for two options by propagating the distribution of
  the lead over a grid, tick by tick, through the urgency-gated (collapsing) bound
  (:func:`race_tick_probs`). ``urgency`` can be fitted (``--free``): 0 is the lesioned
  agent's fixed bound.

Both mix in a 2 % uniform contaminant over 0-60 s and both choices (Ratcliff &
Tuerlinckx 2002), so a stray response time never has zero likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.scipy.stats import norm

from affect.deliberation import DeliberationParams, elapsed
from affect.frustration import FrustrationParams
from affect.policy import AgentConfig
from experiments.fit.data import DataError, example_frame
from experiments.fit.models import Model, Param

CONTAMINANT, RT_MAX = 0.02, 60.0
VALUES = np.array([0, 1, 2, 3], np.float32)
"""Item values of simulated participants (those of the aDDM toolbox's data)."""
RT_EXAMPLES = {"addm": ("addm_toolbox==0.1.12", "addm_toolbox-0.1.12.tar.gz",
                        "addm_toolbox-0.1.12/addm_toolbox/data/expdata.csv")}


@dataclass
class RTSessions:
    """Choice-RT sessions padded to ``T`` trials (``choice`` 0 for item 1, 1 for item 2,
    -1 on padding); ``levels`` are the distinct value differences ``v1 - v2`` and
    ``level`` each trial's index into them."""

    subjects: list[str]
    choice: np.ndarray
    rt: np.ndarray
    value: np.ndarray
    valid: np.ndarray
    extra: pd.DataFrame
    levels: np.ndarray
    level: np.ndarray

    @property
    def trials(self) -> np.ndarray:
        """``(N,)`` trials per participant."""
        return self.valid.sum(1)

    def arrays(self) -> dict[str, np.ndarray]:
        """What the models' ``loglik`` read, leading axis ``N``."""
        n = len(self.subjects)
        return {"choice": self.choice, "rt": self.rt, "level": self.level, "valid": self.valid,
                "levels": np.broadcast_to(self.levels, (n, len(self.levels)))}

    def select(self, rows) -> RTSessions:
        """The participants at ``rows``."""
        rows = np.arange(len(self.subjects))[rows]
        subjects = [self.subjects[i] for i in rows]
        return RTSessions(subjects, self.choice[rows], self.rt[rows], self.value[rows],
                          self.valid[rows], self.extra.loc[subjects], self.levels,
                          self.level[rows])


def rt_sessions_from_frame(df: pd.DataFrame, where: str = "data") -> RTSessions:
    """:class:`RTSessions` from a frame in the layout of the module docstring (checked)."""
    need = ("subjID", "trial", "choice", "rt", "value1", "value2")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {missing}; choice-RT data need "
                        f"{list(need)}")
    df = df.assign(subjID=df["subjID"].astype(str))
    checks = [(~df["choice"].isin([1, 2]), "choice must be 1 or 2"),
              (~(df["rt"] > 0), "rt must be a positive number of seconds")]
    for bad, rule in checks:
        if bad.any():
            row = df[bad].iloc[0]
            raise DataError(f"{where}: subject {row['subjID']}, trial {row['trial']}: {rule}")
    diff = (df["value1"] - df["value2"]).to_numpy(np.float32)
    levels = np.unique(diff)
    if len(levels) > 64:
        raise DataError(f"{where}: {len(levels)} distinct value differences; the race model "
                        "computes one distribution per difference (at most 64)")
    groups = list(df.assign(_lvl=np.searchsorted(levels, diff)).groupby("subjID", sort=False))
    n, t = len(groups), max(len(g) for _, g in groups)
    out = {k: np.zeros((n, t), np.float32) for k in ("rt", "v1", "v2")}
    choice, level = np.full((n, t), -1, np.int32), np.zeros((n, t), np.int32)
    valid = np.zeros((n, t), bool)
    for i, (sid, g) in enumerate(groups):
        if not np.array_equal(g["trial"].to_numpy(), np.arange(1, len(g) + 1)):
            raise DataError(f"{where}: subject {sid}: trials must run 1, 2, ..., n in order")
        m = len(g)
        choice[i, :m], valid[i, :m] = g["choice"].to_numpy() - 1, True
        out["rt"][i, :m], level[i, :m] = g["rt"].to_numpy(), g["_lvl"].to_numpy()
        out["v1"][i, :m], out["v2"][i, :m] = g["value1"].to_numpy(), g["value2"].to_numpy()
    extra = pd.DataFrame(index=pd.Index([sid for sid, _ in groups], name="subjID"))
    return RTSessions([sid for sid, _ in groups], choice, out["rt"],
                      np.stack([out["v1"], out["v2"]], -1), valid, extra, levels, level)


def read_rt(path) -> RTSessions:
    """Read and check a choice-RT file (comma-separated)."""
    return rt_sessions_from_frame(pd.read_csv(path), str(path))


def read_rt_example(name: str = "addm", cache=None) -> RTSessions:
    """The aDDM toolbox's ``expdata.csv`` (rt in ms, choice -1 left / 1 right, items as
    orientation offsets) in this module's layout, read from the archive ``pip download``
    fetches."""
    df, path = example_frame(name, cache, RT_EXAMPLES)
    df = df.sort_values(["parcode", "trial"])
    value = lambda offset: np.abs((np.abs(offset) - 15) / 5)  # noqa: E731  (the toolbox's)
    frame = pd.DataFrame({"subjID": df["parcode"], "choice": np.where(df["choice"] < 0, 1, 2),
                          "rt": df["rt"] / 1000.0, "value1": value(df["item_left"]),
                          "value2": value(df["item_right"])})
    frame["trial"] = frame.groupby("subjID").cumcount() + 1
    return rt_sessions_from_frame(frame, f"{name} ({path.name})")


# ----------------------------------------------------------------- likelihoods
def _mix(logp):
    """Log of the density mixed with the uniform contaminant."""
    return jnp.logaddexp(jnp.log1p(-CONTAMINANT) + logp,
                         jnp.log(CONTAMINANT / (2 * RT_MAX)))


def wiener_lower_logpdf(t, v, a, w=0.5, terms: int = 7):
    """Log density of first reaching the lower boundary at time ``t`` for a Wiener process
    with drift ``v``, boundary separation ``a`` and relative start ``w`` (Navarro & Fuss
    2009: the small-time series for ``t / a^2 < 1``, the large-time one above)."""
    t = jnp.maximum(t, 1e-4)
    u = t / a**2
    k = jnp.arange(-(terms // 2), terms // 2 + 1, dtype=jnp.float32)
    small = jnp.sum((w + 2 * k) * jnp.exp(-((w + 2 * k) ** 2) / (2 * u[..., None])), -1)
    small = small / jnp.sqrt(2 * jnp.pi * u**3)
    j = jnp.arange(1, terms + 1, dtype=jnp.float32)
    large = jnp.pi * jnp.sum(j * jnp.exp(-(j**2) * jnp.pi**2 * u[..., None] / 2)
                             * jnp.sin(j * jnp.pi * w), -1)
    f = jnp.where(u < 1.0, small, large)
    return jnp.log(jnp.maximum(f, 1e-30)) - v * a * w - v**2 * t / 2 - 2 * jnp.log(a)


def _ddm_loglik(theta, trials):
    diff = trials["levels"][trials["level"]]
    v, a, dt = theta["d"] * diff, theta["a"], trials["rt"] - theta["t0"]
    first = wiener_lower_logpdf(dt, -v, a)  # item 1: the upper boundary (drift toward it)
    second = wiener_lower_logpdf(dt, v, a)
    logp = jnp.where(dt > 0, jnp.where(trials["choice"] == 0, first, second), -jnp.inf)
    return jnp.where(trials["valid"], _mix(logp), 0.0)


def race_tick_probs(delta, urgency, params: DeliberationParams, max_ticks: int,
                    cells: int = 81):
    """``(2, max_ticks)``: probability that the two-option race of
    :func:`~affect.deliberation.deliberate` chooses option 1 (row 0) or 2 (row 1) at each
    tick, for preference difference ``delta`` and ``urgency``; the lead is propagated
    over ``cells`` grid cells on ``[-bound, bound]`` (the part of a cell beyond the
    collapsing bound is absorbed, so the result is smooth in the urgency) and a timeout
    chooses the leader."""
    b, s = params.bound, jnp.sqrt(2.0) * params.noise
    m = params.drift_scale * delta
    edges = jnp.linspace(-b, b, cells + 1)
    x = 0.5 * (edges[1:] + edges[:-1])
    c = norm.cdf((edges[None, :] - x[:, None] - m) / s)
    move, up, down = jnp.diff(c, axis=1), 1.0 - c[:, -1], c[:, 0]
    p0 = jnp.zeros(cells).at[cells // 2].set(1.0)

    half = b / cells  # half a cell

    def tick(p, t):
        gone_up, gone_down, p = p @ up, p @ down, p @ move
        bt = b / (1.0 + params.urgency_gain * jnp.clip(urgency, 0.0, 1.0) * elapsed(t, params))
        # the share of each cell beyond the bound is absorbed (smooth in the bound)
        f_up = jnp.clip((x + half - bt) / (2 * half), 0.0, 1.0)
        f_down = jnp.clip((-bt - (x - half)) / (2 * half), 0.0, 1.0)
        pu, pd = gone_up + p @ f_up, gone_down + p @ f_down
        return p * (1.0 - f_up - f_down), (pu, pd)

    p, (pu, pd) = jax.lax.scan(tick, p0, jnp.arange(1, max_ticks + 1, dtype=jnp.float32))
    pu = pu.at[-1].add(jnp.sum(jnp.where(x > 0, p, 0.0)))
    pd = pd.at[-1].add(jnp.sum(jnp.where(x < 0, p, 0.0)))
    return jnp.stack([pu, pd])


_DELIB = DeliberationParams()
_TICKS = AgentConfig().max_ticks
_REST_URGENCY = FrustrationParams().rest_urgency


def _race_probs(theta, levels):
    return jax.vmap(lambda d: race_tick_probs(theta["value_scale"] * d, theta["urgency"],
                                              _DELIB, _TICKS))(levels)  # (L, 2, K)


def _race_loglik(theta, trials):
    probs = _race_probs(theta, trials["levels"])[trials["level"]]  # (T, 2, K)
    own = jnp.take_along_axis(probs, jnp.maximum(trials["choice"], 0)[:, None, None], 1)[:, 0]
    k = (trials["rt"] - theta["t0"]) / theta["tick"]  # in ticks; tick j decides at j
    lo = jnp.floor(k).astype(jnp.int32)
    frac = k - lo
    padded = jnp.pad(own, ((0, 0), (1, 1)))  # index j holds tick j; 0 and K+1 are empty
    at = lambda i: jnp.take_along_axis(padded, jnp.clip(i, 0, _TICKS + 1)[:, None], 1)[:, 0]
    density = ((1 - frac) * at(lo) + frac * at(lo + 1)) / theta["tick"]
    density = jnp.where((k >= 0) & (k <= _TICKS + 1), density, 0.0)
    return jnp.where(trials["valid"], _mix(jnp.log(jnp.maximum(density, 1e-30))), 0.0)


# ----------------------------------------------------------------- simulation
def _design(key, steps):
    """Random pairs of :data:`VALUES`, their difference levels and each trial's level."""
    v = jax.random.choice(key, jnp.asarray(VALUES), (steps, 2))
    levels = jnp.arange(-3.0, 4.0)
    return v, levels, jnp.searchsorted(levels, v[:, 0] - v[:, 1]).astype(jnp.int32)


def _ddm_simulate(key, theta, steps, task_params=None, dt=0.002, horizon=10.0):
    del task_params
    k_design, k_walk = jax.random.split(key)
    v, levels, level = _design(k_design, steps)
    drift = theta["d"] * (v[:, 0] - v[:, 1])
    n = int(horizon / dt)
    eps = jax.random.normal(k_walk, (n, steps)) * jnp.sqrt(dt)
    path = jnp.cumsum(drift[None] * dt + eps, 0)
    out = jnp.abs(path) >= theta["a"] / 2
    first = jnp.argmax(out, 0)
    crossed = out.any(0)
    choice = jnp.where(path[first, jnp.arange(steps)] > 0, 0, 1)
    rt = theta["t0"] + (first + 1) * dt
    return {"choice": choice, "rt": jnp.where(crossed, rt, horizon), "level": level,
            "levels": levels, "valid": crossed}


def _race_simulate(key, theta, steps, task_params=None):
    del task_params
    k_design, k_pick, k_jit = jax.random.split(key, 3)
    v, levels, level = _design(k_design, steps)
    probs = _race_probs(theta, levels)[level].reshape(steps, -1)  # (T, 2K)
    pick = jax.random.categorical(k_pick, jnp.log(jnp.maximum(probs, 1e-30)))
    choice, tick = pick // _TICKS, pick % _TICKS + 1
    u = jax.random.uniform(k_jit, (2, steps))
    rt = theta["t0"] + theta["tick"] * (tick + u[0] + u[1] - 1.0)  # the hat kernel
    return {"choice": choice.astype(jnp.int32), "rt": rt, "level": level, "levels": levels,
            "valid": jnp.ones((steps,), bool)}


DDM = Model(
    "ddm",
    (Param("d", 1e-3, 10.0, 0.3, log=True, doc="drift per unit of value difference"),
     Param("a", 0.3, 6.0, 1.5, log=True, doc="boundary separation"),
     Param("t0", 0.0, 1.5, 0.3, doc="non-decision time (s)")),
    ("d", "a", "t0"), _ddm_loglik, _ddm_simulate,
    reference="Ratcliff (1978); density: Navarro & Fuss (2009)")
RACE = Model(
    "race",
    (Param("value_scale", 1e-3, 5.0, 0.1, log=True, doc="preference per unit of value"),
     Param("tick", 0.005, 0.5, 0.05, log=True, doc="seconds per deliberation tick"),
     Param("t0", 0.0, 1.5, 0.3, doc="non-decision time (s)"),
     Param("urgency", 0.0, 1.0, _REST_URGENCY, doc="urgency (the agent's at rest: 0.3)")),
    ("value_scale", "tick", "t0"), _race_loglik, _race_simulate,
    reference="the agent's decision process (affect.deliberation), exact for two options")


# ----------------------------------------------------------------- predictions
def chronometric(sessions: RTSessions, model: Model | None = None,
                 fits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Share of item-1 choices and mean response time at every value difference each
    participant met: what they did (no ``model``), or what ``model`` predicts at their
    fitted parameters (``fits``, rows in the order of ``sessions``). Tidy rows ``source,
    subjID, difference, measure (p_first, mean_rt), value``. Predictions are exact (the
    race's tick distribution; the DDM's ``1 / (1 + exp(-v a))`` and mean decision time
    ``a / (2 v) tanh(v a / 2)``), without the contaminant."""
    rows = []
    for i, sid in enumerate(sessions.subjects):
        ok = sessions.valid[i]
        met = np.unique(sessions.level[i][ok])
        diffs = sessions.levels[met].astype(float)
        if model is None:
            sel = [ok & (sessions.level[i] == lvl) for lvl in met]
            p_first = [float((sessions.choice[i][s] == 0).mean()) for s in sel]
            mean_rt = [float(sessions.rt[i][s].mean()) for s in sel]
        else:
            theta = {p.name: jnp.float32(p.default) for p in model.params}
            theta.update({p: jnp.float32(fits[p].iloc[i]) for p in model.free})
            p_first, mean_rt = _predict(model, theta, diffs)
        source = "people" if model is None else model.name
        for d, p, rt in zip(diffs, p_first, mean_rt, strict=True):
            rows += [(source, sid, d, "p_first", float(p)), (source, sid, d, "mean_rt", float(rt))]
    return pd.DataFrame(rows, columns=["source", "subjID", "difference", "measure", "value"])


def _predict(model: Model, theta, diffs):
    """``(p_first, mean_rt)`` at value differences ``diffs`` (scalar or array)."""
    diffs = np.asarray(diffs, float)
    if model.name == "race":
        probs = np.asarray(_race_probs(theta, jnp.asarray(np.atleast_1d(diffs))))  # (L, 2, K)
        ticks = (probs.sum(1) * np.arange(1, _TICKS + 1)).sum(-1)
        p, rt = probs[:, 0].sum(-1), float(theta["t0"]) + float(theta["tick"]) * ticks
        return p.reshape(diffs.shape), rt.reshape(diffs.shape)
    v, a = float(theta["d"]) * diffs, float(theta["a"])
    small = np.abs(v) < 1e-6
    dt = np.where(small, a * a / 4, a / (2 * np.where(small, 1.0, v)) * np.tanh(v * a / 2))
    return 1 / (1 + np.exp(-v * a)), float(theta["t0"]) + dt


def chronometric_figure(table: pd.DataFrame, folder, title: str) -> list:
    """Choice share and mean response time against the value difference, people and each
    model (means over participants, 95% t intervals): ``predictive.png``/``.pdf``."""
    from experiments.analysis.plots import new_figure, save_figure, seaborn, t_errorbar

    sns = seaborn()
    fig, axes = new_figure(2, (10, 3.8))
    order = list(dict.fromkeys(table["source"]))
    for ax, (measure, label) in zip(axes, [("p_first", "share of item-1 choices"),
                                           ("mean_rt", "mean response time (s)")], strict=True):
        sns.lineplot(data=table[table["measure"] == measure], x="difference", y="value",
                     hue="source", hue_order=order, marker="o", errorbar=t_errorbar, ax=ax)
        ax.set(xlabel="value1 - value2", ylabel=label, title=label)
        ax.legend(fontsize=8, title="")
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, folder, name="predictive")
