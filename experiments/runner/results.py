"""The tidy results table and the manifest of a finished run."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from affect.storage import git_revision, loaded_git, machine, revision_id, versions
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


LOADED_GIT = loaded_git()
"""The revision of affectlab this process loaded (:func:`affect.storage.loaded_git`): the
code that runs, whatever the checkout holds by the time a manifest is written."""


def loaded_revision() -> str | None:
    """:data:`LOADED_GIT` in one string (:func:`affect.storage.revision_id`)."""
    return revision_id(LOADED_GIT)


def manifest(spec: ExperimentSpec, df: pd.DataFrame, results: list[dict[str, Any]],
             workers: int, sessions: int, timing: dict[str, float]) -> dict[str, Any]:
    """What a results folder records about how it was made: spec, versions, git revision,
    seeds, runs, machine, device, workers, sessions and the timings of every job, and the
    version of the model (:data:`affect.versions.MODEL_VERSION`). ``timing``: the first
    session's start (``started``, epoch seconds) and the wall seconds of all sessions
    together (``wall_s``); ``total_s`` is the time since the first start. ``cpus``,
    ``revisions`` and ``environments`` count the jobs per CPU, revision of affectlab and
    package versions they ran with (:data:`ORIGINS`): a run resumed on another machine,
    after a commit or an upgrade, or spread over a cluster's nodes, can have several.
    ``git`` is the revision this process loaded; ``git_at_write``, where the checkout
    has moved on since, the later one."""
    return {
        "experiment": spec.name,
        "spec": spec.to_dict(),
        "model": MODEL_VERSION,
        "versions": versions(),
        "git": LOADED_GIT,
        **({} if (now := git_revision()) == LOADED_GIT else {"git_at_write": now}),
        "seeds": spec.seed_list(),
        "seed_range": {"this_run": spec.seed_range(),
                       "development": [0, CONFIRMATORY_SEEDS - 1],
                       "confirmatory": [CONFIRMATORY_SEEDS, None]},
        "runs": sorted(df["run"].unique().tolist()),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "device": results[0]["device"] if results else None,
        **{name: job_counts(results, key) for key, (name, _, _) in ORIGINS.items()},
        "workers": workers,
        "sessions": sessions,
        "timings": {
            "total_s": time.time() - timing["started"],
            "wall_s": timing["wall_s"],
            "jobs": [{"seeds": r["seeds"], "compile_s": r["compile_s"], "run_s": r["run_s"],
                      "seeds_per_call": r.get("seeds_per_call"),
                      **{key: r.get(key) for key in ORIGINS},
                      "resumed": bool(r.get("resumed", False))} for r in results],
        },
    }


ORIGINS = {
    "cpu": ("cpus", "CPUs", "XLA compiles for each CPU's vector sets, so a seed's numbers "
            "can depend on where it ran"),
    "git": ("revisions", "revisions of affectlab", "a change between them to what a job "
            "computes would make its runs differ (git diff between them says)"),
    "env": ("environments", "sets of package versions", "another jax, jaxlib, flax, "
            "optax, chex, numpy or Python can give a seed other numbers"),
}
"""Where a job ran, as it records it: its key, the manifest's count of jobs per value,
what the values are, and why several in one run matter."""


def job_counts(results: list[dict[str, Any]], key: str) -> dict[str, int]:
    """How many jobs have each value of ``key`` (an :data:`ORIGINS` key; ``"not
    recorded"`` for jobs written before it was recorded, or where it is unknown)."""
    out: dict[str, int] = {}
    for r in results:
        k = r.get(key) or "not recorded"
        out[k] = out.get(k, 0) + 1
    return out


def mixed_notes(results: list[dict[str, Any]]) -> list[str]:
    """A sentence for each of :data:`ORIGINS` where a run's jobs have more than one
    recorded value (they ran on two CPUs, two revisions, ...)."""
    notes = []
    for key, (_, what, why) in ORIGINS.items():
        known = {k: n for k, n in job_counts(results, key).items() if k != "not recorded"}
        if len(known) > 1:
            notes.append(f"its jobs ran on {len(known)} {what} ({_which(known)}): {why}")
    return notes


def _which(known: dict[str, int]) -> str:
    return "; ".join(f"{n} on {k}" for k, n in sorted(known.items(), key=lambda kv: -kv[1]))
