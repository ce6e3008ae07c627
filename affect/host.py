"""PPO around a host-run (Gymnasium) world: the same agent, update and metrics.

A :class:`~worlds.gymnasium_world.GymnasiumWorld` runs in numpy, so the rollout cannot
live inside ``jax.lax.scan``. This module drives a Gymnasium vector environment from
Python and keeps every learning step compiled: acting (:func:`affect.ppo.policy_value`),
feeling (the affect module, batched), advantages (:func:`affect.ppo.advantages`) and the
PPO update (:func:`affect.ppo.update`) are the functions the JAX worlds use, on the same
:class:`~affect.ppo.Transition` layout, so the metrics have the same names and meaning.

``make_host_train(static, world_params, affect_params)`` returns ``train(key, net_params,
lesion) -> (params, metrics)`` like :func:`affect.ppo.make_train` (``metrics``: arrays
``(num_updates,)`` plus ``eval/*`` scalars); lesion gains are data, so conditions share
the compiled functions. The environments are seeded from ``key``, so a run is
reproducible.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from affect.channels import LearningSignals
from affect.lesion import LesionData
from affect.measures import rollout_metrics
from affect.module import reset_where
from affect.policy import Static, observe, policy_value, setpoint_of
from affect.ppo import RunnerState, advantages, make_transition, update
from worlds.gymnasium_world import GymStep


def policy_step(static: Static, params, obs, aff, key):
    """Sample actions ``(N,)`` and return them with their log-probabilities, values and
    temperatures (host rollouts)."""
    logits, temperature, value = policy_value(static, params, obs, aff)
    action = jax.random.categorical(key, logits)
    log_prob = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], -1)[:, 0]
    return action, log_prob, value, temperature


def feel_step(static: Static, affect_params, gains, aff_state, signals, learning, fresh_sig, done):
    """Affect of the step just taken, and of the fresh bodies where an episode ended."""
    module = static.module
    aff_state, aff_tr = jax.vmap(module.step, (None, 0, 0, 0, None))(
        affect_params, aff_state, signals, learning, gains
    )
    fresh_state, fresh = observe(static, affect_params, fresh_sig, gains)
    return (
        aff_tr,
        jax.vmap(reset_where)(done, fresh_state, aff_state),
        jax.vmap(reset_where)(done, fresh, aff_tr),
    )


def _stack_final(obs, info, done):
    """Pre-reset observations: ``final_obs`` where an episode ended (same-step reset)."""
    if not done.any():
        return obs
    final = np.array(obs, copy=True)
    for i in np.flatnonzero(done):
        final[i] = info["final_obs"][i]
    return final


class _Env:
    """A vector environment with the bookkeeping the signals function needs."""

    def __init__(self, world, n: int, seed: int):
        self.world, self.n = world, n
        self.env = world.make_vector_env(n)
        obs, info = self.env.reset(seed=seed)
        self.obs, self.t = obs, np.zeros(n, np.int64)
        zeros = np.zeros(n)
        self.energy = np.ones(n)
        sig = world.signals(GymStep(obs, zeros, zeros > 0, zeros > 0, info, self.t), self.energy)
        self.energy = np.asarray(sig.energy, float)
        self.signals = sig

    def step(self, action):
        obs, reward, term, trunc, info = self.env.step(np.asarray(action))
        done = term | trunc
        self.t = self.t + 1
        final = _stack_final(obs, info, done)
        sig = self.world.signals(
            GymStep(final, reward, term, trunc, info, self.t.copy()), self.energy
        )
        # fresh bodies for the environments that were reset in this step
        self.t = np.where(done, 0, self.t)
        zeros = np.zeros(self.n)
        fresh = self.world.signals(
            GymStep(obs, zeros, zeros > 0, zeros > 0, info, self.t.copy()), np.ones(self.n)
        )
        fresh_energy = np.asarray(fresh.energy, float)
        self.energy = np.where(done, fresh_energy, np.asarray(sig.energy, float))
        self.obs = obs
        return final, reward.astype(np.float32), term, trunc, done, sig, fresh

    def close(self):
        self.env.close()


def make_host_train(static: Static, world_params, affect_params):
    """Return ``train(key, net_params, lesion) -> (params, metrics)`` (module docstring)."""
    world, cfg = static.world, static.config
    if not getattr(world, "host", False):
        raise TypeError(f"{world.name} is a JAX world: train it with affect.ppo.make_train")
    setpoint = setpoint_of(affect_params)
    act = jax.jit(partial(policy_step, static))
    feel = jax.jit(partial(feel_step, static, affect_params))
    observe_j = jax.jit(partial(observe, static, affect_params))
    learn = jax.jit(partial(_learn, static, setpoint))
    n = cfg.num_envs

    def train(key, net_params, lesion: LesionData):
        gains = jnp.asarray(lesion.train_gains())
        key, k_env, k_eval = jax.random.split(key, 3)
        env = _Env(world, n, int(jax.random.randint(k_env, (), 0, 2**31 - 1)))
        try:
            aff_state, aff = observe_j(env.signals, gains)
            runner = RunnerState(
                params=net_params,
                opt_state=static.optimizer.init(net_params),
                env_state=None,
                obs=jnp.asarray(world.encode(env.obs)),
                aff_state=aff_state,
                aff=aff,
                ep_return=jnp.zeros((n,)),
                ep_length=jnp.zeros((n,), jnp.int32),
                prev_value=jnp.zeros((n,)),
                prev_reward=jnp.zeros((n,)),
                prev_done=jnp.ones((n,), bool),
                key=key,
            )
            ep_return, ep_length = np.zeros(n), np.zeros(n, np.int64)
            history = []
            for _ in range(cfg.num_updates):
                steps = []
                for _ in range(cfg.num_steps):
                    runner, tr, ep_return, ep_length = _host_step(
                        static, world, env, act, feel, gains, runner, ep_return, ep_length
                    )
                    steps.append(tr)
                traj = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *steps)
                runner, metrics = learn(runner, traj)
                history.append(metrics)
        finally:
            env.close()
        metrics = {k: np.asarray([m[k] for m in history]) for k in history[0]}
        metrics.update(
            evaluate(static, world, affect_params, act, feel, observe_j, k_eval,
                     runner.params, jnp.asarray(lesion.eval_gains()))
        )
        return runner.params, metrics

    return train


def _learn(static, setpoint, runner, traj):
    adv, targets = advantages(static, runner.params, traj)
    runner, losses = update(static, runner, traj, adv, targets)
    return runner, {**rollout_metrics(traj, setpoint), **losses}


def _host_step(static, world, env, act, feel, gains, runner, ep_return, ep_length):
    cfg = static.config
    key, k_act = jax.random.split(runner.key)
    action, log_prob, value, temperature = act(runner.params, runner.obs, runner.aff, k_act)
    td_prev = (
        runner.prev_reward + cfg.gamma * jnp.where(runner.prev_done, 0.0, value)
        - runner.prev_value
    )
    final, reward, term, trunc, done, sig, fresh = env.step(np.asarray(action))
    learning = LearningSignals(reward=jnp.asarray(reward), td_error=td_prev)
    done_j = jnp.asarray(done)
    aff_tr, aff_state, aff_next = feel(gains, runner.aff_state, sig, learning, fresh, done_j)
    ep_return = ep_return + reward
    ep_length = ep_length + 1
    tr = make_transition(
        cfg, runner, (action, log_prob, value, temperature), jnp.asarray(reward), aff_tr, sig,
        jnp.asarray(term), done_j, jnp.asarray(world.encode(final)),
        jnp.asarray(ep_return, jnp.float32), jnp.asarray(ep_length, jnp.int32),
    )
    total = tr.reward
    runner = runner.replace(
        obs=jnp.asarray(world.encode(env.obs)),
        aff_state=aff_state,
        aff=aff_next,
        prev_value=value,
        prev_reward=total,
        prev_done=done_j,
        key=key,
    )
    return runner, tr, np.where(done, 0.0, ep_return), np.where(done, 0, ep_length)


def evaluate(static, world, affect_params, act, feel, observe_j, key, params, gains):
    """One episode in each of ``eval_envs`` environments with frozen parameters: the same
    ``eval/*`` measures as :func:`affect.ppo.make_evaluate`."""
    n = static.config.eval_envs
    setpoint = setpoint_of(affect_params)
    key, k_env = jax.random.split(key)
    env = _Env(world, n, int(jax.random.randint(k_env, (), 0, 2**31 - 1)))
    try:
        aff_state, aff = observe_j(env.signals, gains)
        active = np.ones(n, bool)
        ret, length, dev = np.zeros(n), np.zeros(n), np.zeros(n)
        starved = np.zeros(n, bool)
        for _ in range(world.time_limit):
            key, k_act = jax.random.split(key)
            obs = jnp.asarray(world.encode(env.obs))
            action, *_ = act(params, obs, aff, k_act)
            _, reward, term, _, done, sig, fresh = env.step(np.asarray(action))
            learning = LearningSignals(reward=jnp.asarray(reward), td_error=jnp.zeros((n,)))
            _, aff_state, aff = feel(gains, aff_state, sig, learning, fresh, jnp.asarray(done))
            alive = ~np.asarray(sig.starved)
            ret += active * reward
            length += active
            starved |= active & ~alive
            dev += active * np.abs(np.asarray(sig.energy) - setpoint) * alive
            active &= ~done
            if not active.any():
                break
    finally:
        env.close()
    return {
        "eval/episode_return": float(ret.mean()),
        "eval/survival": float(1.0 - starved.mean()),
        "eval/episode_length": float(length.mean()),
        "eval/homeostatic_deviation": float((dev / np.maximum(length, 1)).mean()),
    }
