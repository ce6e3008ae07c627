"""Lesions are data: per-channel, per-output gains in [0, 1] and an onset.

A :class:`Lesion` is the readable spec (``Lesion("no-hunger", {"hunger": 0.0})``);
``lesion.to_data(module)`` turns it into :class:`LesionData`, a pytree of arrays, so
intact, full, selective and graded lesions ``vmap`` together in one compiled program.

Onsets:

* ``developmental``: the gains apply during training and evaluation (the agent never
  had the channel);
* ``acquired``: the agent trains intact and the gains apply only after training.

A gain may be given per channel (``{"hunger": 0.0}``: every output of the channel) or
per output (``{"hunger": {"marker": 0.0}}``: only the anticipatory marker), with the
outputs of :data:`affect.channels.OUTPUTS`.

In a multi-agent world a lesion may be carried by chosen agents only
(``Lesion("one-lesioned", {"social": 0.0}, agents=(0,))``: agent 0 lesioned, the others
intact): a mixed population.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np
from flax import struct

from affect.channels import OUTPUTS

ONSETS: tuple[str, ...] = ("developmental", "acquired")
MAX_AGENTS = 16  # the largest population a lesion can address (static mask length)


@struct.dataclass
class LesionData:
    """Array form of a lesion.

    Attributes:
        gains: float32 ``(num_channels, len(OUTPUTS))``, rows in the module's channel order.
        acquired: bool ``()``, True if the lesion applies only after training.
    """

    gains: jnp.ndarray
    acquired: jnp.ndarray
    agents: jnp.ndarray = None  # (MAX_AGENTS,) bool: which agents carry the lesion

    def train_gains(self) -> jnp.ndarray:
        """Gains in force during training (all ones for an acquired lesion)."""
        return jnp.where(self.acquired, jnp.ones_like(self.gains), self.gains)

    def eval_gains(self) -> jnp.ndarray:
        """Gains in force after training."""
        return self.gains

    def per_agent(self, gains: jnp.ndarray, num_agents: int) -> jnp.ndarray:
        """``(num_agents, C, K)``: ``gains`` for the agents that carry the lesion, ones
        (intact) for the others."""
        carries = (
            jnp.ones((num_agents,), bool) if self.agents is None else self.agents[:num_agents]
        )
        return jnp.where(carries[:, None, None], gains[None], jnp.ones_like(gains)[None])


def _check_gain(where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise TypeError(f"{where}: gain must be a number in [0, 1], got {value!r}")
    value = float(value)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{where}: gain must lie in [0, 1], got {value}")
    return value


@dataclass(frozen=True)
class Lesion:
    """A named lesion condition.

    Args:
        name: condition label used in results (e.g. ``"intact"``, ``"hunger-lesion"``).
        gains: ``{channel: gain}`` or ``{channel: {output: gain}}``; channels not named
            keep gain 1.
        onset: ``"developmental"`` or ``"acquired"``.
        agents: in a multi-agent world, the agent indices that carry the lesion (the
            others stay intact); ``None``: every agent.
    """

    name: str = "intact"
    gains: Mapping[str, float | Mapping[str, float]] = field(default_factory=dict)
    onset: str = "developmental"
    agents: tuple[int, ...] | None = None

    def check_agents(self, num_agents: int) -> None:
        """Raise ``ValueError`` if ``agents`` names an agent the world does not have."""
        if self.agents is None:
            return
        if isinstance(self.agents, str | bytes) or not hasattr(self.agents, "__iter__"):
            raise TypeError(f"lesion {self.name!r}: agents must be a tuple of ints, got "
                            f"{self.agents!r}")
        ids = list(self.agents)
        if not ids:
            raise ValueError(f"lesion {self.name!r}: agents is empty (use None for all)")
        for a in ids:
            if isinstance(a, bool) or not isinstance(a, int | np.integer):
                raise TypeError(f"lesion {self.name!r}: agent id {a!r} is not an int")
            if not 0 <= a < num_agents:
                raise ValueError(
                    f"lesion {self.name!r}: unknown agent id {a}; the world has "
                    f"{num_agents} agent(s), ids 0..{num_agents - 1}"
                )

    def validate(self, channel_names: tuple[str, ...]) -> None:
        """Raise a clear error for unknown channels/outputs/onsets or gains out of range."""
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"lesion name must be a non-empty string, got {self.name!r}")
        if self.onset not in ONSETS:
            close = difflib.get_close_matches(str(self.onset), ONSETS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"lesion {self.name!r}: unknown onset {self.onset!r}.{hint} Use one of {ONSETS}"
            )
        if not isinstance(self.gains, Mapping):
            raise TypeError(f"lesion {self.name!r}: gains must be a mapping, got {self.gains!r}")
        for channel, value in self.gains.items():
            if channel not in channel_names:
                close = difflib.get_close_matches(str(channel), channel_names, n=3, cutoff=0.4)
                hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
                raise KeyError(
                    f"lesion {self.name!r}: unknown channel {channel!r}.{hint} "
                    f"The agent's channels: {', '.join(channel_names) or '(none)'}"
                )
            if isinstance(value, Mapping):
                for output, g in value.items():
                    if output not in OUTPUTS:
                        raise KeyError(
                            f"lesion {self.name!r}: channel {channel!r} has no output "
                            f"{output!r}; outputs: {', '.join(OUTPUTS)}"
                        )
                    _check_gain(f"lesion {self.name!r}, {channel}.{output}", g)
            else:
                _check_gain(f"lesion {self.name!r}, channel {channel!r}", value)

    def gain_matrix(self, channel_names: tuple[str, ...]) -> np.ndarray:
        """``(num_channels, len(OUTPUTS))`` float32 gains (validated)."""
        self.validate(channel_names)
        gains = np.ones((len(channel_names), len(OUTPUTS)), np.float32)
        for channel, value in self.gains.items():
            row = channel_names.index(channel)
            if isinstance(value, Mapping):
                for output, g in value.items():
                    gains[row, OUTPUTS.index(output)] = float(g)
            else:
                gains[row, :] = float(value)
        return gains

    def to_data(self, channel_names: tuple[str, ...]) -> LesionData:
        """This lesion as :class:`LesionData` (gain arrays over ``channels``), ready to stack and
        vmap."""
        self.check_agents(MAX_AGENTS)
        carries = np.ones(MAX_AGENTS, bool)
        if self.agents is not None:
            carries[:] = False
            carries[list(self.agents)] = True
        return LesionData(
            gains=jnp.asarray(self.gain_matrix(channel_names)),
            acquired=jnp.asarray(self.onset == "acquired"),
            agents=jnp.asarray(carries),
        )


INTACT = Lesion("intact")


def stack_lesions(lesions: list[Lesion], channel_names: tuple[str, ...]) -> LesionData:
    """Stack several lesions into one :class:`LesionData` with a leading condition axis."""
    data = [lesion.to_data(channel_names) for lesion in lesions]
    return LesionData(
        gains=jnp.stack([d.gains for d in data]),
        acquired=jnp.stack([d.acquired for d in data]),
        agents=jnp.stack([d.agents for d in data]),
    )
