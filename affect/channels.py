"""Affect channels: small pure functions with one signature.

A channel is a :class:`Channel` record holding

* ``init(params) -> state``: the channel's state at the start of an episode;
* ``step(params, state, signals, learning) -> (state, ChannelOutput)``.

Everything is written for *one* agent and *one* step (``signals`` fields are scalars);
``vmap`` at the call site. ``signals`` is a :class:`worlds.signals.Signals` of the
transition just made (the body now plus the events of the step); ``learning`` is a
:class:`LearningSignals` with the agent's own learning signals.

A channel returns a :class:`ChannelOutput`:

* ``feelings`` ``(num_features,)``: features the value network sees;
* ``reward`` ``()``: the outcome-evoked felt reward of the transition;
* ``marker`` ``()``: the anticipatory value prior ``Phi`` of the state reached;
* ``urgency`` ``()`` in ``[0, 1]``: how pressing the situation is;
* ``log_temperature`` and ``log_discount`` ``()``: neuromodulation of the agent's
  policy temperature and discount, as log-multipliers (Doya 2002); 0 means "no change".

Register new channels with :func:`register_channel`; ``CHANNELS`` maps names to records.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
from flax import struct


@struct.dataclass
class LearningSignals:
    """The agent's own learning signals handed to every channel (scalars).

    Attributes:
        reward: extrinsic reward of the transition.
        td_error: the most recent temporal-difference error the agent has computed.
    """

    reward: jnp.ndarray
    td_error: jnp.ndarray

    @classmethod
    def zeros(cls) -> LearningSignals:
        """All-zero learning signals for ``num_agents`` agents (before the first update)."""
        z = jnp.zeros((), jnp.float32)
        return cls(reward=z, td_error=z)


@struct.dataclass
class ChannelOutput:
    """What one channel reports for one agent and one step (see module docstring)."""

    feelings: jnp.ndarray  # (num_features,) f32
    reward: jnp.ndarray  # () f32
    marker: jnp.ndarray  # () f32
    urgency: jnp.ndarray  # () f32 in [0, 1]
    log_temperature: jnp.ndarray  # () f32
    log_discount: jnp.ndarray  # () f32


#: The lesionable outputs of a channel, in the order of a lesion's gain columns.
#: ``modulation`` covers both ``log_temperature`` and ``log_discount``.
OUTPUTS: tuple[str, ...] = ("feelings", "reward", "marker", "urgency", "modulation")


@dataclass(frozen=True)
class Channel:
    """A registered affect channel.

    Attributes:
        name: registry name.
        num_features: length of ``ChannelOutput.feelings`` (static).
        default_params: returns the channel's default params pytree.
        init: ``params -> state``.
        step: ``(params, state, signals, learning) -> (state, ChannelOutput)``.
        doc: one line.
    """

    name: str
    num_features: int
    default_params: Callable[[], Any]
    init: Callable[[Any], Any]
    step: Callable[..., tuple[Any, ChannelOutput]]
    doc: str = ""


CHANNELS: dict[str, Channel] = {}


def register_channel(channel: Channel) -> Channel:
    """Add a channel to the registry (its name must be new)."""
    if not channel.name.isidentifier():
        raise ValueError(f"channel name {channel.name!r} must be a Python identifier")
    if channel.name in CHANNELS:
        raise ValueError(f"channel {channel.name!r} is already registered")
    if not isinstance(channel.num_features, int) or channel.num_features < 0:
        raise ValueError(f"channel {channel.name!r}: num_features must be an int >= 0")
    CHANNELS[channel.name] = channel
    return channel


def get_channel(name: str) -> Channel:
    """Look up a channel, raising ``KeyError`` with close matches if unknown."""
    if name in CHANNELS:
        return CHANNELS[name]
    close = difflib.get_close_matches(name, list(CHANNELS), n=3, cutoff=0.4)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise KeyError(f"unknown affect channel {name!r}.{hint} Known: {', '.join(sorted(CHANNELS))}")
