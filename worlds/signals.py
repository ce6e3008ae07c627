"""The body and the events a world reports every step.

Every world fills one :class:`Signals` pytree per step, with a leading agent axis.
Fields a world has no use for stay at zero. The world reports the body; it never
computes a feeling: affect channels (``affect/``) turn these numbers into feelings,
so a lesion removes the feeling while the body (and starvation) stays.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import struct

BOOL_FIELDS = ("starved", "alive", "missed", "seen", "refused")  # the rest are float32


@struct.dataclass
class Signals:
    """Body and events of one transition, per agent.

    All fields have shape ``(num_agents,)``.

    Attributes:
        energy: float32, energy after the step (the body now), in ``[0, max_energy]``.
        energy_prev: float32, energy before the step.
        ate: float32, energy taken in by eating during the step (0 if nothing eaten).
        overate: float32, amount eaten past the world's satiety threshold.
        starved: bool, the agent starved on this step.
        alive: bool, the agent is alive after the step.
        loss: float32, size of a loss the agent suffered on the step (>= 0; 0 if none).
        missed: bool, the step brought no progress the agent was waiting for (e.g. a
            decision deadline passed without a response).
        hazard: float32 in ``[0, 1]``, how close a threat is after the step (0: none in
            sight), for worlds with hazards and for channels such as fear.
        shared: float32, energy the agent gave to others in the step.
        took: float32, energy the agent took from others in the step.
        seen: bool, another agent saw the agent share or take in the step.
        refused: bool, the agent was refused (help denied, or kept away from food).
        regard: float32 in ``[-1, 1]``, how the others regard the agent after the step
            (its standing; 0 in worlds without others).
    """

    energy: jnp.ndarray  # (A,) f32
    energy_prev: jnp.ndarray  # (A,) f32
    ate: jnp.ndarray  # (A,) f32
    overate: jnp.ndarray  # (A,) f32
    starved: jnp.ndarray  # (A,) bool
    alive: jnp.ndarray  # (A,) bool
    loss: jnp.ndarray  # (A,) f32
    missed: jnp.ndarray  # (A,) bool
    hazard: jnp.ndarray  # (A,) f32
    shared: jnp.ndarray  # (A,) f32
    took: jnp.ndarray  # (A,) f32
    seen: jnp.ndarray  # (A,) bool
    refused: jnp.ndarray  # (A,) bool
    regard: jnp.ndarray  # (A,) f32

    @classmethod
    def of(cls, energy, **fields) -> Signals:
        """Signals with the given fields and the rest at rest: ``energy_prev = energy``,
        no events (zeros, ``False``), ``alive = not starved``. Unknown names raise."""
        energy = jnp.asarray(energy, jnp.float32)
        unknown = set(fields) - set(cls.__dataclass_fields__)
        if unknown:
            raise TypeError(
                f"Signals has no field(s) {sorted(unknown)}; fields: "
                f"{list(cls.__dataclass_fields__)}"
            )
        rest = cls.at_rest(energy)
        out = {}
        for name in cls.__dataclass_fields__:
            default = getattr(rest, name)
            value = fields.get(name, default)
            out[name] = jnp.broadcast_to(jnp.asarray(value, default.dtype), energy.shape)
        if "alive" not in fields and "starved" in fields:
            out["alive"] = ~out["starved"]
        return cls(**out)

    @classmethod
    def at_rest(cls, energy: jnp.ndarray) -> Signals:
        """Signals of a body that has just appeared: no events, energy unchanged."""
        energy = jnp.asarray(energy, jnp.float32)
        zeros = jnp.zeros_like(energy)
        return cls(
            energy=energy,
            energy_prev=energy,
            ate=zeros,
            overate=zeros,
            starved=jnp.zeros(energy.shape, bool),
            alive=jnp.ones(energy.shape, bool),
            loss=zeros,
            missed=jnp.zeros(energy.shape, bool),
            hazard=zeros,
            shared=zeros,
            took=zeros,
            seen=jnp.zeros(energy.shape, bool),
            refused=jnp.zeros(energy.shape, bool),
            regard=zeros,
        )
