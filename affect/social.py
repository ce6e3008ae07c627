"""The social-standing channel: how the others see me, felt.

Felt standing follows the regard the world reports (``Signals.regard``, the agent's
standing in the eyes of the others, in ``[-1, 1]``) as a leaky average, so a single act
moves it only part of the way:

    s' = decay * s + (1 - decay) * regard

* ``feelings = [s', s' - s]``: felt standing and its change;
* ``reward = pride_scale * (s' - s) - refusal_pain * refused``: pride when standing
  rises, shame when it falls (the self-conscious emotions as the felt change of social
  value; Tracy & Robins 2004), and the sting of being refused or kept away;
* ``marker = marker_scale * s'``: the value prior ``Phi`` of a state is the standing
  felt in it, a built-in value for consequences that arrive late and through others
  (being refused help, being excluded);
* no urgency and no modulation.

In a world without others ``regard`` stays 0 and the channel is silent.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import struct

from affect.channels import Channel, ChannelOutput, LearningSignals, register_channel


@struct.dataclass
class SocialParams:
    """Parameters of the social-standing channel (see the module docstring)."""

    decay: float = 0.8  # retention of felt standing per step
    pride_scale: float = 1.0  # felt reward per unit rise of felt standing
    refusal_pain: float = 0.2  # felt reward lost when refused
    marker_scale: float = 1.0  # value prior per unit of felt standing


def init(params: SocialParams) -> jnp.ndarray:
    """The channel's state before the first step: a newcomer's felt standing."""
    del params
    return jnp.zeros((), jnp.float32)


def step(params: SocialParams, state, signals, learning: LearningSignals):
    """One step of the social channel for one agent (see module docstring)."""
    del learning
    felt = params.decay * state + (1.0 - params.decay) * signals.regard
    change = felt - state
    out = ChannelOutput(
        feelings=jnp.stack([felt, change]).astype(jnp.float32),
        reward=(params.pride_scale * change - params.refusal_pain * signals.refused).astype(
            jnp.float32
        ),
        marker=(params.marker_scale * felt).astype(jnp.float32),
        urgency=jnp.zeros((), jnp.float32),
        log_temperature=jnp.zeros((), jnp.float32),
        log_discount=jnp.zeros((), jnp.float32),
    )
    return felt.astype(jnp.float32), out


SOCIAL = register_channel(
    Channel(
        name="social",
        num_features=2,
        default_params=SocialParams,
        init=init,
        step=step,
        doc="felt standing from others' regard; pride and shame as its change",
    )
)
