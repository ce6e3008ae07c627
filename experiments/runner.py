"""The runner: validated spec -> jobs -> tidy results, manifest and figure.

Runs that compile to the same shapes are grouped into *jobs*; a job ``vmap``s over
its seeds x lesion conditions in one compiled program (``jit(vmap(train))``), with each
seed's parameters initialised outside the vmap. On CPU the runner starts one worker
process per core, each with one XLA thread, and hands every worker one seed at a time
(vmap over seeds gains nothing on a small CPU; processes do). On an accelerator it runs
all seeds in one job in this process.

Every job has a wall-clock timeout. Finished jobs are written atomically (write to a
temporary file, then rename) as ``jobs/*.npz`` in a staging folder next to the output,
``.NAME.partial``, with a journal of every start and every finished job. The output
folder appears, complete, only when the whole experiment has finished. If the process
dies at any moment (an exception, Ctrl-C, SIGKILL, a power cut), running the same
command again resumes: finished runs are read back, not recomputed, and the results
equal those of an uninterrupted run. A staging folder written under a different spec
is discarded, and two runs cannot write to the same staging folder at once.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from functools import partial
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

import numpy as np

from experiments.spec import ExperimentSpec

SINGLE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


class RunnerError(RuntimeError):
    """A job failed or timed out."""


# --------------------------------------------------------------------------------------
# One job (runs in a worker process or in this process)
# --------------------------------------------------------------------------------------
_COMPILED: dict[str, Any] = {}


def _job_key(spec: ExperimentSpec, num_seeds: int) -> str:
    d = spec.to_dict()
    d.pop("seeds")
    return json.dumps(d, sort_keys=True, default=str) + f"|{num_seeds}"


def run_job(spec: ExperimentSpec, seeds: list[int]) -> dict[str, Any]:
    """Train ``len(seeds) x len(conditions)`` runs in one compiled program.

    Returns a dict with ``metrics`` (name -> array ``(S, C, U)`` per update or ``(S, C)``
    for ``eval/*``), ``compile_s`` and ``run_s``.
    """
    import jax

    from affect.lesion import stack_lesions
    from affect.networks import init_params
    from affect.ppo import init_agent_params, input_dim, make_static, make_train

    world, world_params = spec.make_world()
    cfg = spec.agent_config()
    if spec.trainer == "online":  # one world per run; batch fields do not apply
        cfg = dataclasses.replace(cfg, num_envs=1, num_steps=1, num_minibatches=1)
    static = make_static(world, cfg)
    affect_params = static.module.default_params()
    lesions = stack_lesions(list(spec.conditions), static.module.channel_names)
    n_s, n_c = len(seeds), len(spec.conditions)

    init_key = "init|" + _job_key(spec, 0)  # one compiled initialiser per agent shape
    if init_key not in _COMPILED:
        dim = input_dim(static)
        _COMPILED[init_key] = jax.jit(partial(init_params, static.network, input_dim=dim))
    init = _COMPILED[init_key]
    train_keys, params = [], []
    for seed in seeds:  # outside the vmap: batched QR can deadlock XLA:CPU
        k_init, k_train = jax.random.split(jax.random.PRNGKey(seed))
        params.append(init_agent_params(static, init, k_init))
        train_keys.append(k_train)
    if getattr(world, "host", False):  # a Gymnasium world: rollouts on the host
        return _run_host_job(spec, static, world_params, affect_params, lesions, seeds,
                             train_keys, params)
    stack = lambda xs: jax.tree_util.tree_map(lambda *a: jax.numpy.stack(a), *xs)
    rep = lambda x: jax.numpy.repeat(x, n_c, axis=0)  # seed-major: (s0c0, s0c1, s1c0, ...)
    keys = rep(jax.numpy.stack(train_keys))
    params = jax.tree_util.tree_map(rep, stack(params))
    lesion_b = jax.tree_util.tree_map(
        lambda x: jax.numpy.tile(x, (n_s,) + (1,) * (x.ndim - 1)), lesions
    )

    cache_key = _job_key(spec, n_s)
    t0 = time.perf_counter()
    if cache_key not in _COMPILED:
        if spec.trainer == "online":
            from affect.online import make_session

            onset = spec.total_steps - spec.test_steps if spec.test_steps else None
            fn = jax.jit(jax.vmap(make_session(static, world_params, affect_params, None, onset)))
        else:
            train = make_train(static, world_params, affect_params, _shifts(spec, cfg))

            def metrics_and_agents(k, p, les):
                runner, metrics = train(k, p, les)
                return metrics, runner.params

            fn = jax.jit(jax.vmap(metrics_and_agents))
        _COMPILED[cache_key] = fn.lower(keys, params, lesion_b).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = jax.block_until_ready(_COMPILED[cache_key](keys, params, lesion_b))
    run_s = time.perf_counter() - t0
    metrics, agents = out if spec.trainer != "online" else (out, None)
    by_run = lambda v: np.asarray(v).reshape((n_s, n_c) + np.shape(v)[1:])  # noqa: E731
    metrics = {k: by_run(v) for k, v in metrics.items()}
    if agents is not None:
        from experiments.agents import flatten_params

        agents = {k: by_run(v) for k, v in flatten_params(agents).items()}
    steps = None
    if spec.trainer == "online":
        from experiments.analyses import analyse_sessions

        metrics, steps = analyse_sessions(spec, world, world_params, metrics)
    return {
        "steps": steps,
        "seeds": list(seeds),
        "metrics": metrics,
        "agents": agents,
        "compile_s": compile_s,
        "run_s": run_s,
        "device": str(jax.devices()[0]),
    }


def _shifts(spec: ExperimentSpec, cfg):
    """The spec's evaluation shifts as ``(name, static, world_params, obs_noise)``."""
    from affect.ppo import make_static
    from worlds.registry import make

    out = []
    for name, shift in spec.shifts.items():
        world, params = make(shift.get("world", spec.world))
        overrides = dict(spec.world_params) if "world" not in shift else {}
        overrides.update(shift.get("world_params", {}))
        out.append((name, make_static(world, cfg), params.replace(**overrides),
                    float(shift.get("obs_noise", 0.0))))
    return out


def _run_host_job(spec, static, world_params, affect_params, lesions, seeds, keys, params):
    """Seeds x conditions one after the other, rollouts on the host (Gymnasium worlds)."""
    import jax

    from affect.host import make_host_train

    train = make_host_train(static, world_params, affect_params)
    n_c = len(spec.conditions)
    t0 = time.perf_counter()
    rows = []
    for key, net in zip(keys, params, strict=True):
        row = []
        for c in range(n_c):
            lesion = jax.tree_util.tree_map(lambda x, c=c: x[c], lesions)
            row.append(train(key, net, lesion)[1])
        rows.append(row)
    metrics = {
        k: np.stack([np.stack([np.asarray(r[k]) for r in row]) for row in rows])
        for k in rows[0][0]
    }
    return {
        "steps": None,
        "seeds": list(seeds),
        "metrics": metrics,
        "compile_s": 0.0,
        "run_s": time.perf_counter() - t0,
        "device": str(jax.devices()[0]),
    }


def _exit_with_parent() -> None:
    """Exit this worker when its parent dies (even by SIGKILL), so no orphan keeps
    computing a job nobody will collect."""
    import threading

    parent = os.getppid()

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _worker_main(conn) -> None:
    _exit_with_parent()
    while True:
        msg = conn.recv()
        if msg is None:
            return
        job_id, spec, seeds = msg
        try:
            conn.send((job_id, "ok", run_job(spec, seeds)))
        except BaseException:  # noqa: BLE001 - report everything to the parent
            conn.send((job_id, "error", traceback.format_exc()))


# --------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------
class Progress:
    """Prints ``[done/total runs] elapsed, ~left`` lines to stderr."""

    def __init__(self, total_runs: int, label: str, enabled: bool = True):
        self.total, self.done, self.label, self.enabled = total_runs, 0, label, enabled
        self.t0 = time.perf_counter()
        self.last_print = 0.0

    def _fmt(self, s: float) -> str:
        return f"{int(s // 60)}m{int(s % 60):02d}s"

    def report(self, extra: str = "") -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        left = ""
        if 0 < self.done < self.total:
            left = f", ~{self._fmt(elapsed / self.done * (self.total - self.done))} left"
        print(
            f"[{self.label}] {self.done}/{self.total} runs, {self._fmt(elapsed)} elapsed{left}"
            + (f" {extra}" if extra else ""),
            file=sys.stderr,
            flush=True,
        )
        self.last_print = time.perf_counter()

    def advance(self, runs: int) -> None:
        self.done += runs
        self.report()

    def heartbeat(self, every: float = 20.0) -> None:
        if time.perf_counter() - self.last_print > every:
            self.report("(compiling/training)")


# --------------------------------------------------------------------------------------
# Scheduling
# --------------------------------------------------------------------------------------
def _save_job(job_dir: Path, result: dict[str, Any]) -> None:
    """Write one finished job atomically (a reader sees the whole file or none)."""
    name = (
        "seeds-" + "-".join(f"{s:05d}" for s in result["seeds"][:1]) + f"-n{len(result['seeds'])}"
    )
    arrays = {f"m::{k}": v for k, v in result["metrics"].items()}
    arrays.update({f"p::{k}": v for k, v in (result.get("agents") or {}).items()})
    arrays["seeds"] = np.asarray(result["seeds"])
    if result.get("steps") is not None:
        arrays["steps"] = np.asarray(result["steps"])
    arrays["compile_s"] = np.asarray(result["compile_s"])
    arrays["run_s"] = np.asarray(result["run_s"])
    arrays["device"] = np.asarray(result["device"])
    atomic_savez(job_dir / f"{name}.npz", arrays)


def atomic_savez(path: Path, arrays: dict[str, Any]) -> None:
    """``np.savez`` to a temporary file in the same folder, flushed to disk, then renamed
    to ``path``: a reader (or a restart after a crash) sees the whole file or none."""
    fd, tmp = tempfile.mkstemp(dir=Path(path).parent, suffix=".npz.tmp")
    with os.fdopen(fd, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _load_job(path: Path) -> dict[str, Any]:
    """A job written by :func:`_save_job`, as :func:`run_job` returned it."""
    with np.load(path) as z:
        return {
            "seeds": [int(s) for s in z["seeds"]],
            "steps": z["steps"] if "steps" in z.files else None,
            "metrics": {k[3:]: z[k] for k in z.files if k.startswith("m::")},
            "agents": {k[3:]: z[k] for k in z.files if k.startswith("p::")} or None,
            "compile_s": float(z["compile_s"]),
            "run_s": float(z["run_s"]),
            "device": str(z["device"]),
            "resumed": True,
        }


def _finished_jobs(job_dir: Path, seeds: list[int]) -> list[dict[str, Any]]:
    """Finished jobs in a staging folder (half-written temporary files are removed; a
    file that cannot be read, or holds seeds outside the spec, is removed and redone)."""
    out, wanted, seen = [], set(seeds), set()
    for tmp in job_dir.glob("*.tmp"):
        tmp.unlink(missing_ok=True)
    for path in sorted(job_dir.glob("*.npz")):
        try:
            res = _load_job(path)
        except Exception:  # noqa: BLE001 - unreadable: recompute it
            path.unlink(missing_ok=True)
            continue
        if not set(res["seeds"]) <= wanted or set(res["seeds"]) & seen:
            path.unlink(missing_ok=True)
            continue
        seen |= set(res["seeds"])
        out.append(res)
    return out


class _Journal:
    """An append-only log of the staging folder's life: starts, resumes, finished jobs."""

    def __init__(self, path: Path):
        self.path = path

    def write(self, event: str, **fields) -> None:
        line = json.dumps({"event": event, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                           "pid": os.getpid(), **fields})
        with open(self.path, "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a crash
                continue
        return out


def _run_in_process(spec, jobs, on_done) -> None:
    for seeds in jobs:
        on_done(run_job(spec, seeds))


def _run_in_workers(spec, jobs, workers: int, timeout_s: float, on_done, progress) -> None:
    ctx = mp.get_context("spawn")
    old = os.environ.get("XLA_FLAGS")
    os.environ["XLA_FLAGS"] = f"{old or ''} {SINGLE_THREAD_XLA}".strip()
    procs: dict[int, tuple[Any, Any]] = {}
    try:
        for w in range(workers):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_worker_main, args=(child,), daemon=True)
            p.start()
            procs[w] = (p, parent)
    finally:
        if old is None:
            os.environ.pop("XLA_FLAGS", None)
        else:
            os.environ["XLA_FLAGS"] = old
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
                proc, conn = procs[w]
                if conn in ready:
                    try:
                        _, status, payload = conn.recv()
                    except EOFError:
                        raise RunnerError(
                            f"worker for seeds {busy[w][1]} died (exit code {proc.exitcode})"
                        ) from None
                    if status != "ok":
                        raise RunnerError(f"job for seeds {busy[w][1]} failed:\n{payload}")
                    del busy[w]
                    on_done(payload)
                elif time.perf_counter() - busy[w][2] > timeout_s:
                    proc.kill()
                    raise RunnerError(
                        f"job for seeds {busy[w][1]} exceeded its timeout of {timeout_s:.0f}s "
                        "(raise spec.timeout_s or --timeout if the machine is just slow)"
                    )
                elif not proc.is_alive():
                    raise RunnerError(
                        f"worker for seeds {busy[w][1]} died (exit code {proc.exitcode})"
                    )
            progress.heartbeat()
    finally:
        for _proc, conn in procs.values():
            try:
                conn.send(None)
            except (OSError, BrokenPipeError):
                pass
        for proc, _ in procs.values():
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()


def _spawnable(spec: ExperimentSpec) -> bool:
    """Whether a fresh worker process can rebuild the experiment: affectlab's own JAX
    worlds and channels. Worlds or channels registered by a user's script, and host-run
    (Gymnasium) worlds, run in this process unless ``workers`` is given."""
    from affect.channels import get_channel
    from worlds.registry import check_world_id, make

    def own(fn, package):
        return getattr(fn, "__module__", "").split(".")[0] == package

    world_spec = check_world_id(spec.world)
    channels_own = all(own(get_channel(c).step, "affect") for c in spec.agent.affect_channels)
    world_own = own(world_spec.factory, "worlds") and not getattr(
        make(spec.world)[0], "host", False
    )
    return channels_own and world_own


def default_workers() -> int:
    import jax

    if jax.default_backend() != "cpu":
        return 0
    return max(1, min(os.cpu_count() or 1, 8))


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------
def tidy(spec: ExperimentSpec, results: list[dict[str, Any]], stamp: str):
    """Long-format table: one row per seed x condition x step x metric."""
    import pandas as pd

    cfg = spec.agent_config()
    batch = cfg.batch_size
    final_step = cfg.num_updates * batch
    last = spec.total_steps if spec.trainer == "online" else final_step
    frames = []
    for res in results:
        for name, arr in res["metrics"].items():
            n_s, n_c = arr.shape[:2]
            if arr.ndim == 3:
                n_u = arr.shape[2]
                steps = res.get("steps")
                steps = (np.arange(n_u) + 1) * batch if steps is None else np.asarray(steps)
            else:
                n_u, steps, arr = 1, np.array([last]), arr[..., None]
            s_idx, c_idx, u_idx = np.meshgrid(
                np.arange(n_s), np.arange(n_c), np.arange(n_u), indexing="ij"
            )
            frames.append(
                pd.DataFrame(
                    {
                        "condition": np.asarray([c.name for c in spec.conditions])[c_idx.ravel()],
                        "onset": np.asarray([c.onset for c in spec.conditions])[c_idx.ravel()],
                        "seed": np.asarray(res["seeds"])[s_idx.ravel()],
                        "step": steps[u_idx.ravel()],
                        "metric": name,
                        "value": arr.ravel().astype(float),
                    }
                )
            )
    df = pd.concat(frames, ignore_index=True)
    df.insert(0, "world", spec.world)
    df.insert(0, "experiment", spec.name)
    df.insert(0, "run", [f"{spec.world}__{spec.name}__{s}__{stamp}" for s in df["seed"].to_numpy()])
    order = {c.name: i for i, c in enumerate(spec.conditions)}
    df["_order"] = df["condition"].map(order)
    df = df.sort_values(["_order", "seed", "metric", "step"], ignore_index=True)
    return df.drop(columns="_order")


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in [
        "affectlab",
        "jax",
        "jaxlib",
        "flax",
        "optax",
        "chex",
        "numpy",
        "gymnasium",
        "pandas",
        "matplotlib",
        "seaborn",
    ]:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def git_revision() -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return {"revision": None, "dirty": None}
    if rev.returncode != 0:
        return {"revision": None, "dirty": None}
    return {"revision": rev.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------
def run_experiment(
    spec: ExperimentSpec,
    out_dir: str | Path,
    workers: int | None = None,
    seeds_per_job: int | None = None,
    figures: bool = True,
    progress: bool = True,
    fresh: bool = False,
) -> Path:
    """Run ``spec`` and write ``results.csv``, ``manifest.json`` and the figure to ``out_dir``.

    Resumes an interrupted run of the same spec into the same ``out_dir`` (see the module
    docstring).

    Args:
        spec: the experiment (validated here, before anything is created or compiled).
        out_dir: output folder; replaced atomically when the run succeeds.
        workers: worker processes (0: run in this process). Default: one per core on CPU,
            0 on an accelerator, and 0 for worlds registered outside affectlab or run on
            the host (a worker process could not rebuild them).
        seeds_per_job: seeds vmapped together in one job. Default: 1 with workers, all
            seeds without.
        figures: also draw the figure.
        progress: print progress to stderr.
        fresh: discard the finished runs of an interrupted run instead of resuming.

    Returns:
        The output folder.
    """
    spec.validate()
    out_dir = check_out_dir(out_dir)
    if workers is None:
        workers = default_workers() if _spawnable(spec) else 0
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers must be an int >= 0, got {workers!r}")
    seeds = spec.seed_list()
    if seeds_per_job is None:
        seeds_per_job = 1 if workers > 0 else len(seeds)
    if isinstance(seeds_per_job, bool) or not isinstance(seeds_per_job, int) or seeds_per_job < 1:
        raise ValueError(f"seeds_per_job must be a positive int, got {seeds_per_job!r}")

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = out_dir.parent / f".{out_dir.name}.partial"
    for old in out_dir.parent.glob(f".{out_dir.name}.old-*"):  # left by a killed rename
        shutil.rmtree(old, ignore_errors=True)
    with _StageLock(stage, fresh, _fingerprint(spec)) as state:
        job_dir = stage / "jobs"
        journal = _Journal(stage / "journal.jsonl")
        results = _finished_jobs(job_dir, seeds)
        done = {s for r in results for s in r["seeds"]}
        todo = [s for s in seeds if s not in done]
        jobs = [todo[i : i + seeds_per_job] for i in range(0, len(todo), seeds_per_job)]
        workers = min(workers, len(jobs))
        n_cond = len(spec.conditions)
        journal.write("resume" if results else "start", finished_seeds=sorted(done),
                      jobs=len(jobs), workers=workers)
        bar = Progress(len(seeds) * n_cond, spec.name, progress)
        bar.done = len(done) * n_cond
        if results:
            bar.report(f"(resuming: {len(done)} of {len(seeds)} seeds already finished in "
                       f"{stage}; {len(jobs)} jobs left, {workers or 'no'} worker processes)")
        else:
            bar.report(f"({len(jobs)} jobs, {workers or 'no'} worker processes)")

        def on_done(result):
            _save_job(job_dir, result)
            journal.write("job", seeds=list(result["seeds"]), compile_s=result["compile_s"],
                          run_s=result["run_s"])
            results.append(result)
            bar.advance(len(result["seeds"]) * n_cond)

        try:
            if workers == 0:
                _run_in_process(spec, jobs, on_done)
            else:
                _run_in_workers(spec, jobs, workers, spec.timeout_s, on_done, bar)
        except BaseException:
            if results:
                print(f"[{spec.name}] {len(results)} finished jobs are kept in {stage}; run "
                      "the same command again to resume (or pass fresh=True / --fresh to "
                      "start over)", file=sys.stderr)
            else:
                state.discard = True
            raise
        results.sort(key=lambda r: r["seeds"][0])
        df = tidy(spec, results, state.stamp)
        df.to_csv(stage / "results.csv.tmp", index=False)
        os.replace(stage / "results.csv.tmp", stage / "results.csv")
        if all(r.get("agents") for r in results):
            from experiments.agents import write_agents

            write_agents(stage / "agents.npz", spec, results)
        events = journal.read()
        manifest = {
            "experiment": spec.name,
            "spec": spec.to_dict(),
            "versions": versions(),
            "git": git_revision(),
            "seeds": seeds,
            "runs": sorted(df["run"].unique().tolist()),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
            "device": results[0]["device"] if results else None,
            "workers": workers,
            "sessions": sum(e["event"] in ("start", "resume") for e in events),
            "timings": {
                "total_s": time.time() - state.started,
                "jobs": [
                    {"seeds": r["seeds"], "compile_s": r["compile_s"], "run_s": r["run_s"],
                     "resumed": bool(r.get("resumed", False))}
                    for r in results
                ],
            },
        }
        _write_json(stage / "manifest.json", manifest)
        if figures:
            from experiments.figures import draw

            draw(stage)
        state.finish(out_dir)
    return out_dir


def check_out_dir(out_dir) -> Path:
    """``out_dir`` as a Path; a :class:`~experiments.spec.SpecError` if it cannot be one."""
    from experiments.spec import SpecError

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


def _fingerprint(spec: ExperimentSpec) -> dict[str, Any]:
    """What must match for finished runs to be reused (the timeout may change)."""
    d = spec.to_dict()
    d.pop("timeout_s", None)
    return json.loads(json.dumps(d, default=str))


class _StageLock:
    """The staging folder ``.NAME.partial`` of one output: created or resumed on entry,
    locked against a second writer, moved into place by :meth:`finish`, and removed on
    exit if ``discard`` was set (nothing finished worth keeping)."""

    def __init__(self, stage: Path, fresh: bool, fingerprint: dict[str, Any]):
        self.stage, self.fresh, self.fingerprint = stage, fresh, fingerprint
        self.discard, self._lock = False, None

    def __enter__(self):
        stage = self.stage
        state_file = stage / "state.json"
        if stage.exists():
            state = None
            try:
                state = json.loads(state_file.read_text())
            except (OSError, json.JSONDecodeError):
                pass
            if self.fresh or state is None or state.get("spec") != self.fingerprint:
                self._take_lock()
                if state is not None and not self.fresh:
                    print(f"note: {stage} holds runs of a different spec; discarding them",
                          file=sys.stderr)
                self._release()
                shutil.rmtree(stage)
        stage.mkdir(exist_ok=True)
        (stage / "jobs").mkdir(exist_ok=True)
        self._take_lock()
        if not state_file.exists():
            _write_json(state_file, {"spec": self.fingerprint,
                                     "stamp": time.strftime("%Y%m%d-%H%M%S"),
                                     "started": time.time()})
        state = json.loads(state_file.read_text())
        self.stamp, self.started = state["stamp"], state["started"]
        return self

    def _take_lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform
            return
        f = open(self.stage / ".lock", "a")  # noqa: SIM115 - held until exit
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise RunnerError(
                f"another affectlab run is writing to {self.stage}; wait for it to finish "
                "or stop it first"
            ) from None
        self._lock = f

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def finish(self, out_dir: Path) -> None:
        _replace_dir(self.stage, out_dir)  # a crash before this line leaves a resumable stage
        for name in (".lock", "state.json"):
            (out_dir / name).unlink(missing_ok=True)
        self._release()

    def __exit__(self, *exc):
        self._release()
        if self.discard:
            shutil.rmtree(self.stage, ignore_errors=True)
        return False


def _replace_dir(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``, replacing an existing ``dst`` folder."""
    if dst.exists():
        trash = dst.parent / f".{dst.name}.old-{os.getpid()}"
        os.replace(dst, trash)
        os.replace(src, dst)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(src, dst)


def spec_summary(spec: ExperimentSpec) -> str:
    cfg = spec.agent_config()
    return (
        f"{spec.name}: {spec.world}, conditions {[c.name for c in spec.conditions]}, "
        f"{spec.seeds} seeds, {cfg.num_updates * cfg.batch_size:,} steps per run"
    )


__all__ = ["run_experiment", "run_job", "tidy", "RunnerError"]
