"""Where jobs run: in this process, or in worker processes with timeouts; and progress.

On CPU the runner starts one worker process per core, each with one XLA thread, and
hands every worker one seed at a time (vmap over seeds gains nothing on a small CPU;
processes do). On an accelerator it runs all seeds in one job in this process. Every job
in a worker has a wall-clock timeout; workers exit when their parent dies.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from multiprocessing.connection import wait
from typing import Any

import jax

from affect.channels import get_channel
from experiments.runner.cache import enable_compilation_cache
from experiments.runner.errors import RunnerError
from experiments.runner.jobs import run_job
from experiments.runner.monitor import Job, JobQueue, Progress, heartbeat, job_failed, timed_out
from experiments.spec import ExperimentSpec
from worlds.registry import check_world_id

SINGLE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def host_run(spec: ExperimentSpec) -> bool:
    """Whether the spec's world runs on the host (a Gymnasium world)."""
    return bool(getattr(spec.make_world()[0], "host", False))


def default_workers(spec: ExperimentSpec | None = None) -> int:
    """One worker per core (at most 8) on CPU; 0 (this process) on an accelerator.

    A host-run (Gymnasium) experiment gets one worker per two cores, and none below two
    such workers: its job keeps about two cores busy in one process (the environments
    in Python while XLA's threads run the update), so on two cores this process trains
    it faster than two workers would (``python -m experiments.tools.host_bench``)."""
    if jax.default_backend() != "cpu":
        return 0
    cores = max(1, min(os.cpu_count() or 1, 8))
    if spec is not None and host_run(spec):
        return cores // 2 if cores >= 4 else 0
    return cores


_OWN = ("worlds", "affect", "experiments")


def worker_imports(spec: ExperimentSpec) -> list[str] | None:
    """The modules a fresh worker process imports to rebuild the experiment's world and
    channels (those a user registered them in); ``None`` when one was defined in the
    script being run (``__main__``), which a worker cannot import by name."""
    world_spec = check_world_id(spec.world)
    fns = [world_spec.factory] + [get_channel(c).step for c in spec.agent.affect_channels]
    modules = []
    for fn in fns:
        module = getattr(fn, "__module__", None) or "__main__"
        if module in ("__main__", "__mp_main__"):
            return None
        if module.split(".")[0] not in _OWN and module not in modules:
            modules.append(module)
    return modules


def spawnable(spec: ExperimentSpec) -> bool:
    """Whether a fresh worker process can rebuild the experiment: affectlab's worlds and
    channels, a user's registered in an importable module, and worlds named
    ``"module:function"``. Those defined in the script being run stay in this process
    unless ``workers`` is given."""
    return worker_imports(spec) is not None


def run_in_process(spec: ExperimentSpec, jobs: list[list[int]],
                   on_done: Callable[[dict], None], progress: Progress | None = None) -> None:
    """Run every job (a list of seeds) here, one after the other, each under
    ``spec.timeout_s`` (:func:`time_limit`), with a heartbeat line on ``progress`` while
    a long job runs."""
    with heartbeat(progress):
        for seeds in jobs:
            with time_limit(spec.timeout_s, f"job for seeds {seeds}"):
                result = run_job(spec, seeds)
            on_done(result)


@contextmanager
def time_limit(seconds: float, what: str):
    """Raise :class:`RunnerError` in this process when the block runs past ``seconds``
    (a real-time alarm; in the main thread on Unix, else not enforced). Python code (a
    host-run Gymnasium job) stops at once; a compiled JAX call stops when it returns.

    The alarm repeats every second until its exception gets out (code that catches
    every ``Exception``, as JAX's compilation cache does around its reads and writes,
    would swallow a single one), and a block that still ends normally after it fired
    raises then."""
    if (not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return
    message = timed_out(what, seconds, " in this process")
    fired = []

    def expire(signum, frame):
        fired.append(True)
        raise RunnerError(message)

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    if fired:
        raise RunnerError(message)


def run_in_workers(spec: ExperimentSpec, jobs: list[list[int]], workers: int, timeout_s: float,
                   on_done: Callable[[dict], None], progress: Progress) -> None:
    """Run every job in ``workers`` spawned processes (those kept by :func:`keep_workers`
    when it is open). A dead worker is replaced and its job rerun (:class:`JobQueue`); a
    job that fails or runs over ``timeout_s`` seconds stops the run with
    :class:`RunnerError` once the jobs in flight have finished."""
    imports = worker_imports(spec) or []
    procs = _acquire_workers(workers)
    queue = JobQueue(jobs, progress)
    busy: dict[int, tuple[Job, float]] = {}  # worker -> (job, start)
    finished = False
    try:
        while queue.open() or busy:
            for w, (_, conn) in procs.items():
                if w not in busy and (job := queue.take()) is not None:
                    conn.send((spec, job.seeds, imports))
                    busy[w] = (job, time.perf_counter())
            ready = wait([procs[w][1] for w in busy], timeout=1.0)
            for w in list(busy):
                outcome = _poll(procs[w], busy[w], ready, timeout_s)
                if outcome is None:
                    continue
                (job, _), (kind, payload) = busy.pop(w), outcome
                if kind == "ok":
                    on_done(payload)
                elif kind == "lost":
                    procs[w] = _start_worker()
                    queue.lost(job, payload)
                else:
                    queue.failed(job, payload, in_flight=len(busy))
            progress.heartbeat()
        queue.raise_failures()
        finished = True
    finally:
        if not (finished and procs is _KEPT):  # kept workers stay for the next experiment
            _stop_workers(procs)
            procs.clear()


_KEPT: dict[int, tuple[Any, Any]] | None = None  # the workers `keep_workers` keeps


@contextmanager
def keep_workers():
    """Keep worker processes from one experiment to the next inside this block (what
    ``reproduce`` does), so each experiment does not start, import and warm up its own;
    stopped when the block ends, and at once after a failed job."""
    global _KEPT
    _KEPT = {}
    try:
        yield
    finally:
        kept, _KEPT = _KEPT, None
        _stop_workers(kept)


def _acquire_workers(workers: int) -> dict[int, tuple[Any, Any]]:
    """The kept workers when there are ``workers`` of them alive, else fresh ones (kept
    when :func:`keep_workers` is open)."""
    if _KEPT is None:
        return _start_workers(workers)
    alive = [p.is_alive() for p, _ in _KEPT.values()]
    if len(alive) != workers or not all(alive):
        _stop_workers(_KEPT)
        _KEPT.clear()
        _KEPT.update(_start_workers(workers))
    return _KEPT


def _poll(worker, busy: tuple[Job, float], ready, timeout_s: float) -> tuple | None:
    """``None`` while the job runs, else ``("ok", result)``, ``("lost", reason)`` (the
    worker died) or ``("failed", message)`` (the job raised, or ran out of time: its
    worker is killed)."""
    proc, conn = worker
    job, started = busy
    seeds = job.seeds
    if conn in ready:
        try:
            status, payload = conn.recv()
        except (EOFError, OSError):  # it died (mid-send: the connection was reset)
            proc.join(timeout=1)
            return "lost", f"exit code {proc.exitcode}"
        if status != "ok":
            return "failed", job_failed(seeds, payload)
        return "ok", payload
    if time.perf_counter() - started > timeout_s:
        proc.kill()
        return "failed", timed_out(f"job for seeds {seeds}", timeout_s)
    if not proc.is_alive():
        return "lost", f"exit code {proc.exitcode}"
    return None


def _start_worker() -> tuple[Any, Any]:
    """One spawned worker process with one XLA thread, and its end of the pipe."""
    ctx = mp.get_context("spawn")
    old = os.environ.get("XLA_FLAGS")
    os.environ["XLA_FLAGS"] = f"{old or ''} {SINGLE_THREAD_XLA}".strip()
    try:
        parent, child = ctx.Pipe()
        p = ctx.Process(target=worker_main, args=(child,), daemon=True)
        p.start()
    finally:
        if old is None:
            os.environ.pop("XLA_FLAGS", None)
        else:
            os.environ["XLA_FLAGS"] = old
    return p, parent


def _start_workers(workers: int) -> dict[int, tuple[Any, Any]]:
    return {w: _start_worker() for w in range(workers)}


def _stop_workers(procs: dict[int, tuple[Any, Any]]) -> None:
    for _proc, conn in procs.values():
        try:
            conn.send(None)
        except (OSError, BrokenPipeError):
            pass
    for proc, _ in procs.values():
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()


def exit_with_parent() -> None:
    """Exit this worker when its parent dies (even by SIGKILL), so no orphan keeps
    computing a job nobody will collect."""
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def rebuild(spec: ExperimentSpec, imports: list[str]) -> None:
    """Import the user's modules in a worker, then check that the world and channels are
    known; a :class:`RunnerError` in one sentence if they are not."""
    for module in imports:
        importlib.import_module(module)
    try:
        check_world_id(spec.world)
        for c in spec.agent.affect_channels:
            get_channel(c)
    except (KeyError, ValueError) as e:
        where = f"importing {', '.join(imports)}" if imports else "re-running your script"
        raise RunnerError(
            f"a worker process could not rebuild the experiment: {where} did not register "
            f"it ({e.args[0]}); register worlds and channels at the top level of an "
            "importable module, name the world as 'module:function', or run with workers=0 "
            "(--workers 0)") from None


def worker_main(conn) -> None:
    """A worker's loop: receive ``(spec, seeds, modules to import)``, send back
    ``("ok", result)`` or ``("error", traceback)``; ``None`` ends it."""
    exit_with_parent()
    enable_compilation_cache()
    while True:
        msg = conn.recv()
        if msg is None:
            return
        spec, seeds, imports = msg
        try:
            rebuild(spec, imports)
            conn.send(("ok", run_job(spec, seeds)))
        except BaseException:  # noqa: BLE001 - report everything to the parent
            conn.send(("error", traceback.format_exc()))
