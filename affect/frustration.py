"""The frustration channel: impatience with stalled progress.

Frustration builds when progress stalls and decays with progress (Amsel 1958's
frustrative non-reward; Carver & Scheier 1990: affect tracks the *rate* of progress
toward a goal). For one agent, with the stall of a transition

    stall = clip(miss_weight * missed + loss_weight * loss + td_weight * max(-td_error, 0), 0, 1)

(a missed deadline, a loss, a worse-than-expected outcome), the frustration level is a
leaky average ``f' = decay * f + (1 - decay) * stall``. The channel sees no states: a
world reports any step that brought no progress (a missed deadline; in a world that
tracks them, a return to a state already visited without gain) through
``Signals.missed``.

Outputs:

* ``feelings = [f', stall]``;
* ``reward = -reward_scale * (miss_weight * missed + loss_weight * loss)``: the
  outcome-evoked feeling of a setback, in proportion to its size (a $1,250 loss hurts
  more than a $150 one); prediction errors change the mood, not the felt outcome;
* ``marker = -marker_scale * f'``: a frustrated state is worse off;
* ``urgency = clip(rest_urgency + f', 0, 1)``: time without progress is felt as a cost
  even at rest, and more so when frustrated. During deliberation no progress is made,
  so the decision process (:mod:`affect.deliberation`) collapses its bound at this rate
  (urgency gating);
* ``log_temperature = temperature_sensitivity * f'``: frustration raises exploration;
  ``log_discount = 0``.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import struct

from affect.channels import Channel, ChannelOutput, LearningSignals, register_channel


@struct.dataclass
class FrustrationParams:
    """Parameters of the frustration channel (see the module docstring for each field's role)."""

    rest_urgency: float = 0.3  # urgency felt at zero frustration (time is a cost)
    decay: float = 0.8  # retention of the frustration level per step
    miss_weight: float = 1.0  # stall from a missed deadline
    loss_weight: float = 1.0  # stall per unit of loss
    td_weight: float = 1.0  # stall per unit of negative prediction error
    reward_scale: float = 1.0  # weight of the felt setback
    marker_scale: float = 0.5  # weight of the value prior -f
    temperature_sensitivity: float = 0.5  # log-temperature rise at full frustration


def stall(params: FrustrationParams, signals, learning: LearningSignals) -> jnp.ndarray:
    """How much a transition stalled progress, in ``[0, 1]``."""
    setback = params.miss_weight * signals.missed + params.loss_weight * signals.loss
    disappointment = params.td_weight * jnp.maximum(-learning.td_error, 0.0)
    return jnp.clip(setback + disappointment, 0.0, 1.0).astype(jnp.float32)


def init(params: FrustrationParams) -> jnp.ndarray:
    """The channel's state before the first step: no frustration, no tags."""
    del params
    return jnp.zeros((), jnp.float32)


def step(params: FrustrationParams, state, signals, learning: LearningSignals):
    """One step of the frustration channel for one agent (see module docstring)."""
    s = stall(params, signals, learning)
    f = params.decay * state + (1.0 - params.decay) * s
    setback = params.miss_weight * signals.missed + params.loss_weight * signals.loss
    setback = jnp.maximum(setback, 0.0)  # felt in proportion to the size of the loss
    out = ChannelOutput(
        feelings=jnp.stack([f, s]).astype(jnp.float32),
        reward=(-params.reward_scale * setback).astype(jnp.float32),
        marker=(-params.marker_scale * f).astype(jnp.float32),
        urgency=jnp.clip(params.rest_urgency + f, 0.0, 1.0).astype(jnp.float32),
        log_temperature=(params.temperature_sensitivity * f).astype(jnp.float32),
        log_discount=jnp.zeros((), jnp.float32),
    )
    return f.astype(jnp.float32), out


FRUSTRATION = register_channel(
    Channel(
        name="frustration",
        num_features=2,
        default_params=FrustrationParams,
        init=init,
        step=step,
        doc="impatience with stalled progress; raises urgency and exploration",
    )
)
