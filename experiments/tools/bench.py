"""Benchmarks (a script, not a test): world and training throughput.

Compile time is measured apart (``lower().compile()``), every timing calls
``block_until_ready``, and each measurement is repeated (median, min, max reported).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from affect.lesion import INTACT
from affect.networks import init_params
from affect.ppo import AgentConfig, input_dim, make_static, make_train
from affect.storage import machine
from experiments.spec import ExperimentSpec
from worlds.registry import make

WORLD_ENVS = (1, 64, 1024, 8192)


def _time(compiled, args, repeats: int) -> list[float]:
    """Seconds of ``repeats`` calls of ``compiled(*args)`` after one warm-up call."""
    jax.block_until_ready(compiled(*args))  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - t0)
    return times


def _record(name, num_envs, steps, compile_s, times) -> dict[str, Any]:
    rates = [steps / t for t in times]
    return {
        "name": name,
        "num_envs": num_envs,
        "env_steps_per_s": statistics.median(rates),
        "env_steps_per_s_min": min(rates),
        "env_steps_per_s_max": max(rates),
        "repeats": len(times),
        "steps_per_call": steps,
        "compile_s": compile_s,
        "device": str(jax.devices()[0]),
        "jax_version": jax.__version__,
    }


def random_rollout(world, params, num_envs: int, horizon: int, key: jax.Array) -> dict:
    """``horizon`` steps of ``num_envs`` worlds under uniformly random actions, with
    auto-reset, in one ``lax.scan``: the summed reward and the last observations
    ``(num_envs, num_agents, *obs_shape)``. The observations ride in the scan's carry, so
    every step's view is computed: XLA cannot drop it as unused (a row that discarded its
    observations measured a world 1.7x too fast)."""
    k_reset, k_run = jax.random.split(key)
    obs, state = jax.vmap(world.reset, (0, None))(jax.random.split(k_reset, num_envs), params)

    def body(carry, k):
        state, _, total = carry
        k_act, k_step = jax.random.split(k)
        action = jax.random.randint(k_act, (num_envs, world.num_agents), 0, world.num_actions)
        obs, state, reward, *_ = jax.vmap(world.step, (0, 0, 0, None))(
            jax.random.split(k_step, num_envs), state, action, params
        )
        return (state, obs, total + reward.sum()), None

    carry = (state, obs, jnp.zeros((), jnp.float32))
    (_, obs, total), _ = jax.lax.scan(body, carry, jax.random.split(k_run, horizon))
    return {"reward_sum": total, "last_obs": obs}


def bench_world(world_id: str, num_envs: int, repeats: int = 5, **world_kwargs) -> dict[str, Any]:
    """Throughput of :func:`random_rollout` in ``num_envs`` worlds, observations live.

    The record's ``agent_steps_per_s`` counts every agent's step (``num_agents`` per
    world step)."""
    world, params = make(world_id, **world_kwargs)
    horizon = int(min(20_000, max(200, 4_000_000 // num_envs)))
    rollout = partial(random_rollout, world, params, num_envs, horizon)
    key = jax.random.PRNGKey(0)
    t0 = time.perf_counter()
    compiled = jax.jit(rollout).lower(key).compile()
    compile_s = time.perf_counter() - t0
    times = _time(compiled, (key,), repeats)
    name = f"world/{world_id}" + (f"[{world.num_agents} agents]" if world.num_agents > 1 else "")
    rec = _record(name, num_envs, horizon * num_envs, compile_s, times)
    rec["num_agents"] = world.num_agents
    for k in ("env_steps_per_s", "env_steps_per_s_min", "env_steps_per_s_max"):
        rec[k.replace("env_", "agent_")] = rec[k] * world.num_agents
    return rec


PEERS = {"xminigrid": "MiniGrid-Empty-8x8"}


def xminigrid_world():
    """XLand-MiniGrid's ``MiniGrid-Empty-8x8`` with its auto-reset wrapper, and its
    params (built outside any trace: the library caches arrays on first use)."""
    import xminigrid
    from xminigrid.wrappers import GymAutoResetWrapper

    env, params = xminigrid.make(PEERS["xminigrid"])
    return GymAutoResetWrapper(env), params


def xminigrid_rollout(env, params, num_envs: int, horizon: int, key: jax.Array) -> dict:
    """The peer's egocentric world (:func:`xminigrid_world`) under random actions, as
    :func:`random_rollout`: observations in the scan's carry, the last ones returned."""
    k_reset, k_run = jax.random.split(key)
    ts = jax.vmap(env.reset, (None, 0))(params, jax.random.split(k_reset, num_envs))
    n_actions = env.num_actions(params)

    def body(carry, k):
        ts, total = carry
        action = jax.random.randint(k, (num_envs,), 0, n_actions)
        ts = jax.vmap(env.step, (None, 0, 0))(params, ts, action)
        return (ts, total + ts.reward.sum()), None

    (ts, total), _ = jax.lax.scan(body, (ts, jnp.zeros((), jnp.float32)),
                                  jax.random.split(k_run, horizon))
    return {"reward_sum": total, "last_obs": ts.observation}


def bench_peer(peer: str = "xminigrid", world_id: str = "Foraging-v0", num_envs: int = 1024,
               rounds: int = 7) -> dict[str, Any]:
    """``world_id`` against a peer's world in this process, interleaved round by round
    (the machine's speed drifts): each side's rate per round and the ratio
    ``world / peer`` (min, median, max over rounds). ``ImportError`` if the peer is not
    installed."""
    if peer not in PEERS:
        raise ValueError(f"unknown peer {peer!r}; known: {sorted(PEERS)}")
    world, params = make(world_id)
    horizon = int(min(20_000, max(200, 4_000_000 // num_envs)))
    key = jax.random.PRNGKey(0)
    # jit, not lower().compile(): a peer's closed-over arrays can become extra inputs of
    # an ahead-of-time executable; the warm-up call compiles (no compile time reported)
    ours = jax.jit(partial(random_rollout, world, params, num_envs, horizon))
    theirs = jax.jit(partial(xminigrid_rollout, *xminigrid_world(), num_envs, horizon))
    jax.block_until_ready((ours(key), theirs(key)))  # warm-up
    rates: dict[str, list[float]] = {"ours": [], "peer": []}
    for _ in range(rounds):
        for side, fn in (("ours", ours), ("peer", theirs)):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(key))
            rates[side].append(horizon * num_envs / (time.perf_counter() - t0))
    ratios = [a / b for a, b in zip(rates["ours"], rates["peer"], strict=True)]
    return {"name": f"peer/{world_id} vs {peer}:{PEERS[peer]}", "num_envs": num_envs,
            "rounds": rounds, "ours_steps_per_s": statistics.median(rates["ours"]),
            "peer_steps_per_s": statistics.median(rates["peer"]),
            "ratio_min": min(ratios), "ratio_median": statistics.median(ratios),
            "ratio_max": max(ratios), "device": str(jax.devices()[0]),
            "jax_version": jax.__version__}


def bench_train(world_id: str, total_steps: int, repeats: int = 3,
                spec: ExperimentSpec | None = None) -> dict[str, Any]:
    """PPO training of one seed with the default agent (affect module on), or with the
    agent and world params of ``spec``."""
    world, params = spec.make_world() if spec is not None else make(world_id)
    agent = spec.trainer_config() if spec is not None else AgentConfig()
    config = dataclasses.replace(agent, total_steps=total_steps)
    static = make_static(world, config)
    train = make_train(static, params, static.module.default_params())
    net = init_params(static.network, jax.random.PRNGKey(1), input_dim(static))
    lesion = INTACT.to_data(static.module.channel_names)
    key = jax.random.PRNGKey(0)
    fn = jax.jit(lambda k, p, les: train(k, p, les)[1])
    t0 = time.perf_counter()
    compiled = fn.lower(key, net, lesion).compile()
    compile_s = time.perf_counter() - t0
    times = _time(compiled, (key, net, lesion), repeats)
    steps = config.num_updates * config.batch_size
    return _record(f"train/ppo/{world_id}", config.num_envs, steps, compile_s, times)


def bench_experiment(spec: ExperimentSpec, train_steps: int = 262_144,
                     repeats: int = 3) -> dict[str, Any]:
    """A PPO experiment's end-to-end wall time against its training steps at the
    benchmarked rate: ``spec`` runs afresh (workers, report and all; the compilation cache
    as it is) in a temporary folder, between two :func:`bench_train` measurements of its
    own agent and world in this process; the rate is their mean. ``ratio`` = wall /
    (seeds x conditions x steps / rate)."""
    from experiments.runner import run_experiment

    if spec.trainer != "ppo":
        raise ValueError(f"{spec.name} is not trained by PPO (its trainer is {spec.trainer!r})")
    before = bench_train(spec.world, train_steps, repeats, spec=spec)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_experiment(spec, Path(tmp) / spec.name, fresh=True, progress=False)
        wall = time.perf_counter() - t0
    after = bench_train(spec.world, train_steps, repeats, spec=spec)
    rate = (before["env_steps_per_s"] + after["env_steps_per_s"]) / 2
    steps = spec.seeds * len(spec.conditions) * spec.steps_per_run()
    return {"name": f"experiment/{spec.name}", "wall_s": wall, "steps": steps,
            "rate_before": before["env_steps_per_s"], "rate_after": after["env_steps_per_s"],
            "training_at_rate_s": steps / rate, "ratio": wall / (steps / rate),
            "device": str(jax.devices()[0]), "jax_version": jax.__version__}


def run_bench(
    world_id: str = "Foraging-v0",
    quick: bool = False,
    json_path: str | Path | None = None,
    echo=print,
) -> list[dict[str, Any]]:
    """Run all benchmarks, print a table, optionally write JSON records."""
    records = []
    envs = (1, 64, 1024) if quick else WORLD_ENVS
    for n in envs:
        rec = bench_world(world_id, n, repeats=3 if quick else 5)
        records.append(rec)
        echo(_row(rec))
    rec = bench_train(
        world_id, total_steps=131_072 if quick else 524_288, repeats=2 if quick else 3
    )
    records.append(rec)
    echo(_row(rec))
    rec = bench_world("Commons-v0", 256, repeats=3 if quick else 5, num_agents=8)
    records.append(rec)
    echo(_row(rec) + f"  = {rec['agent_steps_per_s'] / 1e6:.3f} M agent-steps/s")
    for peer in PEERS:
        try:
            rec = bench_peer(peer, world_id, rounds=3 if quick else 7)
        except ImportError:
            echo(f"peer {peer}: not installed (pip install -e '.[bench]'), not timed")
            continue
        records.append(rec)
        echo(f"{rec['name']}: envs={rec['num_envs']}  {rec['ours_steps_per_s'] / 1e6:.3f} vs "
             f"{rec['peer_steps_per_s'] / 1e6:.3f} M steps/s, ratio {rec['ratio_median']:.2f} "
             f"(min {rec['ratio_min']:.2f}, max {rec['ratio_max']:.2f}, "
             f"{rec['rounds']} interleaved rounds)")
    if json_path is not None:
        meta = {"machine": machine()}
        for r in records:
            r.update(meta)
        Path(json_path).write_text(json.dumps(records, indent=2) + "\n")
        echo(f"wrote {json_path}")
    return records


def _row(r: dict[str, Any]) -> str:
    return (
        f"{r['name']:<28} envs={r['num_envs']:>5}  {r['env_steps_per_s'] / 1e6:8.3f} M steps/s "
        f"(min {r['env_steps_per_s_min'] / 1e6:.3f}, max {r['env_steps_per_s_max'] / 1e6:.3f}, "
        f"n={r['repeats']})  compile {r['compile_s']:.1f}s  [{r['device']}]"
    )
