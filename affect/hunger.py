"""The hunger channel: a homeostatic drive around a set-point.

Keramati & Gutkin (2014), "Homeostatic reinforcement learning for integrating reward
collection and physiological stability", eLife 3:e04811. For one internal variable
(energy ``h``) with set-point ``h*`` the drive is

    D(h) = |h* - h| ** (n / m)          (their eq. 1 with one dimension)

and the reward of a transition ``h_t -> h_{t+1}`` is drive reduction

    r = D(h_t) - D(h_{t+1})             (their eq. 2).

The default set-point is full energy: a drive calibrated for scarcity, where storing
energy keeps an animal alive. With a set-point below the cap, the felt reward punishes
eating when nearly full; in the scarce ``Foraging-v0`` (a one-seed check at 1 M steps)
that made intact agents starve more often than lesioned ones. Under abundance with an
overeating cost, the scarcity-calibrated drive can misfire instead.

Outputs (per agent):

* ``feelings = [D(h)/D(0), D(h_t) - D(h_{t+1})]``: felt hunger and the felt change;
* ``reward = reward_scale * (D(h_t) - D(h_{t+1}))``: the felt reward;
* ``marker = -marker_scale * D(h_{t+1})``: the innate value prior of the body reached
  (a hungrier body is worse off);
* ``urgency = clip(D(h)/D(0), 0, 1)`` when the body is below the set-point, else 0;
* ``log_temperature = -temperature_sensitivity * urgency`` (hunger sharpens the
  policy), ``log_discount = log(1 - discount_sensitivity * urgency)`` (hunger makes
  the agent more present-focused; off by default).
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import struct

from affect.channels import Channel, ChannelOutput, LearningSignals, register_channel


@struct.dataclass
class HungerParams:
    """Parameters of the hunger channel: the set-point and shape of the homeostatic drive (see
    the module docstring)."""

    setpoint: float = 1.0  # h*: full energy (a drive evolved under scarcity)
    n: float = 4.0  # Keramati & Gutkin's n (> m > 1)
    m: float = 2.0  # Keramati & Gutkin's m
    reward_scale: float = 1.0  # weight of the felt (drive-reduction) reward
    marker_scale: float = 1.0  # weight of the value prior -D(h)
    temperature_sensitivity: float = 0.5  # log-temperature drop at full urgency
    discount_sensitivity: float = 0.0  # fractional discount drop at full urgency


def drive(params: HungerParams, energy: jnp.ndarray) -> jnp.ndarray:
    """Homeostatic drive ``D(h) = |h* - h| ** (n/m)``; same shape as ``energy``."""
    return jnp.abs(params.setpoint - energy) ** (params.n / params.m)


def drive_reduction(
    params: HungerParams, energy_prev: jnp.ndarray, energy: jnp.ndarray
) -> jnp.ndarray:
    """Felt reward of a transition: ``D(h_t) - D(h_{t+1})`` (Keramati & Gutkin eq. 2)."""
    return drive(params, energy_prev) - drive(params, energy)


def init(params: HungerParams) -> tuple:
    """The channel's state before the first step."""
    del params
    return ()


def step(params: HungerParams, state: tuple, signals, learning: LearningSignals):
    """One step of the hunger channel for one agent (see module docstring)."""
    del learning
    energy = jnp.asarray(signals.energy, jnp.float32)
    d_now = drive(params, energy)
    d_max = jnp.maximum(drive(params, jnp.zeros_like(energy)), 1e-8)
    reduction = drive_reduction(params, signals.energy_prev, energy)
    urgency = jnp.where(energy < params.setpoint, jnp.clip(d_now / d_max, 0.0, 1.0), 0.0)
    out = ChannelOutput(
        feelings=jnp.stack([d_now / d_max, reduction]).astype(jnp.float32),
        reward=(params.reward_scale * reduction).astype(jnp.float32),
        marker=(-params.marker_scale * d_now).astype(jnp.float32),
        urgency=urgency.astype(jnp.float32),
        log_temperature=(-params.temperature_sensitivity * urgency).astype(jnp.float32),
        log_discount=jnp.log1p(-params.discount_sensitivity * urgency).astype(jnp.float32),
    )
    return state, out


HUNGER = register_channel(
    Channel(
        name="hunger",
        num_features=2,
        default_params=HungerParams,
        init=init,
        step=step,
        doc="homeostatic energy drive; felt reward is drive reduction (Keramati & Gutkin 2014)",
    )
)
