"""The decision process: sequential sampling over action preferences, with urgency.

A race between the offered options (Ratcliff & McKoon 2008 for the diffusion model;
Usher & McClelland 2001 for races; Pedersen, Frank & Biele 2017 for drift set by
learned values). One decision, one agent (``vmap`` at the call site):

* evidence for option ``i`` on tick ``t``: ``e_i(t) = drift_scale * (v_i - mean_offered(v))
  + noise * eps_i(t)``, with ``v = prefs + marker_weight * bias`` (learned preferences
  in nats, plus the affective marker bias of each option);
* accumulated evidence ``x_i(t) = sum_{s<=t} e_i(s)``; the *lead* is the leader's
  margin over the runner-up, ``x_(1)(t) - x_(2)(t)`` (for two options this is the
  diffusion model's decision variable);
* urgency gating (Cisek, Puskas & El-Murr 2009): the lead is multiplied by
  ``gamma(t) = 1 + urgency_gain * urgency * elapsed(t)`` (:func:`elapsed`: ``t``, or a
  power of it that leaves the bound flat at first and collapses it later), so the effective bound
  ``bound / gamma(t)`` collapses over deliberation time at a rate set by the affect
  module's ``urgency`` in ``[0, 1]``; with ``urgency = 0`` the bound is fixed;
* the decision is the leader at the first tick ``t`` with ``gamma(t) * lead(t) >= bound``;
  if no tick up to ``max_ticks`` reaches it, the decision *times out*: ``ticks =
  max_ticks``, ``timed_out = True`` and ``action`` is the leader at that moment (a world
  with a deadline treats a timeout as no response).

With one offered option the lead is infinite and the decision takes one tick. The
whole process is ``max_ticks`` vectorised steps (a cumulative sum, no data-dependent
loop), so it ``jit``s and ``vmap``s with a static cost.

:func:`instant` is the softmax alternative (no deliberation, ``ticks = 0``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class DeliberationParams:
    """Constants of the decision process (the same for every world)."""

    drift_scale: float = 1.0  # evidence per tick per unit of preference difference
    noise: float = 1.0  # standard deviation of each option's evidence per tick
    bound: float = 10.0  # lead needed to commit (zero drift, no urgency: ~b^2/2 ticks)
    urgency_gain: float = 0.5  # slope of the urgency gate per tick at urgency 1
    urgency_shape: float = 2.0  # power of elapsed time in the gate (1: linear)
    urgency_ticks: float = 20.0  # ticks at which a shaped gate equals the linear one
    marker_weight: float = 0.62  # weight of the affective marker bias in the drift
    marker_decay: float = 0.9  # retention of an option's affective tag each time it is chosen
    marker_rate: float = 0.1  # weight of a new felt outcome in the chosen option's tag
    marker_forget: float = 0.37  # share of every option's tag forgotten per decision
    time_cost: float = 0.0  # urgency from the opportunity cost of time (reward rate / spread)
    value_shape: float = 0.85  # curvature of the learner's value of world reward (1: linear)


@struct.dataclass
class Decision:
    """One agent's decision (scalars; batched under ``vmap``)."""

    action: jnp.ndarray  # () int32, the chosen option (the leader on a timeout)
    ticks: jnp.ndarray  # () int32, deliberation ticks used (0 for an instant choice)
    timed_out: jnp.ndarray  # () bool, no commitment within max_ticks


NEG = -1e9


def drift(prefs: jnp.ndarray, mask: jnp.ndarray, bias: jnp.ndarray, params) -> jnp.ndarray:
    """Mean evidence per tick ``(K,)`` (0 for options not offered)."""
    v = prefs + params.marker_weight * bias
    n = jnp.maximum(mask.sum(), 1)
    centred = v - jnp.where(mask, v, 0.0).sum() / n
    return jnp.where(mask, params.drift_scale * centred, 0.0)


def deliberate(
    key: jax.Array,
    prefs: jnp.ndarray,
    mask: jnp.ndarray,
    bias: jnp.ndarray,
    urgency: jnp.ndarray,
    params: DeliberationParams,
    max_ticks: int,
) -> Decision:
    """Run the race for one decision (see module docstring).

    Args:
        key: PRNG key for the evidence noise.
        prefs: ``(K,)`` float32 action preferences (e.g. scaled action values).
        mask: ``(K,)`` bool, the options offered (at least one).
        bias: ``(K,)`` float32 affective marker bias per option.
        urgency: ``()`` float32 in ``[0, 1]`` from the affect module.
        params: :class:`DeliberationParams`.
        max_ticks: static deliberation budget (the deadline in ticks).

    Returns:
        :class:`Decision`.
    """
    if prefs.ndim != 1 or mask.shape != prefs.shape or bias.shape != prefs.shape:
        raise ValueError(
            f"deliberate: prefs{prefs.shape}, mask{mask.shape}, bias{bias.shape} "
            "must all be (K,)"
        )
    if not isinstance(max_ticks, int) or max_ticks < 1:
        raise ValueError(f"deliberate: max_ticks must be a positive int, got {max_ticks!r}")
    k = prefs.shape[0]
    mask = mask.astype(bool)
    mu = drift(prefs, mask, bias, params)
    eps = jax.random.normal(key, (max_ticks, k), jnp.float32)
    x = jnp.cumsum(mu[None, :] + params.noise * eps, axis=0)  # (T, K)
    x = jnp.where(mask[None, :], x, NEG)
    if k > 1:
        top2 = jax.lax.top_k(x, 2)[0]  # (T, 2)
        lead = top2[:, 0] - top2[:, 1]
    else:
        lead = jnp.full((max_ticks,), jnp.inf)
    lead = jnp.where(mask.sum() > 1, lead, jnp.inf)
    t = jnp.arange(1, max_ticks + 1, dtype=jnp.float32)
    gate = 1.0 + params.urgency_gain * jnp.clip(urgency, 0.0, 1.0) * elapsed(t, params)
    crossed = gate * lead >= params.bound
    any_cross = crossed.any()
    first = jnp.argmax(crossed)  # first True (0 if none)
    idx = jnp.where(any_cross, first, max_ticks - 1)
    action = jnp.argmax(x[idx]).astype(jnp.int32)
    return Decision(
        action=action,
        ticks=(idx + 1).astype(jnp.int32),
        timed_out=~any_cross,
    )


def elapsed(t: jnp.ndarray, params: DeliberationParams) -> jnp.ndarray:
    """The time term of the urgency gate: ``t * (t / urgency_ticks) ** (urgency_shape - 1)``.
    Linear (``shape = 1``, Cisek et al. 2009), or flat at first and collapsing later
    (``shape > 1``): the shape of the bound that is optimal when evidence reliability is
    unknown and time costs (Drugowitsch et al. 2012), fitted to people as a delayed
    Weibull collapse (Hawkins et al. 2015)."""
    return t * (t / params.urgency_ticks) ** (params.urgency_shape - 1.0)


def instant(key: jax.Array, prefs: jnp.ndarray, mask: jnp.ndarray) -> Decision:
    """Softmax choice over the offered options, without deliberation (``ticks = 0``)."""
    logits = jnp.where(mask.astype(bool), prefs, NEG)
    return Decision(
        action=jax.random.categorical(key, logits).astype(jnp.int32),
        ticks=jnp.zeros((), jnp.int32),
        timed_out=jnp.zeros((), bool),
    )


def first_passage_mean_zero_drift(bound: float, noise: float) -> float:
    """Expected ticks for a two-option race with zero drift and no urgency.

    The lead ``x_1 - x_2`` is a random walk with variance ``2 noise^2`` per tick that
    stops at ``|lead| >= bound``; in the diffusion limit ``E[T] = bound^2 / (2 noise^2)``.
    """
    return bound**2 / (2.0 * noise**2)


def update_markers(
    markers: jnp.ndarray, action: jnp.ndarray, chosen: jnp.ndarray, tag: jnp.ndarray, decay,
    rate=1.0, forget=0.0,
) -> jnp.ndarray:
    """Affective tags per option ``(K,)``: the chosen option's tag becomes
    ``decay * m[action] + rate * tag``; then every tag loses the share ``forget``.

    With ``rate = 1`` and ``forget = 0`` (model v1) a tag is a leaky *sum* of the option's
    felt outcomes, which grows to ``1 / (1 - decay)`` times a repeated outcome. With
    ``rate = 1 - decay`` it is a delta-rule *average* (Rescorla & Wagner 1972): the tag
    tracks the felt outcome the option brings, in the outcome's own units, as the
    expected-outcome learners fitted to the IGT do (Busemeyer & Stout 2002; Ahn et al.
    2008). ``forget > 0`` lets tags fade with time, chosen or not (the decay-reinforcement
    rule of Erev & Roth 1998, fitted to the IGT by Ahn et al. 2008): an avoided deck's
    marker weakens, so the option is tried again.

    ``tag`` is the felt outcome of the decision (each channel's, ungated:
    :attr:`affect.module.AffectOutput.tags`): the anticipatory marker an option carries
    into later decisions is what it made the agent feel before (Damasio's somatic
    marker as an associative trace, a leaky sum of the option's own felt outcomes).
    Like an association it fades by re-experience (extinction), not while other
    options are chosen. Nothing is tagged when ``chosen`` is False (a missed deadline
    chose nothing).
    """
    k = markers.shape[0]
    hit = jax.nn.one_hot(action, k, dtype=bool) & chosen.astype(bool)
    return (1.0 - forget) * jnp.where(hit, decay * markers + rate * tag, markers)
