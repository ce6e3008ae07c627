"""``run_experiment``: validated spec -> jobs -> tidy results, manifest, agents, report.

Runs that compile to the same shapes are grouped into *jobs*
(:mod:`~experiments.runner.jobs`), run here or in worker processes
(:mod:`~experiments.runner.pool`) and written, as each finishes, into a staging folder
(:mod:`~experiments.runner.store`). If the process dies at any moment (an exception,
Ctrl-C, SIGKILL, a power cut), running the same command again resumes: finished runs are
read back, not recomputed, and the results equal those of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from affect.storage import atomic_write_json, cpu_id, env_id
from experiments.agents import write_agents
from experiments.runner.cache import enable_compilation_cache
from experiments.runner.errors import RunnerError
from experiments.runner.jobs import seeds_per_call
from experiments.runner.monitor import Progress
from experiments.runner.pool import (
    default_workers,
    host_run,
    run_in_process,
    run_in_workers,
    spawnable,
)
from experiments.runner.ray_pool import Placement, ray_placement, run_in_ray
from experiments.runner.results import (
    loaded_revision,
    manifest,
    mixed_notes,
    tidy,
)
from experiments.runner.store import (
    Journal,
    Stage,
    fingerprint,
    finished_jobs,
    finished_spec,
    save_job,
    sessions_wall_s,
)
from experiments.runner.tracking import make_tracker
from experiments.spec import ExperimentSpec, SpecError
from experiments.tasks import report, session_analysis

EXECUTORS = ("local", "ray")
"""Where jobs run: this machine's processes, or Ray tasks (local cluster or
``RAY_ADDRESS``)."""


def check_spec(spec: ExperimentSpec) -> ExperimentSpec:
    """:meth:`ExperimentSpec.validate` plus what the runner needs of the catalogue (an
    online spec needs a session analysis for its world); raises :class:`SpecError`."""
    spec.validate()
    if spec.trainer == "online":
        session_analysis(spec)
    return spec


def check_out_dir(out_dir) -> Path:
    """``out_dir`` as a Path; a :class:`~experiments.spec.SpecError` if it cannot be one."""
    if not isinstance(out_dir, str | os.PathLike) or not str(out_dir):
        raise SpecError(f"out_dir must be a folder path, got {out_dir!r}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SpecError(
            f"out_dir: {out_dir} exists and is a file, not a folder; choose another --out "
            "or remove the file (affectlab never overwrites a file with a results folder)"
        )
    for parent in out_dir.parents:
        if parent.exists() and not parent.is_dir():
            raise SpecError(f"out_dir: {parent} (a parent of {out_dir}) is a file, not a folder")
    return out_dir


def plural(n: int, word: str, suffix: str = "s") -> str:
    """``"1 job"``, ``"2 jobs"``, ``"no worker processes"``."""
    return f"{n or 'no'} {word}{'' if n == 1 else suffix}"


def rounding_note(spec: ExperimentSpec) -> str | None:
    """A sentence when PPO's whole batches round ``total_steps`` down, else ``None``."""
    if spec.trainer != "ppo":
        return None
    done = spec.steps_per_run()
    if done == spec.total_steps:
        return None
    return (f"total_steps {spec.total_steps:,} is rounded down to {done:,} steps per run: "
            f"whole PPO batches of {spec.agent_config().batch_size:,} steps (num_envs x "
            "num_steps)")


def spec_summary(spec: ExperimentSpec) -> str:
    """One line: name, world, conditions, seeds and steps per run."""
    return (f"{spec.name}: {spec.world}, conditions {[c.name for c in spec.conditions]}, "
            f"{spec.seeds} seeds, {spec.steps_per_run():,} steps per run")


def _check_count(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def run_experiment(
    spec: ExperimentSpec,
    out_dir: str | Path,
    workers: int | None = None,
    seeds_per_job: int | None = None,
    figures: bool = True,
    progress: bool = True,
    fresh: bool = False,
    executor: str = "local", tracker: str | None = None,
) -> Path:
    """Run ``spec`` and write ``results.csv``, ``manifest.json``, the trained agents (PPO),
    the report (statistics, figure, claims) to ``out_dir``; resume an interrupted run of
    the same spec into the same ``out_dir`` (module docstring). Compiled programs are
    cached on disk (:mod:`~experiments.runner.cache`).

    Args:
        spec: the experiment (checked here, before anything is created or compiled).
        out_dir: output folder; replaced atomically when the run succeeds.
        workers: worker processes (0: run in this process). Default:
            :func:`~experiments.runner.pool.default_workers` (one per core on CPU, one per
            two cores for a host-run world, 0 on an accelerator), and 0 for worlds and
            channels defined in the script being run (a worker process could not import
            them; see :func:`~experiments.runner.pool.spawnable`).
        seeds_per_job: seeds in one job, the unit a resumed run keeps or redoes (and, on
            an accelerator, the seeds vmapped together). Default: 1 with workers, on a
            CPU or in a host-run (Gymnasium) world; all seeds otherwise.
        figures, progress: also write the report (statistics, figure, claims); print progress.
        fresh: discard the finished runs of an interrupted run instead of resuming.
        executor: ``"local"`` or ``"ray"`` (:mod:`~experiments.runner.ray_pool`).
        tracker: ``"tensorboard"``: each job's curves to TensorBoard too (``tracking``).
    Returns the output folder.
    """
    check_spec(spec)
    out_dir = check_out_dir(out_dir)
    enable_compilation_cache()
    if not fresh and _already_finished(spec, out_dir, figures, progress):
        return out_dir
    if progress and rounding_note(spec):
        print(f"[{spec.name}] {rounding_note(spec)}", file=sys.stderr)
    seeds = spec.seed_list()
    workers, seeds_per_job, place = _where(spec, executor, workers, seeds_per_job, progress)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = _stage_of(out_dir)
    track = make_tracker(tracker, spec, stage)
    t0 = time.perf_counter()
    with Stage(stage, fresh, fingerprint(spec)) as state:
        results, workers = _run_jobs(spec, state, seeds, seeds_per_job, workers, progress, place,
                                     track)
        t_jobs = time.perf_counter()
        _write_outputs(spec, state, results, workers, figures)
        t_written = time.perf_counter()
        state.finish(out_dir)
    if progress:
        print(f"[{spec.name}] " + time_breakdown(
            [r for r in results if not r.get("resumed")], t_jobs - t0, t_written - t_jobs,
            time.perf_counter() - t0, workers), file=sys.stderr)
        for note in mixed_notes(results):
            print(f"[{spec.name}] {note}", file=sys.stderr)
    return out_dir


def _stage_of(out_dir: Path) -> Path:
    """The staging folder of ``out_dir``; removes any old copy a killed rename left."""
    for old in out_dir.parent.glob(f".{out_dir.name}.old-*"):
        shutil.rmtree(old, ignore_errors=True)
    return out_dir.parent / f".{out_dir.name}.partial"


def _where(spec: ExperimentSpec, executor: str, workers: int | None,
           seeds_per_job: int | None, progress: bool) -> tuple[int, int, Placement | None]:
    """``(workers, seeds_per_job, Ray placement or None)``, checked: on Ray the cluster
    says how many tasks and their GPU shares; locally :func:`_choose_workers`."""
    if executor not in EXECUTORS:
        raise RunnerError(f"unknown executor {executor!r}; use one of {EXECUTORS}")
    if workers is not None:
        _check_count("workers", workers, 0)
    place = None
    if executor == "ray":
        place = ray_placement(workers, spec.seeds)
        workers, seeds_per_job = place.in_flight, seeds_per_job or place.seeds_per_job
    workers = _choose_workers(spec, workers, progress)
    if seeds_per_job is None:  # on a CPU, and in host-run worlds, one seed at a time anyway
        one_by_one = workers > 0 or host_run(spec) or seeds_per_call(spec.seeds) == 1
        seeds_per_job = 1 if one_by_one else spec.seeds
    _check_count("seeds_per_job", seeds_per_job, 1)
    return workers, seeds_per_job, place


def _choose_workers(spec: ExperimentSpec, workers: int | None, progress: bool) -> int:
    """``workers``, checked, or the default (with a line when a user's world keeps the
    run in this process)."""
    if workers is None:
        workers = default_workers(spec) if spawnable(spec) else 0
        if progress and default_workers(spec) > 1 and not spawnable(spec):
            print(f"[{spec.name}] runs in this process: its world or a channel is defined "
                  "in the script being run, which a worker process cannot import; define "
                  "it in a module (or name the world 'module:function') to use "
                  f"{plural(default_workers(spec), 'worker process', 'es')}", file=sys.stderr)
    _check_count("workers", workers, 0)
    return workers


def time_breakdown(results: list[dict[str, Any]], jobs_s: float, write_s: float,
                   total_s: float, workers: int) -> str:
    """Where a run's wall time went: the jobs phase (compile and training summed over this
    session's jobs, and what is left of the workers' time: process start-up, imports,
    evaluation outside the timed call, idle workers), then writing and the report."""
    compile_s = sum(r["compile_s"] for r in results)
    train_s = sum(r["run_s"] for r in results)
    slots = max(workers, 1) * jobs_s
    other = max(slots - compile_s - train_s, 0.0)
    where = f"{plural(workers, 'worker')}" if workers else "this process"
    return (f"{total_s:.0f} s wall: jobs {jobs_s:.0f} s ({where}: compile {compile_s:.0f} s, "
            f"training {train_s:.0f} s, start-up and idle {other:.0f} s of "
            f"{slots:.0f} s), results and report {write_s:.0f} s")


def _already_finished(spec: ExperimentSpec, out_dir: Path, figures: bool,
                      progress: bool) -> bool:
    """Whether ``out_dir`` holds a finished run of ``spec`` (then its report is rewritten
    and nothing is recomputed); a :class:`SpecError` if it holds one of another spec."""
    old = finished_spec(out_dir)
    if old is None:
        return False
    if fingerprint(old) != fingerprint(spec):
        raise SpecError(f"out_dir: {out_dir} holds a finished run of another spec (that "
                        f"run: {old.name!r}, this one: {spec.name!r}); choose another output "
                        "folder, or pass fresh=True (--fresh) to replace it")
    if progress:
        print(f"[{spec.name}] {out_dir} already holds a finished run of this spec: not "
              "rerun (fresh=True / --fresh recomputes it)", file=sys.stderr)
    if figures:
        report(out_dir)
    return True


def _run_jobs(spec: ExperimentSpec, state: Stage, seeds: list[int], seeds_per_job: int,
              workers: int, progress: bool, place: Placement | None = None, track=None
              ) -> tuple[list[dict[str, Any]], int]:
    """Run the jobs not finished yet (on Ray with ``place``), saving each as it finishes;
    returns every finished job (read back or computed) and the number of workers used."""
    job_dir, journal = state.stage / "jobs", Journal(state.stage / "journal.jsonl")
    results = finished_jobs(job_dir, seeds)
    done = {s for r in results for s in r["seeds"]}
    todo = [s for s in seeds if s not in done]
    jobs = [todo[i : i + seeds_per_job] for i in range(0, len(todo), seeds_per_job)]
    workers = min(workers, len(jobs))
    n_cond = len(spec.conditions)
    journal.write("resume" if results else "start", finished_seeds=sorted(done),
                  jobs=len(jobs), workers=workers, cpu=cpu_id(),
                  git=loaded_revision(), env=env_id())
    bar = Progress(len(seeds) * n_cond, spec.name, progress, parallel=workers, journal=journal)
    bar.done = len(done) * n_cond
    how = f"{plural(len(jobs), 'job')}, {plural(workers, 'worker process', 'es')}"
    bar.report(f"(resuming: {len(done)} of {len(seeds)} seeds already finished in {state.stage}; "
               f"{how} left)" if results else f"({how})")

    def on_done(result):
        save_job(job_dir, result)
        journal.write("job", seeds=list(result["seeds"]), compile_s=result["compile_s"],
                      run_s=result["run_s"])
        results.append(result)
        bar.advance(len(result["seeds"]) * n_cond, result["run_s"])
        if track is not None:
            track(result)

    try:
        if place is not None:
            run_in_ray(spec, jobs, dataclasses.replace(place, in_flight=max(workers, 1)),
                       spec.timeout_s, on_done, bar)
        elif workers == 0:
            run_in_process(spec, jobs, on_done, bar)
        else:
            run_in_workers(spec, jobs, workers, spec.timeout_s, on_done, bar)
    except BaseException as e:
        journal.write("stopped", error=f"{type(e).__name__}: {e}".splitlines()[0],
                      finished_jobs=len(results))
        if results:
            print(f"[{spec.name}] {len(results)} finished jobs are kept in {state.stage}; run "
                  "the same command again to resume (or pass fresh=True / --fresh to start "
                  "over)", file=sys.stderr)
        else:
            state.discard = True
        raise
    return sorted(results, key=lambda r: r["seeds"][0]), workers


def _write_outputs(spec: ExperimentSpec, state: Stage, results: list[dict[str, Any]],
                   workers: int, figures: bool) -> None:
    """results.csv, agents.npz (when every job has agents), manifest.json and the report."""
    df = tidy(spec, results, state.stamp)
    df.to_csv(state.stage / "results.csv.tmp", index=False)  # large: streamed, then renamed
    os.replace(state.stage / "results.csv.tmp", state.stage / "results.csv")
    if all(r.get("agents") for r in results):
        write_agents(state.stage / "agents.npz", spec, results)
    events = Journal(state.stage / "journal.jsonl").read()
    sessions = sum(e["event"] in ("start", "resume") for e in events)
    timing = {"started": state.started, "wall_s": sessions_wall_s(events)}
    atomic_write_json(state.stage / "manifest.json",
                      manifest(spec, df, results, workers, sessions, timing))
    if figures:
        report(state.stage)
