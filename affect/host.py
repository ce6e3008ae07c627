"""PPO around host-run (Gymnasium) worlds: the same agent, update and metrics.

A :class:`~worlds.gymnasium_world.GymnasiumWorld` runs in numpy, so the rollout cannot
live inside ``jax.lax.scan``. This module drives Gymnasium vector environments from
Python and keeps every learning step compiled: acting (:func:`affect.ppo.policy_value`),
feeling (the affect module), the transition (:func:`affect.ppo.make_transition`),
advantages (:func:`affect.ppo.advantages`) and the PPO update (:func:`affect.ppo.update`)
are the functions the JAX worlds use, so the metrics have the same names and meaning.

Several runs (seeds x lesion conditions) train together, like a JAX job's
``vmap``: each run has its own vector environment, and one compiled call per step acts
for all of them, one feels for all of them (``vmap`` over runs), so the per-call cost of
JAX on the host is paid once per step, not once per run. Lesion gains are data, so
conditions share the compiled functions.

``make_host_trainer(static, affect_params)`` returns a
:class:`HostTrainer`; ``trainer.train(keys, net_params, lesions)`` trains ``R`` runs
(leading axis ``R`` on every argument) and returns ``(params, metrics)`` (``metrics``:
arrays ``(R, num_updates)`` plus ``eval/*`` arrays ``(R,)``). ``make_host_train`` is the
one-run form. The environments are seeded from the keys, so every run is reproducible
and does not depend on which runs it shares a batch with.
"""

from __future__ import annotations

import time
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
from worlds.signals import BOOL_FIELDS, Signals


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


_FLOATS = tuple(f for f in Signals.__dataclass_fields__ if f not in BOOL_FIELDS)
_BOOLS = tuple(f for f in Signals.__dataclass_fields__ if f in BOOL_FIELDS)


def _pack(fields: dict) -> tuple[np.ndarray, np.ndarray]:
    """Signal fields as two arrays (float32 and bool, fields last): fewer arguments to
    transfer in every compiled call."""
    return (np.stack([fields[f] for f in _FLOATS], -1).astype(np.float32),
            np.stack([fields[f] for f in _BOOLS], -1).astype(bool))


def _unpack(packed) -> Signals:
    floats, bools = packed
    return Signals(**{f: floats[..., i] for i, f in enumerate(_FLOATS)},
                   **{f: bools[..., i] for i, f in enumerate(_BOOLS)})


class _Envs:
    """The environments of ``R`` runs (``N`` each) in one vector environment of ``R x N``,
    with the bookkeeping the signals function needs. Run ``r``'s environments are seeded
    ``seeds[r] + 0 .. N - 1``, as a vector environment of its own would seed them, so a
    run does not depend on the runs it shares a batch with. Everything returned is numpy
    with leading axes ``(R, N)`` (observations encoded, signals as field arrays)."""

    def __init__(self, world, n: int, seeds: list[int]):
        self.world, self.shape = world, (len(seeds), n)
        self.size = len(seeds) * n
        self.env = world.make_vector_env(self.size)
        try:
            obs, info = self.env.reset(seed=[s + i for s in seeds for i in range(n)])
        except BaseException:
            self.env.close()
            raise
        self.t = np.zeros(self.size, np.int64)
        zeros = np.zeros(self.size)
        self.signals = world.signal_arrays(
            GymStep(obs, zeros, zeros > 0, zeros > 0, info, self.t), np.ones(self.size))
        self.energy = self.signals["energy"]
        self.obs = world.encode(obs)

    def _runs(self, x):
        return jax.tree_util.tree_map(lambda a: a.reshape(self.shape + a.shape[1:]), x)

    def initial(self):
        """``(encoded observations (R, N, D), signal fields (R, N))`` after the reset."""
        return self._runs(self.obs), self._runs(_pack(self.signals))

    def step(self, actions) -> dict:
        """Step every environment with ``actions (R, N)``; the outputs the compiled step
        needs."""
        obs, reward, term, trunc, info = self.env.step(np.asarray(actions).reshape(-1))
        done = term | trunc
        self.t = self.t + 1
        final = obs
        if done.any():  # pre-reset observations (same-step autoreset)
            final = np.array(obs, copy=True)
            for i in np.flatnonzero(done):
                final[i] = info["final_obs"][i]
        reward = np.asarray(reward, np.float32)
        sig = self.world.signal_arrays(GymStep(final, reward, term, trunc, info, self.t.copy()),
                                       self.energy)
        self.t = np.where(done, 0, self.t)  # fresh bodies where an episode was reset
        fresh = self.signals  # used only where an episode ended: the last reset's will do
        if done.any():
            zeros = np.zeros(self.size)
            fresh = self.world.signal_arrays(GymStep(obs, zeros, zeros > 0, zeros > 0, info,
                                                     self.t.copy()), np.ones(self.size))
        self.energy = np.where(done, fresh["energy"], sig["energy"]).astype(np.float32)
        self.obs = self.world.encode(obs)
        return self._runs({"final_obs": self.world.encode(final), "obs": self.obs,
                           "reward": reward, "terminated": np.asarray(term, bool),
                           "done": np.asarray(done, bool), "sig": _pack(sig),
                           "fresh": _pack(fresh)})

    def close(self):
        self.env.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _FirstCallTimer:
    """A compiled function that adds the wall time of its first call (compile plus one
    call) to ``owner.compile_s``."""

    def __init__(self, fn, owner):
        self.fn, self.owner, self.first = fn, owner, True

    def __call__(self, *args):
        if not self.first:
            return self.fn(*args)
        t0 = time.perf_counter()
        out = jax.block_until_ready(self.fn(*args))
        self.owner.compile_s += time.perf_counter() - t0
        self.first = False
        return out


class HostTrainer:
    """Compiled pieces of host-run PPO for one agent shape, batched over runs; build it
    once and call :meth:`train` for every batch of runs (the compiled functions are kept).

    ``compile_s`` accumulates the first call of every compiled function (compile time).
    """

    def __init__(self, static: Static, affect_params):
        world = static.world
        if not getattr(world, "host", False):
            raise TypeError(f"{world.name} is a JAX world: train it with affect.ppo.make_train")
        self.static, self.world, self.affect_params = static, world, affect_params
        self.compile_s = 0.0
        setpoint = setpoint_of(affect_params)
        jit = lambda fn: _FirstCallTimer(jax.jit(jax.vmap(fn)), self)  # noqa: E731
        self._start = jit(partial(_start, static, affect_params))
        self._decide = jit(partial(_decide, static))
        self._step = jit(partial(_step, static, affect_params))
        self._learn = _FirstCallTimer(jax.jit(partial(_learn, static, setpoint)), self)

    def train(self, keys, net_params, lesions: LesionData):
        """Train ``R`` runs: ``keys (R, 2)``, parameters and lesions with a leading ``R``
        axis. Returns ``(final parameters (R, ...), metrics)``."""
        cfg = self.static.config
        split = jax.vmap(lambda k: jax.random.split(k, 3))(jnp.asarray(keys))
        keys, k_env, k_eval = split[:, 0], split[:, 1], split[:, 2]
        gains = jax.vmap(lambda les: les.train_gains())(lesions)
        with _Envs(self.world, cfg.num_envs, _env_seeds(k_env)) as envs:
            obs, sig = envs.initial()
            runner = self._start(keys, net_params, obs, sig, gains)
            history = []
            for _ in range(cfg.num_updates):
                # the optimiser state stays out of the per-step calls (fewer arguments)
                opt_state, runner = runner.opt_state, runner.replace(opt_state=None)
                runner, decision = self._decide(runner)
                steps = []
                for _ in range(cfg.num_steps):
                    out = envs.step(decision[0])
                    runner, tr, decision = self._step(runner, decision, out, gains)
                    steps.append(tr)
                runner, metrics = self._learn(runner.replace(opt_state=opt_state), steps)
                history.append(metrics)
        metrics = {k: np.stack([np.asarray(m[k]) for m in history], axis=1) for k in history[0]}
        eval_gains = jax.vmap(lambda les: les.eval_gains())(lesions)
        metrics.update(self.evaluate(k_eval, runner.params, eval_gains))
        return runner.params, metrics

    def evaluate(self, keys, params, gains) -> dict[str, np.ndarray]:
        """One episode in each of ``eval_envs`` environments per run with frozen
        parameters: the ``eval/*`` measures of :func:`affect.ppo.make_evaluate`, ``(R,)``.
        It uses the training step's compiled functions (nothing more to compile)."""
        n = self.static.config.eval_envs
        split = jax.vmap(jax.random.split)(jnp.asarray(keys))
        keys, k_env = split[:, 0], split[:, 1]
        setpoint = float(setpoint_of(self.affect_params))
        energy, starved = _FLOATS.index("energy"), _BOOLS.index("starved")
        with _Envs(self.world, n, _env_seeds(k_env)) as envs:
            obs, sig = envs.initial()
            runner, decision = self._decide(self._start(keys, params, obs, sig, gains))
            active = np.ones(envs.shape, bool)
            ret, length, dev = np.zeros(envs.shape), np.zeros(envs.shape), np.zeros(envs.shape)
            died = np.zeros(envs.shape, bool)
            for _ in range(self.world.time_limit):
                out = envs.step(decision[0])
                runner, _, decision = self._step(runner, decision, out, gains)
                alive = ~out["sig"][1][..., starved]
                ret += active * out["reward"]
                length += active
                died |= active & ~alive
                dev += active * np.abs(out["sig"][0][..., energy] - setpoint) * alive
                active &= ~out["done"]
                if not active.any():
                    break
        return {
            "eval/episode_return": ret.mean(-1),
            "eval/survival": 1.0 - died.mean(-1),
            "eval/episode_length": length.mean(-1),
            "eval/homeostatic_deviation": (dev / np.maximum(length, 1)).mean(-1),
        }


def _env_seeds(keys) -> list[int]:
    return [int(s) for s in jax.vmap(lambda k: jax.random.randint(k, (), 0, 2**31 - 1))(keys)]


def _start(static, affect_params, key, net_params, obs, sig, gains):
    n = obs.shape[0]
    aff_state, aff = observe(static, affect_params, _unpack(sig), gains)
    return RunnerState(
        params=net_params, opt_state=static.optimizer.init(net_params), env_state=None,
        obs=obs, aff_state=aff_state, aff=aff, ep_return=jnp.zeros((n,)),
        ep_length=jnp.zeros((n,), jnp.int32), prev_value=jnp.zeros((n,)),
        prev_reward=jnp.zeros((n,)), prev_done=jnp.ones((n,), bool), key=key,
    )


def _decide(static, runner):
    key, k_act = jax.random.split(runner.key)
    decision = policy_step(static, runner.params, runner.obs, runner.aff, k_act)
    return runner.replace(key=key), decision


def _after_step(static, affect_params, runner, decision, out, gains):
    """The step's transition and the runner after it (feel, bookkeeping), one run."""
    cfg = static.config
    _, _, value, _ = decision
    td_prev = (runner.prev_reward + cfg.gamma * jnp.where(runner.prev_done, 0.0, value)
               - runner.prev_value)
    reward, done, sig = out["reward"], out["done"], _unpack(out["sig"])
    learning = LearningSignals(reward=reward, td_error=td_prev)
    aff_tr, aff_state, aff_next = feel_step(static, affect_params, gains, runner.aff_state,
                                            sig, learning, _unpack(out["fresh"]), done)
    ep_return = runner.ep_return + reward
    ep_length = runner.ep_length + 1
    tr = make_transition(cfg, runner, decision, reward, aff_tr, sig, out["terminated"], done,
                         out["final_obs"], ep_return, ep_length)
    runner = runner.replace(
        obs=out["obs"], aff_state=aff_state, aff=aff_next, prev_value=value,
        prev_reward=tr.reward, prev_done=done, ep_return=jnp.where(done, 0.0, ep_return),
        ep_length=jnp.where(done, 0, ep_length),
    )
    return runner, tr


def _step(static, affect_params, runner, decision, out, gains):
    """One step's transition and the next decision (one compiled call per step)."""
    runner, tr = _after_step(static, affect_params, runner, decision, out, gains)
    runner, decision = _decide(static, runner)
    return runner, tr, decision


def _learn(static, setpoint, runner, steps):
    """PPO update of every run on its rollout (``steps``: one batched transition per step)."""
    traj = jax.tree_util.tree_map(lambda *x: jnp.stack(x, axis=1), *steps)  # (R, T, N, ...)

    def one(runner, traj):
        adv, targets = advantages(static, runner.params, traj)
        runner, losses = update(static, runner, traj, adv, targets)
        return runner, {**rollout_metrics(traj, setpoint), **losses}

    return jax.vmap(one)(runner, traj)


def make_host_trainer(static: Static, affect_params) -> HostTrainer:
    """A :class:`HostTrainer` (see the module docstring). A host world has no swept
    parameters, so unlike :func:`affect.ppo.make_train` it takes none."""
    return HostTrainer(static, affect_params)


def make_host_train(static: Static, affect_params):
    """``train(key, net_params, lesion) -> (params, metrics)`` for one run, like
    :func:`affect.ppo.make_train` (``metrics``: ``(num_updates,)`` arrays and ``eval/*``
    scalars)."""
    trainer = HostTrainer(static, affect_params)
    one = lambda x: jax.tree_util.tree_map(lambda a: jnp.asarray(a)[None], x)  # noqa: E731

    def train(key, net_params, lesion: LesionData):
        params, metrics = trainer.train(one(key), one(net_params), one(lesion))
        return (jax.tree_util.tree_map(lambda a: a[0], params),
                {k: np.asarray(v)[0] for k, v in metrics.items()})

    return train


def evaluate(static: Static, world, affect_params, key, params, gains) -> dict[str, float]:
    """``eval/*`` measures of one agent (frozen ``params``) under ``gains``."""
    trainer = HostTrainer(static, affect_params)
    one = lambda x: jax.tree_util.tree_map(lambda a: jnp.asarray(a)[None], x)  # noqa: E731
    out = trainer.evaluate(one(key), one(params), one(gains))
    return {k: float(np.asarray(v)[0]) for k, v in out.items()}
