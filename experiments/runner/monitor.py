"""What a run shows and keeps of its jobs while they run: the live progress line, and the
queue of jobs with their reruns and failures (shared by both executors).

A job whose worker process was *lost* (killed, out of memory, a node gone) is rerun, up
to :data:`RETRIES` times; only that job is recomputed. A job that *failed* (it raised,
or ran past its timeout) is not rerun (it would do the same again): no new job starts,
the jobs in flight finish and are kept, and then the run stops with the failure. Reruns
and failures are printed at once, counted on every progress line, and written to the
journal (``rerun`` and ``failed`` events).
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from experiments.runner.errors import RunnerError

RETRIES = 3
"""Times a job whose worker process was lost is rerun before the run stops."""


def timed_out(what: str, seconds: float, where: str = "") -> str:
    """The message of a job (``what``) that ran past its timeout (``where``: e.g. ``" on
    Ray"``)."""
    return (f"{what} exceeded its timeout of {seconds:g}s{where} (raise spec.timeout_s or "
            "--timeout if the machine is just slow)")


def job_failed(seeds: list[int], text: str, where: str = "") -> str:
    """The message of a job that raised: its exception's line first, then ``text`` (the
    traceback)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"job for seeds {seeds} failed{where}: {lines[-1] if lines else 'no traceback'}" \
        f"\n{text}"


def clock(s: float) -> str:
    """``"12m05s"``."""
    return f"{int(s // 60)}m{int(s % 60):02d}s"


class Progress:
    """Prints ``[label] done/total runs, rate, elapsed, ~left`` lines to stderr, with the
    reruns and failures so far; writes reruns and failures to ``journal`` (if given).

    The time left is estimated from the training time of the jobs finished in this
    session (without their compile time, and not from runs read back on a resume),
    divided among the ``parallel`` workers; the rate counts the runs finished in this
    session per minute of wall time (compiles included)."""

    def __init__(self, total_runs: int, label: str, enabled: bool = True, parallel: int = 1,
                 journal=None):
        self.total, self.done, self.label, self.enabled = total_runs, 0, label, enabled
        self.parallel, self.journal = max(1, parallel), journal
        self.t0 = time.perf_counter()
        self.last_print = 0.0
        self.job_s, self.job_runs = 0.0, 0  # training seconds and runs of finished jobs
        self.reruns, self.failed = 0, 0

    def line(self, extra: str = "") -> str:
        """The progress line (``extra`` appended)."""
        elapsed = time.perf_counter() - self.t0
        parts = [f"{self.done}/{self.total} runs"]
        if self.job_runs:
            rate = self.job_runs / max(elapsed, 1e-9) * 60
            parts.append(f"{rate:,.0f} runs/min" if rate >= 100 else f"{rate:.3g} runs/min")
        parts.append(f"{clock(elapsed)} elapsed")
        if self.job_runs and self.done < self.total:
            per_run = self.job_s / self.job_runs
            parts.append(f"~{clock(per_run * (self.total - self.done) / self.parallel)} left")
        if self.reruns:
            parts.append(f"{self.reruns} rerun{'s' * (self.reruns > 1)}")
        if self.failed:
            parts.append(f"{self.failed} failed")
        return f"[{self.label}] " + ", ".join(parts) + (f" {extra}" if extra else "")

    def report(self, extra: str = "") -> None:
        """Print one progress line (``extra`` appended)."""
        if self.enabled:
            print(self.line(extra), file=sys.stderr, flush=True)
        self.last_print = time.perf_counter()

    def advance(self, runs: int, seconds: float | None = None, every: float = 1.0) -> None:
        """Count ``runs`` more finished runs (a job that trained for ``seconds``, compile
        time excluded) and print (at most one line per ``every`` seconds, and the last)."""
        self.done += runs
        if seconds is not None:
            self.job_s += seconds
            self.job_runs += runs
        if self.done >= self.total or time.perf_counter() - self.last_print >= every:
            self.report()

    def heartbeat(self, every: float = 20.0) -> None:
        """Print a line if none was printed for ``every`` seconds."""
        if time.perf_counter() - self.last_print > every:
            self.report("(compiling/training)")

    def event(self, kind: str, seeds: list[int], message: str, **fields) -> None:
        """Count and print a rerun or a failure (``kind``), and journal it."""
        if kind == "rerun":
            self.reruns += 1
        else:
            self.failed += 1
        if self.journal is not None:
            self.journal.write(kind, seeds=list(seeds), message=message, **fields)
        self.report(f"({message})")


@contextmanager
def heartbeat(progress: Progress | None, every: float = 1.0):
    """Call ``progress.heartbeat()`` from a background thread while the block runs (a
    compiled call holds this thread for minutes)."""
    if progress is None or not progress.enabled:
        yield
        return
    stop = threading.Event()

    def beat():
        while not stop.wait(every):
            progress.heartbeat()

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@dataclass
class Job:
    """One job: its seeds, and how many times it was rerun after its worker was lost."""

    seeds: list[int]
    reruns: int = 0


class JobQueue:
    """The jobs of one run not started yet, and what became of those that did not finish:
    :meth:`lost` puts a job back (up to :data:`RETRIES` reruns), :meth:`failed` closes
    the queue; :meth:`raise_failures` raises once the jobs in flight are done."""

    def __init__(self, jobs: list[list[int]], progress: Progress):
        self.pending = [Job(list(seeds)) for seeds in jobs]
        self.progress = progress
        self.errors: list[str] = []

    def take(self) -> Job | None:
        """The next job to start; ``None`` when none is left or a job failed."""
        return self.pending.pop(0) if self.pending and not self.errors else None

    def open(self) -> bool:
        """Whether jobs are left to start."""
        return bool(self.pending) and not self.errors

    def lost(self, job: Job, reason: str) -> None:
        """``job``'s worker was lost: rerun it first, or fail when its reruns are spent."""
        if job.reruns >= RETRIES:
            self.failed(job, f"job for seeds {job.seeds} lost its worker {RETRIES + 1} "
                             f"times (last: {reason})")
            return
        job.reruns += 1
        self.pending.insert(0, job)
        self.progress.event("rerun", job.seeds, f"job for seeds {job.seeds} lost its "
                            f"worker ({reason}); rerun {job.reruns} of {RETRIES}",
                            reason=reason)

    def failed(self, job: Job, message: str, in_flight: int = 0) -> None:
        """``job`` failed: start no other job; the ``in_flight`` ones finish first."""
        self.errors.append(message)
        then = (f"; {in_flight} job{'s' * (in_flight != 1)} in flight finish, then the run "
                "stops" if in_flight else "")
        self.progress.event("failed", job.seeds, message.splitlines()[0] + then,
                            error=message)

    def raise_failures(self) -> None:
        """Raise :class:`RunnerError` with the first failure (and the count of others)."""
        if self.errors:
            more = len(self.errors) - 1
            raise RunnerError(self.errors[0] + (f"\n({more} more job{'s' * (more > 1)} "
                                                "failed: see the journal)" if more else ""))
