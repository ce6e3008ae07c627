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
        a = x
        for i, width in enumerate(self.hidden):
            a = nn.Dense(
                width, kernel_init=ortho(math.sqrt(2)), bias_init=zeros, name=f"actor_{i}"
            )(a)
            a = nn.tanh(a)
        logits = nn.Dense(self.num_actions, kernel_init=ortho(0.01), bias_init=zeros, name="pi")(a)
        c = x
        for i, width in enumerate(self.hidden):
            c = nn.Dense(
                width, kernel_init=ortho(math.sqrt(2)), bias_init=zeros, name=f"critic_{i}"
            )(c)
            c = nn.tanh(c)
        u = nn.Dense(1, kernel_init=ortho(1.0), bias_init=zeros, name="v")(c)
        return logits, u[..., 0]


def init_params(network: ActorCritic, key: jax.Array, input_dim: int):
    """Parameters for one seed. Call this *outside* any ``vmap`` over seeds: batched QR
    (orthogonal init) inside ``jit(vmap(...))`` can deadlock XLA:CPU on 2 cores."""
    return network.init(key, jnp.zeros((input_dim,), jnp.float32))
