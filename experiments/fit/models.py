"""Models of trial-by-trial choices, written for fitting: parameters with bounds and a
stated prior, a per-trial log-likelihood in JAX and a simulator.

* :data:`EV` -- the Expectancy-Valence model (Busemeyer & Stout 2002): utility
  ``(1 - w) * gain - w * |loss|``, delta-rule expectancies, choice sensitivity
  ``(t / 10)^c`` growing or shrinking over trials;
* :data:`PVL_DELTA` -- the Prospect-Valence-Learning model with the delta rule (Ahn,
  Busemeyer, Wagenmakers & Stout 2008): utility ``x^alpha`` for a net outcome ``x >= 0``,
  ``-lambda |x|^alpha`` below, constant sensitivity ``3^c - 1``;
* ``agent`` -- affectlab's own online agent (:mod:`experiments.fit.agent`).

Outcomes are in units of $100, as in hBayesDM. Every parameter is fitted on an
unconstrained scale ``z``: ``theta = low + (high - low) * sigmoid(z)`` (on a log scale
between the bounds where ``log``); MAP fits put a ``Normal(0, PRIOR_SD)`` prior on ``z``
(close to uniform between the bounds, less mass at the edges), ML fits none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from worlds.registry import make

PAYSCALE = 100.0
"""Outcomes are divided by this (dollars to units of $100, as hBayesDM does)."""
PRIOR_SD = 1.5
"""Standard deviation of the Normal prior of every parameter on its unconstrained scale."""


@dataclass(frozen=True)
class Param:
    """A bounded model parameter.

    Attributes:
        name: the parameter's name (a column of ``fits.csv``).
        low, high: bounds (open).
        default: the value when the parameter is not fitted.
        log: bounded on a log scale (for step sizes and temperatures).
        doc: what it does.
    """

    name: str
    low: float
    high: float
    default: float
    log: bool = False
    doc: str = ""

    def value(self, z):
        """The parameter's value at unconstrained ``z``."""
        s = jax.nn.sigmoid(z)
        if self.log:
            return jnp.exp(np.log(self.low) + (np.log(self.high) - np.log(self.low)) * s)
        return self.low + (self.high - self.low) * s

    def z_of(self, value) -> np.ndarray:
        """The unconstrained ``z`` of ``value`` (clipped just inside the bounds)."""
        lo, hi, v = self.low, self.high, np.asarray(value, np.float64)
        if self.log:
            lo, hi, v = np.log(lo), np.log(hi), np.log(v)
        s = np.clip((v - lo) / (hi - lo), 1e-4, 1 - 1e-4)
        return np.log(s) - np.log1p(-s)


@dataclass(frozen=True)
class Model:
    """A choice model ready to fit.

    Attributes:
        name: ``--model`` name.
        params: every parameter (fitted or fixed).
        free: the names fitted (the rest stay at their default).
        loglik: ``loglik(theta, trials) -> (T,)`` log-probability of each recorded choice
            (0 on padding); ``theta`` maps every parameter name to a scalar, ``trials``
            holds one participant's ``choice``, ``gain``, ``loss``, ``valid`` ``(T,)``.
        simulate: ``simulate(key, theta, steps, task_params=None) -> trials``: a
            simulated participant's session of ``steps`` trials in the task's world (with
            ``task_params``, e.g. another payoff schedule), a ``dict`` like ``trials``.
        reference: the citation of the model.
    """

    name: str
    params: tuple[Param, ...]
    free: tuple[str, ...]
    loglik: Callable
    simulate: Callable | None = None
    reference: str = ""

    def __post_init__(self):
        names = [p.name for p in self.params]
        unknown = [f for f in self.free if f not in names]
        if unknown:
            raise ValueError(f"model {self.name!r} has no parameter(s) {unknown}; its "
                             f"parameters: {', '.join(names)}")
        if not self.free:
            raise ValueError(f"model {self.name!r}: nothing to fit (free is empty)")

    @property
    def free_params(self) -> tuple[Param, ...]:
        """The fitted parameters, in the order of :attr:`free`."""
        by_name = {p.name: p for p in self.params}
        return tuple(by_name[f] for f in self.free)

    def theta(self, z) -> dict:
        """Every parameter's value: the free ones from ``z (P,)``, the rest at default."""
        out = {p.name: jnp.asarray(p.default, jnp.float32) for p in self.params}
        for i, p in enumerate(self.free_params):
            out[p.name] = p.value(z[i])
        return out

    def with_free(self, free) -> Model:
        """The same model with another set of fitted parameters."""
        return Model(self.name, self.params, tuple(free), self.loglik, self.simulate,
                     self.reference)


# ----------------------------------------------------------------- delta-rule models
def _safe_pow(x, a):
    """``x ** a`` for ``x >= 0`` with a finite gradient at 0."""
    pos = x > 0
    return jnp.where(pos, jnp.where(pos, x, 1.0) ** a, 0.0)


def ev_utility(theta, gain, loss):
    """EV: ``(1 - w) * gain - w * |loss|`` in units of $100."""
    w = theta["w"]
    return ((1 - w) * gain - w * jnp.abs(loss)) / PAYSCALE


def ev_sensitivity(theta, t):
    """EV: ``(t / 10)^c`` on trial ``t`` (1-based)."""
    return (t / 10.0) ** theta["c"]


def pvl_utility(theta, gain, loss):
    """PVL-Delta: ``x^alpha`` for a net outcome ``x >= 0``, ``-lambda |x|^alpha`` below."""
    x = (gain + loss) / PAYSCALE
    mag = _safe_pow(jnp.abs(x), theta["alpha"])
    return jnp.where(x >= 0, mag, -theta["lambda"] * mag)


def pvl_sensitivity(theta, t):
    """PVL-Delta: ``3^c - 1`` on every trial."""
    del t
    return 3.0 ** theta["c"] - 1.0


def delta_rule(utility, sensitivity, rate: str, k: int = 4):
    """``(loglik, simulate)`` of a delta-rule expectancy model: choice probabilities
    ``softmax(sensitivity(t) * ev)``, then ``ev[choice] += rate * (u - ev[choice])``;
    ``simulate`` plays ``IowaGambling-v0`` (its schedule, or ``task_params``')."""

    def policy(theta, ev, t):
        return jax.nn.log_softmax(sensitivity(theta, t) * ev)

    def update(theta, ev, choice, gain, loss, valid):
        hit = jax.nn.one_hot(choice, k) * valid
        return ev + theta[rate] * hit * (utility(theta, gain, loss) - ev)

    def loglik(theta, trials):
        def one(ev, x):
            t, c, g, lo, v = x
            logp = policy(theta, ev, t)
            return update(theta, ev, c, g, lo, v), jnp.where(v, logp[jnp.maximum(c, 0)], 0.0)

        steps = trials["choice"].shape[0]
        xs = (jnp.arange(1, steps + 1, dtype=jnp.float32), trials["choice"], trials["gain"],
              trials["loss"], trials["valid"])
        return jax.lax.scan(one, jnp.zeros((k,), jnp.float32), xs)[1]

    def simulate(key, theta, steps: int, task_params=None):
        world, params = make("IowaGambling-v0")
        params = (params if task_params is None else task_params).replace(time_limit=steps)
        _, state0 = world.reset(key, params)

        def one(carry, t):
            ev, state, key = carry
            key, k_choice = jax.random.split(key)
            choice = jax.random.categorical(k_choice, policy(theta, ev, t)).astype(jnp.int32)
            _, state, _, _, _, info = world.step_env(k_choice, state, choice[None], params)
            gain, loss = info["gain"][0].astype(jnp.float32), -info["loss"][0].astype(
                jnp.float32)
            ev = update(theta, ev, choice, gain, loss, True)
            return (ev, state, key), (choice, gain, loss)

        ts = jnp.arange(1, steps + 1, dtype=jnp.float32)
        _, (c, g, lo) = jax.lax.scan(one, (jnp.zeros((k,), jnp.float32), state0, key), ts)
        return {"choice": c, "gain": g, "loss": lo, "valid": jnp.ones((steps,), bool)}

    return loglik, simulate


_ev_loglik, _ev_simulate = delta_rule(ev_utility, ev_sensitivity, "a")
_pvl_loglik, _pvl_simulate = delta_rule(pvl_utility, pvl_sensitivity, "A")

EV = Model(
    "ev",
    (Param("w", 0.0, 1.0, 0.5, doc="attention to losses"),
     Param("a", 0.0, 1.0, 0.2, doc="update rate of the expectancies"),
     Param("c", -5.0, 5.0, 0.5, doc="consistency: sensitivity (t/10)^c")),
    ("w", "a", "c"),
    _ev_loglik,
    _ev_simulate,
    reference="Busemeyer & Stout (2002), Psychological Assessment 14, 253-262",
)
PVL_DELTA = Model(
    "pvl-delta",
    (Param("A", 0.0, 1.0, 0.2, doc="update rate of the expectancies"),
     Param("alpha", 0.0, 2.0, 0.5, doc="outcome sensitivity (utility shape)"),
     Param("c", 0.0, 5.0, 1.0, doc="consistency: sensitivity 3^c - 1"),
     Param("lambda", 0.0, 10.0, 1.0, doc="loss aversion")),
    ("A", "alpha", "c", "lambda"),
    _pvl_loglik,
    _pvl_simulate,
    reference="Ahn, Busemeyer, Wagenmakers & Stout (2008), Cognitive Science 32, 1376-1402",
)
