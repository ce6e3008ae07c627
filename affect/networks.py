"""The agent's learned networks (Flax): separate actor and critic MLPs.

The critic outputs the *residual* value ``U(x)``; the agent's value is
``V(s) = Phi(s) + U(x)`` where ``Phi`` is the affect module's innate value prior.
Inputs ``x`` are the world's observation concatenated with the (gain-scaled) feelings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class ActorCritic(nn.Module):
    """Actor logits ``(..., num_actions)`` and residual value ``(...,)`` from ``x (..., D)``."""

    num_actions: int
    hidden: Sequence[int] = (64, 64)

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
        ortho = nn.initializers.orthogonal
        zeros = nn.initializers.zeros
        actor = _torso(x, self.hidden, "actor")
        logits = nn.Dense(self.num_actions, kernel_init=ortho(0.01), bias_init=zeros, name="pi")(
            actor
        )
        critic = _torso(x, self.hidden, "critic")
        u = nn.Dense(1, kernel_init=ortho(1.0), bias_init=zeros, name="v")(critic)
        return logits, u[..., 0]


def _torso(x: jnp.ndarray, hidden: Sequence[int], prefix: str) -> jnp.ndarray:
    """Tanh MLP with orthogonal(sqrt 2) kernels; call inside a compact module."""
    for i, width in enumerate(hidden):
        dense = nn.Dense(
            width,
            kernel_init=nn.initializers.orthogonal(math.sqrt(2)),
            bias_init=nn.initializers.zeros,
            name=f"{prefix}_{i}",
        )
        x = nn.tanh(dense(x))
    return x


def init_params(network: ActorCritic, key: jax.Array, input_dim: int):
    """Parameters for one seed. Call this *outside* any ``vmap`` over seeds: batched QR
    (orthogonal init) inside ``jit(vmap(...))`` can deadlock XLA:CPU on 2 cores."""
    return network.init(key, jnp.zeros((input_dim,), jnp.float32))
