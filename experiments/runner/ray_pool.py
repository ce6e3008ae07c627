"""Ray as the runner's executor (``executor="ray"``, ``--executor ray``).

Each job (a list of seeds) is a Ray core task: ``ray.init()`` starts a local cluster, or
joins the one ``RAY_ADDRESS`` names. Resume stays in affectlab: a finished job's output
is written atomically by the runner as it arrives (the same files and journal as the
local pool), so a restarted experiment skips it; a task whose worker process dies is
rerun by the runner's queue (``monitor.RETRIES`` times, shown and journaled as the
local pool's reruns) and recomputes only that job. Workers run with one XLA
thread each (as the local pool's), so the numbers are the local pool's, value for value.
At most ``workers`` jobs are in flight at once, so a job's timeout counts from its start.

Where the cluster has GPUs, each task asks for its share of them (``num_gpus``: the
cluster's GPUs over the tasks in flight, one task per GPU unless ``workers`` says
otherwise), JAX in its worker preallocates only that share of a GPU's memory
(``XLA_PYTHON_CLIENT_MEM_FRACTION``), and each job vmaps a block of seeds x conditions
(the seeds split evenly among the tasks in flight) instead of one seed
(:func:`placement`).

Ray is an optional extra (``pip install -e ".[ray]"``); nothing here imports it until an
experiment asks for this executor.
"""

from __future__ import annotations

import importlib.util
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from experiments.runner.cache import enable_compilation_cache
from experiments.runner.errors import RunnerError
from experiments.runner.jobs import run_job
from experiments.runner.monitor import JobQueue, Progress, job_failed, timed_out
from experiments.runner.pool import SINGLE_THREAD_XLA, rebuild, worker_imports
from experiments.spec import ExperimentSpec


def ray_available() -> bool:
    """Whether Ray is installed (without importing it)."""
    return importlib.util.find_spec("ray") is not None


def _ray():
    if not ray_available():
        raise RunnerError("the ray executor needs Ray: pip install -e \".[ray]\"")
    import ray

    return ray


def _init(ray, workers: int) -> None:
    """Start (or join, with ``RAY_ADDRESS``) a cluster unless one is already up."""
    if ray.is_initialized():
        return
    env = {"env_vars": {"XLA_FLAGS": SINGLE_THREAD_XLA}}
    with warnings.catch_warnings():  # Ray fork-execs its daemons: the exec follows at once
        warnings.filterwarnings("ignore", message="os.fork", category=RuntimeWarning)
        if os.environ.get("RAY_ADDRESS"):
            ray.init(runtime_env=env, log_to_driver=False)
        else:
            ray.init(num_cpus=max(workers, 1), runtime_env=env, include_dashboard=False,
                     log_to_driver=False)


GPU_MEMORY_HEADROOM = 0.9
"""Of a task's share of a GPU, the fraction JAX may preallocate (the rest is left for
the CUDA context and the other tasks' rounding)."""


@dataclass(frozen=True)
class Placement:
    """How an experiment's jobs go onto a Ray cluster: ``in_flight`` tasks at once, each
    with ``options`` (Ray's ``num_cpus``, ``num_gpus``, ``runtime_env``), and
    ``seeds_per_job`` seeds vmapped in one job (``None``: the runner's default)."""

    in_flight: int
    seeds_per_job: int | None = None
    options: dict = field(default_factory=lambda: {"num_cpus": 1})


def placement(resources: dict, workers: int | None, n_seeds: int) -> Placement:
    """The :class:`Placement` for a cluster with ``resources`` (``ray.cluster_resources()``).

    Without GPUs: ``workers`` tasks at once (default: the cluster's CPUs), one CPU each.
    With G GPUs: ``workers`` tasks at once (default: G), each asking for ``G / workers``
    of a GPU (at most one) and letting JAX preallocate ``0.9 x`` that share of its
    memory, each vmapping ``ceil(n_seeds / workers)`` seeds."""
    gpus, cpus = float(resources.get("GPU", 0)), int(resources.get("CPU", 1))
    if gpus <= 0:
        return Placement(max(workers or cpus, 1))
    in_flight = max(workers or int(gpus), 1)
    share = min(1.0, gpus / in_flight)
    fraction = f"{GPU_MEMORY_HEADROOM * share:.3g}"
    env = {"env_vars": {"XLA_PYTHON_CLIENT_MEM_FRACTION": fraction}}
    return Placement(in_flight, math.ceil(n_seeds / in_flight),
                     {"num_cpus": 1, "num_gpus": share, "runtime_env": env})


def ray_placement(workers: int | None, n_seeds: int) -> Placement:
    """Start or join the cluster (:func:`_init`), then its :func:`placement`."""
    ray = _ray()
    _init(ray, workers or os.cpu_count() or 1)
    return placement(ray.cluster_resources(), workers, n_seeds)


def _job(spec: ExperimentSpec, seeds: list[int], imports: list[str]) -> dict:
    """One job in a Ray worker: the local worker's steps (cache, rebuild, run)."""
    enable_compilation_cache()
    rebuild(spec, imports)
    return run_job(spec, seeds)


def run_in_ray(spec: ExperimentSpec, jobs: list[list[int]], place: Placement, timeout_s: float,
               on_done: Callable[[dict], None], progress: Progress) -> None:
    """Run every job as a Ray task, ``place.in_flight`` at once with ``place.options``
    (:func:`ray_placement` has started or joined the cluster). A task whose worker
    process or node was lost is rerun (:class:`~experiments.runner.monitor.JobQueue`,
    shown and journaled like the local pool's); a job that raised or ran over
    ``timeout_s`` stops the run with :class:`RunnerError` once the jobs in flight have
    finished."""
    imports = worker_imports(spec)
    if imports is None:
        raise RunnerError("a world or channel defined in the script being run cannot be "
                          "rebuilt on Ray workers; register it in an importable module")
    ray = _ray()
    task = ray.remote(**place.options, max_retries=0)(_job)  # reruns are the queue's
    queue, running = JobQueue(jobs, progress), {}
    try:
        while queue.open() or running:
            while len(running) < place.in_flight and (job := queue.take()) is not None:
                running[task.remote(spec, job.seeds, imports)] = (job, time.perf_counter())
            ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
            for ref in ready:
                job, _ = running.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayTaskError as e:  # the job itself raised
                    queue.failed(job, job_failed(job.seeds, str(e), " on Ray"),
                                 in_flight=len(running))
                except ray.exceptions.RayError as e:  # its worker or node was lost
                    queue.lost(job, type(e).__name__)
                else:
                    on_done(result)
            for ref, (job, started) in list(running.items()):
                if time.perf_counter() - started > timeout_s:
                    ray.cancel(ref, force=True)
                    del running[ref]
                    queue.failed(job, timed_out(f"job for seeds {job.seeds}", timeout_s,
                                                " on Ray"), in_flight=len(running))
            progress.heartbeat()
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
    queue.raise_failures()

