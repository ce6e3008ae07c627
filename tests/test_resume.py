"""Resuming an interrupted experiment: nothing finished is recomputed, nothing is lost,
and the results equal those of an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest
from test_experiments import tiny_spec

from experiments.runner import RunnerError, run_experiment
from experiments.runner import pool as runner_mod  # where jobs are run


def _values(out):
    return pd.read_csv(out / "results.csv").drop(columns="run")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "ref"
    return run_experiment(tiny_spec(seeds=3), out, workers=0, seeds_per_job=1,
                          progress=False, figures=False)


def test_crash_between_runs_resumes_without_recomputing(tmp_path, monkeypatch, uninterrupted):
    real = runner_mod.run_job
    calls = []

    def crash_on_second(spec, seeds):
        calls.append(list(seeds))
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        return real(spec, seeds)

    monkeypatch.setattr(runner_mod, "run_job", crash_on_second)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_experiment(tiny_spec(seeds=3), out, workers=0, seeds_per_job=1, progress=False,
                       figures=False)
    stage = tmp_path / ".out.partial"
    assert not out.exists() and stage.is_dir()
    assert [p.name for p in (stage / "jobs").iterdir()] == ["seeds-00000-n1.npz"]

    calls.clear()
    monkeypatch.setattr(runner_mod, "run_job", lambda spec, seeds: calls.append(list(seeds))
                        or real(spec, seeds))
    run_experiment(tiny_spec(seeds=3), out, workers=0, seeds_per_job=1, progress=False,
                   figures=False)
    assert calls == [[1], [2]]  # seed 0 was read back, not recomputed
    pd.testing.assert_frame_equal(_values(out), _values(uninterrupted))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the stage became the output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sessions"] == 2
    assert [j["resumed"] for j in manifest["timings"]["jobs"]] == [True, False, False]
    events = [json.loads(x)["event"] for x in (out / "journal.jsonl").read_text().splitlines()]
    assert events == ["start", "job", "stopped", "resume", "job", "job"]
    assert not (out / "state.json").exists() and not (out / ".lock").exists()


def test_a_stage_of_another_spec_is_discarded(tmp_path, monkeypatch):
    real = runner_mod.run_job
    calls = []

    def crash_on_second(spec, seeds):
        calls.append(list(seeds))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(spec, seeds)

    monkeypatch.setattr(runner_mod, "run_job", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(tiny_spec(seeds=2), tmp_path / "o", workers=0, seeds_per_job=1,
                       progress=False, figures=False)
    calls.clear()
    monkeypatch.setattr(runner_mod, "run_job", lambda spec, seeds: calls.append(list(seeds))
                        or real(spec, seeds))
    changed = tiny_spec(seeds=2, total_steps=8 * 16 * 2)  # another spec: seed 0 is redone
    run_experiment(changed, tmp_path / "o", workers=0, seeds_per_job=1, progress=False,
                   figures=False)
    assert calls == [[0], [1]]


def test_a_second_writer_is_refused(tmp_path):
    import fcntl

    stage = tmp_path / ".o.partial"
    stage.mkdir()
    held = open(stage / ".lock", "a")  # noqa: SIM115
    fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        with pytest.raises(RunnerError, match="another affectlab run"):
            run_experiment(tiny_spec(seeds=1), tmp_path / "o", workers=0, progress=False)
    finally:
        held.close()


HANG = 1200  # seconds after which a child process counts as hung (never a speed limit)
SCRIPT = textwrap.dedent(
    """
    import sys
    from experiments.runner import run_experiment
    from test_experiments import tiny_spec
    run_experiment(tiny_spec(seeds=3), sys.argv[1], workers=1, progress=False, figures=False)
    """
)


def test_sigkill_at_any_moment_then_resume(tmp_path, uninterrupted):
    """A real SIGKILL while the runner and its worker compute; the rerun finishes."""
    out = tmp_path / "out"
    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(here), here])}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(out)], env=env,
                            start_new_session=True)
    jobs = tmp_path / ".out.partial" / "jobs"
    deadline = time.time() + HANG  # a guard against a hung child, not a speed check
    while time.time() < deadline and not list(jobs.glob("*.npz")) and proc.poll() is None:
        time.sleep(0.2)
    assert list(jobs.glob("*.npz")), f"no job finished (child exit code {proc.poll()})"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=HANG)
    finished = {p.name: p.stat().st_mtime_ns for p in jobs.glob("*.npz")}
    assert not out.exists()
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(out)], env=env, timeout=HANG)
    assert done.returncode == 0
    for name, mtime in finished.items():  # finished jobs were kept, not rewritten
        assert (out / "jobs" / name).stat().st_mtime_ns == mtime
    pd.testing.assert_frame_equal(_values(out), _values(uninterrupted))


def test_the_wall_time_of_a_resumed_run_leaves_out_the_pause():
    """Each session counts from its start or resume to its last event (the last one to
    now): the hours between an interruption and the resume are not run time."""
    import time as _time

    from experiments.runner.store import sessions_wall_s

    t0 = _time.mktime(_time.strptime("2026-12-02T10:00:00", "%Y-%m-%dT%H:%M:%S"))

    def at(event, s):
        return {"event": event, "time": _time.strftime("%Y-%m-%dT%H:%M:%S",
                                                       _time.localtime(t0 + s))}

    events = [at("start", 0), at("job", 10), at("job", 20),  # killed after 20 s
              at("resume", 3600), at("job", 3630)]
    assert sessions_wall_s(events, now=t0 + 3640) == 20 + 40
    assert sessions_wall_s([], now=t0) == 0.0


def test_a_run_time_is_read_from_the_journal_where_the_manifest_predates_wall_s(tmp_path):
    import json as _json
    import time as _time

    from experiments.reproduce import _compute_seconds

    t0 = _time.mktime(_time.strptime("2026-12-02T10:00:00", "%Y-%m-%dT%H:%M:%S"))
    stamp = lambda s: _time.strftime("%Y-%m-%dT%H:%M:%S", _time.localtime(t0 + s))  # noqa: E731
    d = tmp_path / "run"
    d.mkdir()
    (d / "journal.jsonl").write_text("".join(
        _json.dumps({"event": e, "time": stamp(s)}) + "\n"
        for e, s in [("start", 0), ("job", 20), ("resume", 3600), ("job", 3630)]))
    (d / "manifest.json").write_text(_json.dumps({"timings": {"total_s": 3640.0}}))
    assert _compute_seconds(d) == 20 + 30  # to the last finished job
    (d / "manifest.json").write_text(_json.dumps({"timings": {"total_s": 3640.0,
                                                                 "wall_s": 55.0}}))
    assert _compute_seconds(d) == 55.0


def test_each_job_records_its_cpu_and_a_run_on_several_says_so(tmp_path):
    """A resumed run can finish on another machine (and a Ray run spans nodes): each job
    keeps the CPU it ran on, old job files read back as unrecorded, the manifest counts
    the jobs per CPU, and a run on two CPUs says so in its note and its docs stamp."""
    import numpy as np

    from affect.storage import cpu_id
    from experiments.reproduce import run_stamp
    from experiments.runner.results import job_counts, mixed_notes
    from experiments.runner.store import load_job, save_job

    job = {"seeds": [3], "metrics": {"m": np.zeros((1, 2))}, "compile_s": 1.0, "run_s": 2.0,
           "device": "cpu", "seeds_per_call": 1, "cpu": "Test CPU [avx2]"}
    assert load_job(save_job(tmp_path, job))["cpu"] == "Test CPU [avx2]"
    (tmp_path / "old").mkdir()
    old = save_job(tmp_path / "old", {**job, "cpu": None})
    assert load_job(old)["cpu"] is None
    assert cpu_id({"cpu": "X", "cpu_flags": ["avx", "avx2"]}) == "X [avx avx2]"
    assert cpu_id({"cpu": None}) is None

    jobs = [job, job, {**job, "cpu": "Other CPU [avx512f]"}, {**job, "cpu": None}]
    assert job_counts(jobs, "cpu") == {"Test CPU [avx2]": 2, "Other CPU [avx512f]": 1,
                                       "not recorded": 1}
    (note,) = mixed_notes(jobs)
    assert "2 CPUs (2 on Test CPU [avx2]; 1 on Other CPU [avx512f])" in note
    assert mixed_notes([job, {**job, "cpu": None}]) == []

    out = run_experiment(tiny_spec(seeds=2), tmp_path / "run", workers=0, progress=False,
                         figures=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["cpus"] == {cpu_id() or "not recorded": 2}
    assert {j["cpu"] for j in manifest["timings"]["jobs"]} == {cpu_id()}
    start = json.loads((out / "journal.jsonl").read_text().splitlines()[0])
    assert start["event"] == "start" and start["cpu"] == cpu_id()
    assert "several CPUs" not in run_stamp(out)
    manifest["cpus"] = job_counts(jobs, "cpu")
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert "(its jobs on several CPUs: manifest cpus)" in run_stamp(out)


def test_each_job_records_the_revision_it_ran_and_a_run_on_several_says_so(tmp_path,
                                                                           monkeypatch):
    """A run resumed over several sessions can run on several commits: each job keeps the
    revision its process loaded (not the checkout's when the manifest is written), the
    manifest counts the jobs per revision, and a run on two says so."""
    import subprocess

    import numpy as np

    from affect.storage import git_revision, revision_id
    from experiments.reproduce import run_stamp
    from experiments.runner import jobs as jobs_mod
    from experiments.runner import results as results_mod
    from experiments.runner.results import job_counts, mixed_notes
    from experiments.runner.store import load_job, save_job

    job = {"seeds": [3], "metrics": {"m": np.zeros((1, 2))}, "compile_s": 1.0, "run_s": 2.0,
           "device": "cpu", "seeds_per_call": 1, "cpu": None, "git": "abc+uncommitted"}
    assert load_job(save_job(tmp_path, job))["git"] == "abc+uncommitted"
    (tmp_path / "old").mkdir()
    assert load_job(save_job(tmp_path / "old", {**job, "git": None}))["git"] is None
    assert revision_id({"revision": "abc", "dirty": False}) == "abc"
    assert revision_id({"revision": "abc", "dirty": True}) == "abc+uncommitted"
    assert revision_id({"revision": None, "dirty": None}) is None
    jobs = [job, {**job, "git": "def"}, {**job, "git": None}]
    assert job_counts(jobs, "git") == {"abc+uncommitted": 1, "def": 1, "not recorded": 1}
    (note,) = mixed_notes(jobs)
    assert "2 revisions of affectlab (1 on abc+uncommitted; 1 on def)" in note
    assert mixed_notes(jobs[:1] + jobs[2:]) == []

    # a checkout of its own: the revision loaded stays, the later one is said apart
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "f").write_text("1")
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    loaded = git_revision(repo)
    assert loaded["revision"] and loaded["dirty"] is False
    # a folder inside another checkout (an installed package in a project's venv) is not
    # that checkout: its commit is not affectlab's
    (repo / "site-packages").mkdir()
    assert git_revision(repo / "site-packages") == {"revision": None, "dirty": None}
    assert git_revision(tmp_path / "old")["revision"] is None  # no checkout at all
    monkeypatch.setattr(results_mod, "LOADED_GIT", loaded)
    first = run_experiment(tiny_spec(seeds=2), tmp_path / "run", workers=0, progress=False,
                           figures=False)
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["git"] == loaded and "git_at_write" in manifest  # this checkout differs
    # the jobs (run in this process here) keep the revision it loaded
    assert set(manifest["revisions"]) == {jobs_mod._GIT or "not recorded"}
    start = json.loads((first / "journal.jsonl").read_text().splitlines()[0])
    assert start["git"] == revision_id(loaded)
    assert "several revisions" not in run_stamp(first)
    manifest["revisions"] = job_counts(jobs, "git")
    (first / "manifest.json").write_text(json.dumps(manifest))
    assert "(its jobs on several revisions of affectlab: manifest revisions)" in run_stamp(first)


def test_each_job_records_its_package_versions_and_a_run_with_several_says_so(tmp_path):
    """A run resumed after an upgrade (or in a venv made again from version ranges) can
    mix package versions: each job keeps those it computed with."""
    import numpy as np

    from affect.storage import env_id, versions
    from experiments.reproduce import run_stamp
    from experiments.runner.results import job_counts, mixed_notes
    from experiments.runner.store import load_job, save_job

    here = env_id()
    assert here.startswith(f"python {versions()['python']}, jax ") and "numpy" in here
    assert env_id({"python": "3.11", "jax": "1"}) == (
        "python 3.11, jax 1, jaxlib ?, flax ?, optax ?, chex ?, numpy ?")
    job = {"seeds": [3], "metrics": {"m": np.zeros((1, 2))}, "compile_s": 1.0, "run_s": 2.0,
           "device": "cpu", "seeds_per_call": 1, "env": here}
    assert load_job(save_job(tmp_path, job))["env"] == here
    jobs = [job, {**job, "env": "python 3.11, jax 1"}]
    (note,) = mixed_notes(jobs)
    assert "2 sets of package versions" in note

    out = run_experiment(tiny_spec(seeds=2), tmp_path / "run", workers=0, progress=False,
                         figures=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["environments"] == {here: 2}
    assert {j["env"] for j in manifest["timings"]["jobs"]} == {here}
    start = json.loads((out / "journal.jsonl").read_text().splitlines()[0])
    assert start["env"] == here
    manifest["environments"] = job_counts(jobs, "env")
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert "(its jobs on several sets of package versions: manifest environments)" in \
        run_stamp(out)
