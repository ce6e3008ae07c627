"""One job: ``len(seeds) x len(conditions)`` runs in one compiled program.

A job ``vmap``s over its seeds x lesion conditions (``jit(vmap(train))``), with each
seed's parameters initialised outside the vmap (batched QR initialisation can deadlock
XLA:CPU). On a CPU each compiled call trains one seed's conditions, the job's seeds one
after another: XLA vectorises a batch of another size differently, and PPO amplifies
the last bits, so this keeps every number the same however the seeds are split among
jobs, workers and executors (vmapping seeds gains nothing on a CPU). On an accelerator
one call trains all the job's seeds (there the batch is the speed, and the numbers
depend on ``--seeds-per-job``). Compiled programs are cached per process, keyed by
everything but the seeds, so a worker that runs many jobs of one experiment compiles
once.
"""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from affect.host import make_host_trainer
from affect.lesion import stack_lesions
from affect.networks import init_params
from affect.online import make_session
from affect.ppo import Static, init_agent_params, input_dim, make_static, make_train
from affect.storage import cpu_id, env_id, loaded_git, revision_id
from experiments.agents import flatten_params
from experiments.spec import ExperimentSpec
from experiments.tasks import session_analysis
from worlds.registry import make

_COMPILED: dict[str, Any] = {}
_CPU = cpu_id()  # the CPU this process runs its jobs on (a Ray task's node's own)
_GIT = revision_id(loaded_git())  # the revision of affectlab this process loaded
_ENV = env_id()  # the versions of the packages it computes with


def job_key(spec: ExperimentSpec, num_seeds: int) -> str:
    """What a compiled program depends on: the spec without its seeds, and their count."""
    d = spec.to_dict()
    d.pop("seeds")
    return json.dumps(d, sort_keys=True, default=str) + f"|{num_seeds}"


def run_job(spec: ExperimentSpec, seeds: list[int]) -> dict[str, Any]:
    """Train ``len(seeds) x len(conditions)`` runs of ``spec``: one compiled program, one
    call per :func:`seeds_per_call` seeds.

    Returns a dict with ``seeds``, ``metrics`` (name -> array ``(S, C, U)`` per update or
    block, ``(S, C)`` for ``eval/*`` and ``test/*``), ``steps`` (the step of each ``U``
    entry for online sessions, else ``None``), ``agents`` (final parameters, flattened,
    leaves ``(S, C, ...)``; ``None`` for online runs), ``compile_s``, ``run_s``,
    ``device``, ``seeds_per_call`` and where it ran (:data:`~experiments.runner.results.
    ORIGINS`): ``cpu`` (:func:`affect.storage.cpu_id`), ``git`` (the revision of
    affectlab this process loaded) and ``env`` (:func:`affect.storage.env_id`).
    """
    world, world_params = spec.make_world()
    static = make_static(world, spec.trainer_config())
    affect_params = static.module.default_params()
    lesions = stack_lesions(list(spec.conditions), static.module.channel_names)
    keys, params = initial_params(spec, static, seeds)
    if getattr(world, "host", False):  # a Gymnasium world: rollouts on the host
        return _run_host_job(spec, static, affect_params, lesions, seeds, keys, params)
    n_s, n_c = len(seeds), len(spec.conditions)
    per_call = seeds_per_call(n_s)
    cache_key = job_key(spec, per_call)
    compile_s = run_s = 0.0
    outs = []
    for i in range(0, n_s, per_call):
        batch = _seed_major(keys[i:i + per_call], params[i:i + per_call], lesions,
                            per_call, n_c)
        t0 = time.perf_counter()
        if cache_key not in _COMPILED:
            fn = _program(spec, static, world_params, affect_params)
            _COMPILED[cache_key] = fn.lower(*batch).compile()
        compile_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        outs.append(jax.block_until_ready(_COMPILED[cache_key](*batch)))
        run_s += time.perf_counter() - t0
    out = jax.tree_util.tree_map(lambda *a: np.concatenate(a), *outs)
    metrics, agents = out if spec.trainer != "online" else (out, None)
    by_run = lambda v: np.asarray(v).reshape((n_s, n_c) + np.shape(v)[1:])  # noqa: E731
    metrics = {k: by_run(v) for k, v in metrics.items()}
    if agents is not None:
        agents = {k: by_run(v) for k, v in flatten_params(agents).items()}
    steps = None
    if spec.trainer == "online":
        metrics, steps = session_analysis(spec)(spec, world, world_params, metrics)
        _check_per_run(spec, metrics, n_s, n_c)
    return {"steps": steps, "seeds": list(seeds), "metrics": metrics, "agents": agents,
            "compile_s": compile_s, "run_s": run_s, "device": str(jax.devices()[0]),
            "seeds_per_call": per_call, "cpu": _CPU, "git": _GIT,
            "env": _ENV}


def seeds_per_call(n_seeds: int) -> int:
    """Seeds one compiled call trains: 1 on a CPU (the numbers then do not depend on how
    seeds are split into jobs), all ``n_seeds`` of the job on an accelerator."""
    return 1 if jax.default_backend() == "cpu" else n_seeds


def _check_per_run(spec: ExperimentSpec, metrics: dict, n_s: int, n_c: int) -> None:
    """Every measure must hold one value (or curve) per run, ``(seeds, conditions, ...)``:
    a scalar would otherwise fail only when the finished runs are written out."""
    bad = {k: np.shape(v) for k, v in metrics.items() if np.shape(v)[:2] != (n_s, n_c)}
    if bad:
        raise ValueError(f"{spec.name}: the analysis of {spec.world} returned measures that "
                         f"are not one per run (shape ({n_s}, {n_c}, ...)): {bad}")


def initial_params(spec: ExperimentSpec, static: Static, seeds: list[int]):
    """``(train keys, network parameters)``, one of each per seed, initialised one seed
    at a time by one compiled initialiser per agent shape."""
    init_key = "init|" + job_key(spec, 0)
    if init_key not in _COMPILED:
        _COMPILED[init_key] = jax.jit(partial(init_params, static.network,
                                              input_dim=input_dim(static)))
    init = _COMPILED[init_key]
    keys, params = [], []
    for seed in seeds:  # outside the vmap: batched QR can deadlock XLA:CPU
        k_init, k_train = jax.random.split(jax.random.PRNGKey(seed))
        params.append(init_agent_params(static, init, k_init))
        keys.append(k_train)
    return keys, params


def _seed_major(keys, params, lesions, n_s: int, n_c: int):
    """Batch axes in seed-major order: ``(s0c0, s0c1, s1c0, ...)``."""
    stack = lambda xs: jax.tree_util.tree_map(lambda *a: jnp.stack(a), *xs)  # noqa: E731
    rep = lambda x: jnp.repeat(x, n_c, axis=0)  # noqa: E731
    keys = rep(jnp.stack(keys))
    params = jax.tree_util.tree_map(rep, stack(params))
    lesions = jax.tree_util.tree_map(lambda x: jnp.tile(x, (n_s,) + (1,) * (x.ndim - 1)),
                                     lesions)
    return keys, params, lesions


def _program(spec: ExperimentSpec, static: Static, world_params, affect_params):
    """``jit(vmap(run))`` of one run: an online session, or PPO training returning
    ``(metrics, final parameters)``."""
    if spec.trainer == "online":
        onset = spec.total_steps - spec.test_steps if spec.test_steps else None
        return jax.jit(jax.vmap(make_session(static, world_params, affect_params,
                                             spec.deliberation_params(), onset)))
    train = make_train(static, world_params, affect_params, shifts(spec, static.config))

    def metrics_and_agents(k, p, les):
        runner, metrics = train(k, p, les)
        return metrics, runner.params

    return jax.jit(jax.vmap(metrics_and_agents))


def shifts(spec: ExperimentSpec, cfg) -> list[tuple]:
    """The spec's evaluation shifts as ``(name, static, world_params, obs_noise)``."""
    out = []
    for name, shift in spec.shifts.items():
        world, params = make(shift.get("world", spec.world))
        overrides = dict(spec.world_params) if "world" not in shift else {}
        overrides.update(shift.get("world_params", {}))
        out.append((name, make_static(world, cfg), params.replace(**overrides),
                    float(shift.get("obs_noise", 0.0))))
    return out


def _run_host_job(spec, static, affect_params, lesions, seeds, keys, params):
    """Rollouts on the host (Gymnasium worlds): one seed's conditions at a time, each run
    with its own vector environment and one compiled call per step for all of them
    (:class:`affect.host.HostTrainer`, kept per process like the JAX programs). The batch
    is one seed whatever the job's size, so every number is the same however the seeds
    are split among jobs and workers."""
    n_c = len(spec.conditions)
    cache_key = "host|" + job_key(spec, 0)
    if cache_key not in _COMPILED:
        _COMPILED[cache_key] = make_host_trainer(static, affect_params)
    trainer = _COMPILED[cache_key]
    compiled_before = trainer.compile_s
    t0 = time.perf_counter()
    metrics, agents = [], []
    for key, net in zip(keys, params, strict=True):
        k, p, les = _seed_major([key], [net], lesions, 1, n_c)
        final, m = trainer.train(k, p, les)
        metrics.append(m)
        agents.append(flatten_params(final))
    compile_s = trainer.compile_s - compiled_before
    stack = lambda xs: {k: np.stack([np.asarray(x[k]) for x in xs]) for k in xs[0]}  # noqa: E731
    return {"steps": None, "seeds": list(seeds), "metrics": stack(metrics),
            "agents": stack(agents), "compile_s": compile_s,
            "run_s": time.perf_counter() - t0 - compile_s, "device": str(jax.devices()[0]),
            "seeds_per_call": 1, "cpu": _CPU, "git": _GIT,
            "env": _ENV}
