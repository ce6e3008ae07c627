"""What a run shows and keeps of its jobs: the progress line (rate, time left, reruns,
failures), the queue's reruns of lost jobs and its stop after a failure, and a local
worker killed mid-run costing only its own job."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import threading
import time

import pandas as pd
import pytest

from experiments.runner import RunnerError, run_experiment
from experiments.runner.monitor import RETRIES, JobQueue, Progress
from tests.test_experiments import tiny_spec


class Events:
    """A journal that keeps its events in memory."""

    def __init__(self):
        self.events = []

    def write(self, event, **fields):
        self.events.append({"event": event, **fields})


def test_the_line_shows_rate_time_left_reruns_and_failures(capsys):
    bar = Progress(100, "x", parallel=2, journal=Events())
    bar.t0 -= 60.0  # a minute ago
    bar.advance(10, seconds=5.0)
    line = capsys.readouterr().err
    assert "10/100 runs, 10 runs/min, 1m00s elapsed, ~0m22s left" in line
    assert "rerun" not in line and "failed" not in line
    bar.event("rerun", [3], "lost")
    bar.event("rerun", [3], "lost again")
    bar.event("failed", [4], "it raised")
    err = capsys.readouterr().err.splitlines()
    assert err[0].endswith("1 rerun (lost)") and err[1].endswith("2 reruns (lost again)")
    assert err[2].endswith("2 reruns, 1 failed (it raised)")
    assert [e["event"] for e in bar.journal.events] == ["rerun", "rerun", "failed"]
    assert bar.journal.events[2]["seeds"] == [4]


def test_fast_jobs_print_a_line_a_second_and_the_last(capsys):
    bar = Progress(1000, "x")
    for _ in range(1000):
        bar.advance(1, seconds=0.001)
    lines = capsys.readouterr().err.splitlines()
    assert 1 <= len(lines) < 20 and lines[-1].startswith("[x] 1000/1000 runs, ")
    assert "e+" not in lines[-1]  # a high rate is written out: "60,000 runs/min"


def test_a_lost_job_is_rerun_first_then_fails_when_its_reruns_are_spent():
    queue = JobQueue([[0], [1]], Progress(2, "x", enabled=False, journal=Events()))
    job = queue.take()
    for attempt in range(1, RETRIES + 1):
        queue.lost(job, "exit code -9")
        assert queue.open() and (again := queue.take()) is job and job.reruns == attempt
    queue.lost(job, "exit code -9")
    assert not queue.open() and queue.take() is None  # the other job never starts
    with pytest.raises(RunnerError, match=rf"lost its worker {RETRIES + 1} times"):
        queue.raise_failures()
    assert [e["event"] for e in queue.progress.journal.events] == ["rerun"] * RETRIES + [
        "failed"]
    assert again is job


def test_a_failure_starts_no_new_job_and_counts_the_others():
    queue = JobQueue([[0], [1], [2], [3]], Progress(4, "x", enabled=False))
    a, b = queue.take(), queue.take()
    queue.failed(a, "job for seeds [0] failed: ValueError\ntraceback", in_flight=1)
    assert queue.take() is None and not queue.open()
    queue.failed(b, "job for seeds [1] failed: ValueError")
    with pytest.raises(RunnerError, match=r"seeds \[0\] failed(.|\n)*1 more job failed"):
        queue.raise_failures()
    JobQueue([[0]], Progress(1, "x", enabled=False)).raise_failures()  # none: no error


def _journal(out):
    return [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]


def test_a_killed_local_worker_costs_only_its_job(tmp_path):
    """SIGKILL a worker process mid-run: the pool replaces it and reruns its job, the
    experiment finishes with every seed written once, and the journal says so."""
    out = tmp_path / "killed"
    spec = tiny_spec(seeds=4, name="tiny-kill")
    killed = []

    def kill_one():
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            workers = [p for p in mp.active_children() if p.is_alive()]
            if len(workers) == 2:
                time.sleep(1.0)  # importing or compiling its first job
                os.kill(workers[0].pid, signal.SIGKILL)
                killed.append(workers[0].pid)
            time.sleep(0.05)

    thread = threading.Thread(target=kill_one, daemon=True)
    thread.start()
    run_experiment(spec, out, workers=2, seeds_per_job=1, progress=False, figures=False)
    thread.join(timeout=1)
    assert killed, "no worker process was seen"
    journal = _journal(out)
    seeds = [s for e in journal if e["event"] == "job" for s in e["seeds"]]
    assert sorted(seeds) == [0, 1, 2, 3]  # each job written once
    reruns = [e for e in journal if e["event"] == "rerun"]
    assert len(reruns) == 1 and "exit code -9" in reruns[0]["reason"]
    assert sorted(pd.read_csv(out / "results.csv")["seed"].unique()) == [0, 1, 2, 3]



def test_a_swallowed_timeout_alarm_repeats_and_is_raised_at_the_end():
    """Code that catches every exception (a gc callback, JAX's cache) can swallow the
    alarm once: it repeats every second, and a block that swallows them all still ends
    with the timeout."""
    from experiments.runner.pool import time_limit

    with pytest.raises(RunnerError, match="timeout of 0.2s"):
        with time_limit(0.2, "job"):
            try:
                time.sleep(5)  # the first alarm lands here, and is swallowed
            except RunnerError:
                pass
            time.sleep(5)  # the next one gets out
    t0 = time.perf_counter()
    with pytest.raises(RunnerError, match="timeout of 0.2s"):
        with time_limit(0.2, "job"):
            for _ in range(3):
                try:
                    time.sleep(5)
                except RunnerError:
                    pass
    assert time.perf_counter() - t0 < 5  # each sleep was cut short by an alarm
