"""Evaluation episodes with frozen parameters: ``eval/*`` measures of a trained agent.

:func:`make_evaluate` returns ``evaluate(key, net_params, gains) -> dict``: one episode
in each of ``config.eval_envs`` worlds (up to the world's time limit) with the
stochastic policy; only each world's first episode counts. In a multi-agent world every
agent is one stream: its episode ends when it dies or the world ends, and the measures
are means over agents and worlds.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from affect.channels import LearningSignals
from affect.module import AffectOutput
from affect.policy import (
    Static,
    gains_axis,
    observe,
    policy_value,
    setpoint_of,
    squeeze_agent,
    tile_agent_gains,
)


@struct.dataclass
class EvalCarry:
    """What an evaluation episode carries from step to step (``M`` streams: worlds x
    agents, world-major)."""

    obs: jnp.ndarray  # (M, D) f32
    env_state: Any  # world state, batched over worlds
    aff_state: Any  # affect channel states, (M,)
    aff: AffectOutput  # affect outputs for the current observation, (M,)
    active: jnp.ndarray  # (M,) bool, the stream's first episode is still running
    ret: jnp.ndarray  # (M,) f32 world return so far
    length: jnp.ndarray  # (M,) f32 steps so far
    starved: jnp.ndarray  # (M,) bool, the episode ended in starvation
    success: jnp.ndarray  # (M,) bool, the episode ended in another terminal state (a goal)
    dev: jnp.ndarray  # (M,) f32 summed |energy - set-point| while alive


def make_evaluate(static: Static, world_params, affect_params, obs_noise: float = 0.0):
    """Return ``evaluate(key, net_params, gains) -> dict`` of ``eval/*`` scalars.

    ``obs_noise``: standard deviation of Gaussian noise added to what the agent sees
    (its observation, not the world state or the body signals). ``gains`` are ``(C, K)``
    (every agent) or per agent ``(agents, C, K)``. See the module docstring.
    """
    horizon = int(world_params.time_limit)
    return partial(evaluate, static, world_params, affect_params, obs_noise, horizon)


def evaluate(static: Static, world_params, affect_params, obs_noise: float, horizon: int,
             key: jax.Array, net_params, gains: jnp.ndarray) -> dict[str, jnp.ndarray]:
    """``eval/*`` scalars of ``horizon`` steps of evaluation episodes (see
    :func:`make_evaluate`)."""
    n = static.config.eval_envs
    gains = tile_agent_gains(gains, n)
    key, k_reset = jax.random.split(key)
    obs, env_state = jax.vmap(static.world.reset, (0, None))(jax.random.split(k_reset, n),
                                                             world_params)
    aff_state, aff = observe(static, affect_params, squeeze_agent(env_state.signals), gains)
    m = n * static.world.num_agents
    zeros = jnp.zeros((m,), jnp.float32)
    carry = EvalCarry(obs=squeeze_agent(obs), env_state=env_state, aff_state=aff_state, aff=aff,
                      active=jnp.ones((m,), bool), ret=zeros, length=zeros,
                      starved=jnp.zeros((m,), bool), success=jnp.zeros((m,), bool), dev=zeros)
    step = partial(eval_step, static, world_params, affect_params, obs_noise,
                   setpoint_of(affect_params), net_params, gains)
    carry, _ = jax.lax.scan(step, carry, jax.random.split(key, horizon))
    return {
        "eval/episode_return": carry.ret.mean(),
        "eval/survival": 1.0 - carry.starved.mean(),
        # episodes that reached a terminal state other than starvation (a goal)
        "eval/success": carry.success.mean(),
        "eval/episode_length": carry.length.mean(),
        "eval/homeostatic_deviation": (carry.dev / jnp.maximum(carry.length, 1)).mean(),
    }


def eval_step(static: Static, world_params, affect_params, obs_noise: float, setpoint: float,
              net_params, gains: jnp.ndarray, carry: EvalCarry, k: jax.Array):
    """One step of every evaluation stream: act, step the worlds, feel, count."""
    n, n_agents = static.config.eval_envs, static.world.num_agents
    m = n * n_agents
    k_act, k_step = jax.random.split(k)
    obs = carry.obs
    if obs_noise:
        obs = obs + obs_noise * jax.random.normal(jax.random.fold_in(k, 7), obs.shape)
    logits, _, _ = policy_value(static, net_params, obs, carry.aff)
    action = jax.random.categorical(k_act, logits)
    obs, env_state, reward, term, trunc, info = jax.vmap(static.world.step, (0, 0, 0, None))(
        jax.random.split(k_step, n), carry.env_state, action.reshape(n, n_agents), world_params)
    reward, term = reward.reshape(m), term.reshape(m)
    sig = squeeze_agent(info["signals"])
    learning = LearningSignals(reward=reward, td_error=jnp.zeros((m,)))
    aff_state, aff_tr = jax.vmap(static.module.step, (None, 0, 0, 0, gains_axis(gains)))(
        affect_params, carry.aff_state, sig, learning, gains
    )
    active = carry.active
    done_now = active & term
    new_active = active & ~jnp.repeat(info["done"], n_agents)
    if n_agents > 1:  # an agent's episode ends when it dies
        new_active = new_active & ~term
    return carry.replace(
        obs=squeeze_agent(obs), env_state=env_state, aff_state=aff_state, aff=aff_tr,
        active=new_active, ret=carry.ret + active * reward, length=carry.length + active,
        starved=carry.starved | (done_now & sig.starved),
        success=carry.success | (done_now & ~sig.starved),
        dev=carry.dev + active * jnp.abs(sig.energy - setpoint) * ~sig.starved,
    ), None
