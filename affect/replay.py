"""Replay: the online agent driven by a participant's recorded choices and outcomes.

:func:`make_replay` returns ``replay(net_params, gains, knobs, record) -> log_probs``:
the same agent as :func:`affect.online.make_session` (networks, affect module, tags,
lesion gains, one TD update per trial), but instead of sampling its own choice on each
trial it reads the values it has learned so far, scores the *recorded* choice under its
decision rule, and then learns from the *recorded* outcome. The per-trial log
probabilities it returns are the likelihood of a participant's choices under the agent,
differentiable in every traced number (the :class:`~affect.online.OnlineKnobs`, the
affect parameters, the deliberation constants that enter the drift, the lesion gains),
so parameters can be fitted by gradient (``experiments.fit``).

The decision rules:

* ``decision="softmax"``: ``P(a) = softmax(prefs + marker_weight * bias)`` over the
  offered options, exactly the rule :func:`affect.deliberation.instant` samples from.
* ``decision="deliberate"``: the race of :func:`affect.deliberation.deliberate` has no
  closed-form choice probability for more than two options, nor with an urgency-gated
  bound. The replay uses a **simulation-calibrated logit approximation**:
  ``P(a) = softmax(beta(urgency) * drift)`` with ``drift = prefs + marker_weight * bias``
  and ``beta(u)`` the slope that best fits (maximum likelihood) the choices of the exact
  race simulated on random preference gaps, for this number of options, these
  deliberation constants and this deadline, on a grid of urgencies
  (:func:`race_slopes`, computed once per replay). Its error against the simulated race
  is measured in ``tests/test_replay.py``. Response times are not scored.

A trial whose recorded action is ``-1`` (no response) adds nothing to the likelihood and
updates nothing but the affect state, as in simulation; padded trials (``valid`` False)
change nothing at all, so sessions of different lengths stack into one batch.
"""

from __future__ import annotations

import dataclasses
import functools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from affect.deliberation import NEG, DeliberationParams, deliberate
from affect.online import (
    OnlineKnobs,
    Outcome,
    after_choice,
    first_state,
    online_optimizer,
    read_options,
    urgency_of,
)
from affect.policy import Static

URGENCIES = np.linspace(0.0, 1.0, 11)
"""Urgencies at which the race's logit slope is calibrated (interpolated between)."""


@struct.dataclass
class Record:
    """One participant's recorded session, ``T`` trials (leading axis ``T`` on every
    field but ``start``); build one per task (e.g. ``experiments.fit.data``).

    Attributes:
        obs: ``(T, D)`` the observation before each choice.
        mask: ``(T, K)`` bool, the options on offer.
        action: ``(T,)`` int32, the recorded choice (``-1``: no response).
        reward: ``(T,)`` float32, the extrinsic reward of the outcome.
        signals: :class:`~worlds.signals.Signals` of each trial (scalar fields, ``(T,)``).
        final_obs: ``(T, D)`` the observation each trial reached.
        term: ``(T,)`` bool, the trial ended an episode in a terminal state.
        done: ``(T,)`` bool, the trial ended an episode.
        valid: ``(T,)`` bool, the trial was played (False: padding).
        start: scalar :class:`~worlds.signals.Signals`, the body at an episode's start.
    """

    obs: jnp.ndarray
    mask: jnp.ndarray
    action: jnp.ndarray
    reward: jnp.ndarray
    signals: object
    final_obs: jnp.ndarray
    term: jnp.ndarray
    done: jnp.ndarray
    valid: jnp.ndarray
    start: object


def race_slopes(delib: DeliberationParams, num_options: int, max_ticks: int, seed: int = 0,
                configs: int = 32, paths: int = 1000) -> np.ndarray:
    """The logit slope ``beta`` of the race at each of :data:`URGENCIES` ``(U,)``.

    For each urgency, ``configs`` drifts ``v ~ N(0, 0.5^2)`` per option are raced
    ``paths`` times each with :func:`~affect.deliberation.deliberate`; ``beta`` maximises
    the likelihood of those choices under ``softmax(beta * v)`` (a grid search on a log
    scale, refined once). ``delib`` must hold plain numbers (not traced).
    """
    key = jax.random.PRNGKey(seed)
    k_v, k_run = jax.random.split(key)
    v = 0.5 * jax.random.normal(k_v, (configs, num_options), jnp.float32)
    mask = jnp.ones((num_options,), bool)
    zero = jnp.zeros((num_options,), jnp.float32)

    @jax.jit
    def counts(u):
        def one(vi, k):
            keys = jax.random.split(k, paths)
            acts = jax.vmap(lambda kk: deliberate(kk, vi, mask, zero, u, delib,
                                                  max_ticks).action)(keys)
            return jnp.bincount(acts, length=num_options)
        return jax.vmap(one)(v, jax.random.split(k_run, configs))

    vn = np.asarray(v, np.float64)
    out = []
    for u in URGENCIES:
        c = np.asarray(counts(jnp.float32(u)), np.float64)
        betas = np.geomspace(0.1, 100.0, 200)
        for _ in range(2):
            z = betas[:, None, None] * vn[None]
            logp = z - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
                - z.max(-1, keepdims=True)
            best = betas[np.argmax((logp * c[None]).sum((1, 2)))]
            betas = np.linspace(best / 1.1, best * 1.1, 200)
        out.append(best)
    return np.asarray(out, np.float32)


@functools.lru_cache(maxsize=16)
def _slopes(delib: tuple, num_options: int, max_ticks: int, seed: int) -> np.ndarray:
    """:func:`race_slopes`, computed once per process for each setting."""
    return race_slopes(DeliberationParams(*delib), num_options, max_ticks, seed)


def choice_logprobs(decision: str, prefs, bias, mask, urgency, delib, slopes=None):
    """Log probabilities ``(K,)`` of each option (``NEG`` where not offered) under the
    decision rule (see the module docstring); ``slopes`` from :func:`race_slopes` for
    ``"deliberate"``."""
    drive = prefs + delib.marker_weight * bias
    if decision == "deliberate":
        if slopes is None:
            raise ValueError("choice_logprobs: the race needs its slopes (race_slopes)")
        beta = jnp.interp(jnp.clip(urgency, 0.0, 1.0), jnp.asarray(URGENCIES, jnp.float32),
                          slopes)
        n = jnp.maximum(mask.sum(), 1)
        drive = beta * (drive - jnp.where(mask, drive, 0.0).sum() / n)
    elif decision != "softmax":
        raise ValueError(f"unknown decision rule {decision!r}")
    return jax.nn.log_softmax(jnp.where(mask, drive, NEG))


def replay_step(static: Static, optimizer, affect_params, delib, knobs, onset, gains, slopes,
                start, state, x):
    """Score the recorded choice of one trial, then learn from its recorded outcome."""
    t, rec = x
    gains_t = jnp.where(t < onset, gains[0], gains[1])
    state = state.replace(obs=rec.obs)
    _, prefs, bias, scale = read_options(static, knobs, gains_t, state)
    logp = choice_logprobs(static.config.decision, prefs, bias, rec.mask,
                           urgency_of(delib, state, scale), delib, slopes)
    chosen = rec.action >= 0
    action = jnp.maximum(rec.action, 0)
    out = Outcome(rec.obs, rec.reward, rec.term, rec.done, rec.signals, rec.final_obs, start)
    new, _, _, _ = after_choice(static, optimizer, affect_params, delib, knobs, gains_t,
                                state, action, chosen, out, None, state.key)
    new = jax.tree_util.tree_map(lambda a, b: jnp.where(rec.valid, a, b), new, state)
    return new, jnp.where(chosen & rec.valid, logp[action], 0.0)


def make_replay(static: Static, affect_params=None, delib=None, onset_step=None, seed=0):
    """Return ``replay(net_params, gains, knobs, record, affect=None, deliberation=None) -> (T,)``
    log probabilities of the recorded choices (0 for no response and padding).

    ``gains`` is ``(2, C, len(OUTPUTS))``: the lesion gains before and from
    ``onset_step`` (a :class:`~affect.lesion.LesionData`'s ``train_gains()`` and
    ``eval_gains()``, or gains a fit varies); ``knobs`` an
    :class:`~affect.online.OnlineKnobs`; ``affect_params`` and ``delib`` default to the
    module's and :class:`~affect.deliberation.DeliberationParams`'s defaults; a call may
    override the affect parameters (``affect``) and the tags' and learner's constants
    (``deliberation``, a :class:`~affect.deliberation.DeliberationParams` of traced
    numbers; the race's slopes stay those calibrated for ``delib``'s bound, noise, drift
    and urgency constants). With
    ``decision="deliberate"`` the race's slopes are calibrated once here (``seed``).
    """
    world, cfg = static.world, static.config
    affect_params = static.module.default_params() if affect_params is None else affect_params
    delib = DeliberationParams() if delib is None else delib
    if world.num_agents != 1:
        raise ValueError(f"replay handles single-agent worlds; {world.name} has "
                         f"{world.num_agents}")
    slopes = None
    if cfg.decision == "deliberate":
        slopes = jnp.asarray(_slopes(dataclasses.astuple(delib), world.num_actions,
                                     cfg.max_ticks, seed))
    optimizer = online_optimizer(cfg)

    def replay(net_params, gains, knobs: OnlineKnobs, record: Record, affect=None,
               deliberation=None):
        aff_p = affect_params if affect is None else affect
        d = delib if deliberation is None else deliberation
        steps = record.action.shape[0]
        onset = steps if onset_step is None else onset_step
        state = first_state(static, optimizer, aff_p, net_params, record.obs[0], None,
                            record.start, gains[0], jax.random.PRNGKey(0))
        step = partial(replay_step, static, optimizer, aff_p, d, knobs, onset, gains, slopes,
                       record.start)
        _, logp = jax.lax.scan(step, state, (jnp.arange(steps), record.replace(start=None)))
        return logp

    return replay
