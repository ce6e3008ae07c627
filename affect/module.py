"""The affect module: channels composed into feelings, a value prior, urgency and
neuromodulation, each scaled by lesion gains.

For gains ``g[c, k]`` (channel ``c``, output ``k`` of :data:`~affect.channels.OUTPUTS`):

* ``feelings = concat_c(g[c, feelings] * feelings_c)``: a lesioned channel's features
  are exactly 0 (the shape stays, so all conditions compile together);
* ``reward = sum_c g[c, reward] * reward_c``: felt reward added to the extrinsic reward;
* ``marker = sum_c g[c, marker] * marker_c``: the innate value prior ``Phi``;
* ``urgency = max_c g[c, urgency] * urgency_c``;
* ``tags[c] = reward_c`` (ungated): each channel's felt outcome, which the agent stores
  as per-option affective tags; their influence on later choices is gated by
  ``g[c, marker]`` when the tags are read (:func:`marker_bias`), so a marker lesion
  removes the anticipatory bias at once, however the tags were built;
* ``temperature = exp(sum_c g[c, modulation] * log_temperature_c)`` and
  ``discount = exp(sum_c g[c, modulation] * log_discount_c)``: multipliers on the
  agent's base temperature and discount (1 when no channel modulates).

A gain of 0 removes a channel's contribution exactly and a gain of 1 leaves it as is.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from affect.channels import OUTPUTS, ChannelOutput, LearningSignals, get_channel

_K = {name: i for i, name in enumerate(OUTPUTS)}


@struct.dataclass
class AffectOutput:
    """The composed outputs for one agent and one step."""

    feelings: jnp.ndarray  # (num_features,) f32
    reward: jnp.ndarray  # () f32, felt reward of the transition
    marker: jnp.ndarray  # () f32, value prior Phi of the state reached
    urgency: jnp.ndarray  # () f32 in [0, 1]
    temperature: jnp.ndarray  # () f32, multiplier on the policy temperature
    discount: jnp.ndarray  # () f32, multiplier on the discount
    tags: jnp.ndarray  # (num_channels,) f32, each channel's felt outcome (ungated)


class AffectModule:
    """A static composition of registered channels.

    Args:
        channels: channel names, in the order of the lesion gain rows.
    """

    def __init__(self, channels: tuple[str, ...] | list[str] = ("hunger",)):
        channels = tuple(channels)
        if len(set(channels)) != len(channels):
            raise ValueError(f"affect channels must be distinct, got {channels}")
        self.channels = tuple(get_channel(name) for name in channels)
        self.channel_names = channels
        self.num_features = sum(c.num_features for c in self.channels)

    def __repr__(self) -> str:
        return f"AffectModule(channels={self.channel_names})"

    def default_params(self) -> dict[str, Any]:
        """Every channel's default parameters, ``{channel name: params}``."""
        return {c.name: c.default_params() for c in self.channels}

    def init(self, params: dict[str, Any]) -> tuple:
        """Per-channel states at the start of an episode (one agent)."""
        return tuple(c.init(params[c.name]) for c in self.channels)

    def full_gains(self) -> jnp.ndarray:
        """Gains of the intact module, ``(num_channels, len(OUTPUTS))``."""
        return jnp.ones((len(self.channels), len(OUTPUTS)), jnp.float32)

    def step(
        self,
        params: dict[str, Any],
        state: tuple,
        signals: Any,
        learning: LearningSignals,
        gains: jnp.ndarray,
    ) -> tuple[tuple, AffectOutput]:
        """Run every channel on one agent's transition and compose the outputs.

        Args:
            params: ``{channel name: channel params}``.
            state: tuple of channel states (from :meth:`init`).
            signals: one agent's :class:`~worlds.signals.Signals` (scalar fields).
            learning: the agent's :class:`~affect.channels.LearningSignals`.
            gains: ``(num_channels, len(OUTPUTS))`` lesion gains in force.
        """
        new_states, outs = [], []
        for channel, s in zip(self.channels, state, strict=True):
            s, out = channel.step(params[channel.name], s, signals, learning)
            new_states.append(s)
            outs.append(out)
        return tuple(new_states), compose(outs, gains)


def compose(outs: list[ChannelOutput], gains: jnp.ndarray) -> AffectOutput:
    """Compose channel outputs under ``gains`` (see module docstring)."""
    zero = jnp.zeros((), jnp.float32)
    if not outs:
        return AffectOutput(
            feelings=jnp.zeros((0,), jnp.float32),
            reward=zero,
            marker=zero,
            urgency=zero,
            temperature=jnp.ones((), jnp.float32),
            discount=jnp.ones((), jnp.float32),
            tags=jnp.zeros((0,), jnp.float32),
        )
    g = lambda c, k: gains[c, _K[k]]
    feelings = jnp.concatenate([g(c, "feelings") * o.feelings for c, o in enumerate(outs)])
    reward = sum(g(c, "reward") * o.reward for c, o in enumerate(outs))
    marker = sum(g(c, "marker") * o.marker for c, o in enumerate(outs))
    urgency = jnp.max(jnp.stack([g(c, "urgency") * o.urgency for c, o in enumerate(outs)]))
    log_t = sum(g(c, "modulation") * o.log_temperature for c, o in enumerate(outs))
    log_d = sum(g(c, "modulation") * o.log_discount for c, o in enumerate(outs))
    return AffectOutput(
        feelings=feelings.astype(jnp.float32),
        reward=jnp.asarray(reward, jnp.float32),
        marker=jnp.asarray(marker, jnp.float32),
        urgency=jnp.asarray(urgency, jnp.float32),
        temperature=jnp.exp(log_t).astype(jnp.float32),
        discount=jnp.exp(log_d).astype(jnp.float32),
        tags=jnp.stack([o.reward for o in outs]).astype(jnp.float32),
    )


def marker_bias(markers: jnp.ndarray, gains: jnp.ndarray) -> jnp.ndarray:
    """Anticipatory bias per option, ``(K,)``, from per-channel tags ``(C, K)``.

    ``bias[k] = sum_c g[c, marker] * markers[c, k]``.
    """
    return gains[:, _K["marker"]] @ markers


def reset_where(done: jnp.ndarray, fresh: Any, current: Any) -> Any:
    """Select ``fresh`` where ``done`` (scalar bool) else ``current``, leaf by leaf."""
    return jax.tree_util.tree_map(lambda f, c: jnp.where(done, f, c), fresh, current)
