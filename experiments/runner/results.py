"""The tidy results table and the manifest of a finished run."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affect.storage import machine, versions
from affect.versions import MODEL_VERSION
from experiments.spec import CONFIRMATORY_SEEDS, ExperimentSpec


def tidy(spec: ExperimentSpec, results: list[dict[str, Any]], stamp: str) -> pd.DataFrame:
    """Long-format table: one row per seed x condition x step x metric.

    Columns: run (``{world}__{experiment}__{seed}__{stamp}``), experiment, world,
    condition, onset, seed, step, metric, value; sorted by condition (spec order), seed,
    metric and step.
    """
    cfg = spec.agent_config()
    batch = cfg.batch_size
    last = spec.steps_per_run()
    frames = [_metric_frame(spec, res, name, arr, batch, last)
              for res in results for name, arr in res["metrics"].items()]
    df = pd.concat(frames, ignore_index=True)
    df.insert(0, "world", spec.world)
    df.insert(0, "experiment", spec.name)
    df.insert(0, "run", [f"{spec.world}__{spec.name}__{s}__{stamp}" for s in df["seed"].to_numpy()])
    order = {c.name: i for i, c in enumerate(spec.conditions)}
    df["_order"] = df["condition"].map(order)
    df = df.sort_values(["_order", "seed", "metric", "step"], ignore_index=True)
    return df.drop(columns="_order")


def _metric_frame(spec, res, name: str, arr, batch: int, last: int) -> pd.DataFrame:
    n_s, n_c = arr.shape[:2]
    if arr.ndim == 3:
        n_u = arr.shape[2]
        steps = res.get("steps")
        steps = (np.arange(n_u) + 1) * batch if steps is None else np.asarray(steps)
    else:
        n_u, steps, arr = 1, np.array([last]), arr[..., None]
    s_idx, c_idx, u_idx = np.meshgrid(np.arange(n_s), np.arange(n_c), np.arange(n_u),
                                      indexing="ij")
    return pd.DataFrame({
        "condition": np.asarray([c.name for c in spec.conditions])[c_idx.ravel()],
        "onset": np.asarray([c.onset for c in spec.conditions])[c_idx.ravel()],
        "seed": np.asarray(res["seeds"])[s_idx.ravel()],
        "step": steps[u_idx.ravel()],
        "metric": name,
        "value": arr.ravel().astype(float),
    })


def git_revision() -> dict[str, Any]:
    """``{"revision": commit, "dirty": bool}`` of the affectlab checkout (``None`` values
    outside a git checkout)."""
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True,
                               text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return {"revision": None, "dirty": None}
    if rev.returncode != 0:
        return {"revision": None, "dirty": None}
    return {"revision": rev.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def manifest(spec: ExperimentSpec, df: pd.DataFrame, results: list[dict[str, Any]],
             workers: int, sessions: int, timing: dict[str, float]) -> dict[str, Any]:
    """What a results folder records about how it was made: spec, versions, git revision,
    seeds, runs, machine, device, workers, sessions and the timings of every job, and the
    version of the model (:data:`affect.versions.MODEL_VERSION`). ``timing``: the first
    session's start (``started``, epoch seconds) and the wall seconds of all sessions
    together (``wall_s``); ``total_s`` is the time since the first start. ``cpus``
    counts the jobs per CPU they ran on (:func:`job_cpus`): a run resumed on another
    machine, or spread over a cluster's nodes, can have several."""
    return {
        "experiment": spec.name,
        "spec": spec.to_dict(),
        "model": MODEL_VERSION,
        "versions": versions(),
        "git": git_revision(),
        "seeds": spec.seed_list(),
        "seed_range": {"this_run": spec.seed_range(),
                       "development": [0, CONFIRMATORY_SEEDS - 1],
                       "confirmatory": [CONFIRMATORY_SEEDS, None]},
        "runs": sorted(df["run"].unique().tolist()),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "device": results[0]["device"] if results else None,
        "cpus": job_cpus(results),
        "workers": workers,
        "sessions": sessions,
        "timings": {
            "total_s": time.time() - timing["started"],
            "wall_s": timing["wall_s"],
            "jobs": [{"seeds": r["seeds"], "compile_s": r["compile_s"], "run_s": r["run_s"],
                      "seeds_per_call": r.get("seeds_per_call"), "cpu": r.get("cpu"),
                      "resumed": bool(r.get("resumed", False))} for r in results],
        },
    }


def job_cpus(results: list[dict[str, Any]]) -> dict[str, int]:
    """How many jobs ran on each CPU (:func:`affect.storage.cpu_id`; ``"not recorded"``
    for jobs written before it was recorded)."""
    out: dict[str, int] = {}
    for r in results:
        key = r.get("cpu") or "not recorded"
        out[key] = out.get(key, 0) + 1
    return out


def cpus_note(cpus: dict[str, int]) -> str | None:
    """A sentence where a run's jobs ran on more than one recorded CPU (``cpus`` as
    :func:`job_cpus` counts them), else ``None``."""
    known = {k: n for k, n in cpus.items() if k != "not recorded"}
    if len(known) < 2:
        return None
    which = "; ".join(f"{n} on {k}" for k, n in sorted(known.items(), key=lambda kv: -kv[1]))
    return (f"its jobs ran on {len(known)} CPUs ({which}): XLA compiles for each CPU's "
            "vector sets, so a seed's numbers can depend on where it ran")
