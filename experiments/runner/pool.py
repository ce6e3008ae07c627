"""Where jobs run: in this process, or in worker processes with timeouts; and progress.

On CPU the runner starts one worker process per core, each with one XLA thread, and
hands every worker one seed at a time (vmap over seeds gains nothing on a small CPU;
processes do). On an accelerator it runs all seeds in one job in this process. Every job
in a worker has a wall-clock timeout; workers exit when their parent dies.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from multiprocessing.connection import wait
from typing import Any

import jax

from affect.channels import get_channel
from experiments.runner.errors import RunnerError
from experiments.runner.jobs import run_job
from experiments.spec import ExperimentSpec
from worlds.registry import check_world_id

SINGLE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


class Progress:
    """Prints ``[label] done/total runs, elapsed, ~left`` lines to stderr.

    The time left is estimated from the training time of the jobs finished in this
    session (without their compile time, and not from runs read back on a resume),
    divided among the ``parallel`` workers."""

    def __init__(self, total_runs: int, label: str, enabled: bool = True, parallel: int = 1):
        self.total, self.done, self.label, self.enabled = total_runs, 0, label, enabled
        self.parallel = max(1, parallel)
        self.t0 = time.perf_counter()
        self.last_print = 0.0
        self.job_s, self.job_runs = 0.0, 0  # training seconds and runs of finished jobs

    @staticmethod
    def _fmt(s: float) -> str:
        return f"{int(s // 60)}m{int(s % 60):02d}s"

    def report(self, extra: str = "") -> None:
        """Print one progress line (``extra`` appended)."""
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        left = ""
        if self.job_runs and self.done < self.total:
            per_run = self.job_s / self.job_runs
            left = f", ~{self._fmt(per_run * (self.total - self.done) / self.parallel)} left"
        print(f"[{self.label}] {self.done}/{self.total} runs, {self._fmt(elapsed)} elapsed"
              f"{left}" + (f" {extra}" if extra else ""), file=sys.stderr, flush=True)
        self.last_print = time.perf_counter()

    def advance(self, runs: int, seconds: float | None = None) -> None:
        """Count ``runs`` more finished runs (a job that trained for ``seconds``, compile
        time excluded) and print."""
        self.done += runs
        if seconds is not None:
            self.job_s += seconds
            self.job_runs += runs
        self.report()

    def heartbeat(self, every: float = 20.0) -> None:
        """Print a line if none was printed for ``every`` seconds."""
        if time.perf_counter() - self.last_print > every:
            self.report("(compiling/training)")


def default_workers() -> int:
    """One worker per core (at most 8) on CPU; 0 (this process) on an accelerator."""
    if jax.default_backend() != "cpu":
        return 0
    return max(1, min(os.cpu_count() or 1, 8))


def spawnable(spec: ExperimentSpec) -> bool:
    """Whether a fresh worker process can rebuild the experiment: affectlab's own JAX
    worlds and channels. Worlds or channels registered by a user's script, and host-run
    (Gymnasium) worlds, run in this process unless ``workers`` is given."""
    def own(fn, package):
        return getattr(fn, "__module__", "").split(".")[0] == package

    world_spec = check_world_id(spec.world)
    channels_own = all(own(get_channel(c).step, "affect") for c in spec.agent.affect_channels)
    world_own = own(world_spec.factory, "worlds") and not getattr(spec.make_world()[0], "host",
                                                                  False)
    return channels_own and world_own


def run_in_process(spec: ExperimentSpec, jobs: list[list[int]],
                   on_done: Callable[[dict], None]) -> None:
    """Run every job (a list of seeds) here, one after the other, each under
    ``spec.timeout_s`` (:func:`time_limit`)."""
    for seeds in jobs:
        with time_limit(spec.timeout_s, f"job for seeds {seeds}"):
            result = run_job(spec, seeds)
        on_done(result)


@contextmanager
def time_limit(seconds: float, what: str):
    """Raise :class:`RunnerError` in this process when the block runs past ``seconds``
    (a real-time alarm; in the main thread on Unix, else not enforced). Python code (a
    host-run Gymnasium job) stops at once; a compiled JAX call stops when it returns."""
    if (not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def expire(signum, frame):
        raise RunnerError(f"{what} exceeded its timeout of {seconds:g}s in this process "
                          "(raise spec.timeout_s or --timeout if the machine is just slow)")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_in_workers(spec: ExperimentSpec, jobs: list[list[int]], workers: int, timeout_s: float,
                   on_done: Callable[[dict], None], progress: Progress) -> None:
    """Run every job in ``workers`` spawned processes; a job over ``timeout_s`` seconds, a
    failed job or a dead worker raises :class:`RunnerError` (the workers are stopped)."""
    procs = _start_workers(workers)
    pending = list(enumerate(jobs))
    busy: dict[int, tuple[int, list[int], float]] = {}  # worker -> (job id, seeds, start)
    try:
        while pending or busy:
            for w, (_, conn) in procs.items():
                if w not in busy and pending:
                    job_id, seeds = pending.pop(0)
                    conn.send((job_id, spec, seeds))
                    busy[w] = (job_id, seeds, time.perf_counter())
            ready = wait([procs[w][1] for w in busy], timeout=1.0)
            for w in list(busy):
                result = _poll(procs[w], busy[w], ready, timeout_s)
                if result is not None:
                    del busy[w]
                    on_done(result)
            progress.heartbeat()
    finally:
        _stop_workers(procs)


def _poll(worker, job, ready, timeout_s: float) -> dict | None:
    """A finished job's result, ``None`` while it runs; raises on failure or timeout."""
    proc, conn = worker
    seeds, started = job[1], job[2]
    if conn in ready:
        try:
            _, status, payload = conn.recv()
        except EOFError:
            raise RunnerError(f"worker for seeds {seeds} died (exit code {proc.exitcode})"
                              ) from None
        if status != "ok":
            raise RunnerError(f"job for seeds {seeds} failed:\n{payload}")
        return payload
    if time.perf_counter() - started > timeout_s:
        proc.kill()
        raise RunnerError(f"job for seeds {seeds} exceeded its timeout of {timeout_s:.0f}s "
                          "(raise spec.timeout_s or --timeout if the machine is just slow)")
    if not proc.is_alive():
        raise RunnerError(f"worker for seeds {seeds} died (exit code {proc.exitcode})")
    return None


def _start_workers(workers: int) -> dict[int, tuple[Any, Any]]:
    ctx = mp.get_context("spawn")
    old = os.environ.get("XLA_FLAGS")
    os.environ["XLA_FLAGS"] = f"{old or ''} {SINGLE_THREAD_XLA}".strip()
    procs = {}
    try:
        for w in range(workers):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=worker_main, args=(child,), daemon=True)
            p.start()
            procs[w] = (p, parent)
    finally:
        if old is None:
            os.environ.pop("XLA_FLAGS", None)
        else:
            os.environ["XLA_FLAGS"] = old
    return procs


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


def worker_main(conn) -> None:
    """A worker's loop: receive ``(job id, spec, seeds)``, send back ``(job id, "ok",
    result)`` or ``(job id, "error", traceback)``; ``None`` ends it."""
    exit_with_parent()
    while True:
        msg = conn.recv()
        if msg is None:
            return
        job_id, spec, seeds = msg
        try:
            conn.send((job_id, "ok", run_job(spec, seeds)))
        except BaseException:  # noqa: BLE001 - report everything to the parent
            conn.send((job_id, "error", traceback.format_exc()))
