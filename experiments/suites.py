"""Suites: experiments made of several specs (one per world or setting) with one report.

A :class:`Suite` lists its member specs; :func:`run_suite` runs each into
``OUT/<label>/`` with the ordinary runner (so every member resumes after a crash, and a
member that already finished under the same spec is not run again), then the suite's
report reads the members' results and writes ``statistics.csv``, ``claims.csv`` and the
figure into ``OUT``. The catalogued suites are ``lesion-matrix``, ``robustness`` and
``sensitivity`` (``SUITES``).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from experiments.spec import ExperimentSpec


@dataclass(frozen=True)
class Suite:
    """A named group of specs and the report that combines their results.

    Attributes:
        name: suite name (output folder default ``results/<name>``).
        members: ``(label, spec)`` pairs; labels name the members' sub-folders.
        report: ``report(out_dir, {label: member_dir}) -> claims`` (writes
            statistics.csv, claims.csv and the figure).
        needs_agents: labels of members whose trained agents (``agents.npz``) the report
            reads.
    """

    name: str
    members: tuple[tuple[str, ExperimentSpec], ...]
    report: Callable[[Path, dict[str, Path]], list]
    needs_agents: tuple[str, ...] = ()

    def validate(self) -> Suite:
        labels = [label for label, _ in self.members]
        if len(set(labels)) != len(labels):
            raise ValueError(f"suite {self.name}: member labels must be unique, got {labels}")
        for _, spec in self.members:
            spec.validate()
        return self

    def replace_all(self, **changes) -> Suite:
        """Every member with the same fields changed (e.g. ``seeds``)."""
        if not changes:
            return self
        members = tuple((label, dataclasses.replace(spec, **changes))
                        for label, spec in self.members)
        return dataclasses.replace(self, members=members)


def finished_run(out: Path, spec: ExperimentSpec, needs=("results.csv",)) -> bool:
    """Whether ``out`` holds a finished run of ``spec`` (same spec, files present)."""
    from experiments.runner import _fingerprint

    try:
        manifest = json.loads((Path(out) / "manifest.json").read_text())
        old = ExperimentSpec.from_dict(manifest["spec"])
    except (OSError, json.JSONDecodeError, KeyError, ValueError, TypeError):
        return False
    return _fingerprint(old) == _fingerprint(spec) and all(
        (Path(out) / n).is_file() for n in needs)


def run_suite(suite: Suite, out: str | Path, workers: int | None = None, fresh: bool = False,
              progress: bool = True, reuse: tuple[Path, ...] = ()) -> Path:
    """Run every member of ``suite`` (validated first) and write the suite's report.

    A member is not run again where a finished run of the very same spec exists: in its
    own folder ``OUT/<label>``, in one of the ``reuse`` folders (runs made earlier by the
    caller, e.g. ``reproduce``; used even with ``fresh``), or, unless ``fresh``, in
    ``OUT/../<spec name>`` (a catalogued experiment run next to the suite).
    """
    from experiments.runner import check_out_dir, run_experiment

    suite.validate()
    out = check_out_dir(out)
    dirs = {}
    t0 = time.perf_counter()
    for i, (label, spec) in enumerate(suite.members):
        d = out / label
        dirs[label] = d
        needs = ("results.csv",) + (("agents.npz",) if label in suite.needs_agents else ())
        if not fresh and finished_run(d, spec, needs):
            print(f"[{suite.name}] {label}: finished run found, not rerun", file=sys.stderr)
            continue
        elsewhere = [Path(r) for r in reuse] + ([] if fresh else [out.parent / spec.name])
        found = next((r for r in elsewhere if finished_run(r, spec, needs)), None)
        if found is not None:
            dirs[label] = found
            print(f"[{suite.name}] {label}: the finished run of the same spec in {found} "
                  "is used, not rerun", file=sys.stderr)
            continue
        print(f"[{suite.name}] member {i + 1}/{len(suite.members)}: {label}", file=sys.stderr,
              flush=True)
        run_experiment(spec, d, workers=workers, figures=False, progress=progress,
                       fresh=fresh)
    out.mkdir(parents=True, exist_ok=True)
    claims = suite.report(out, dirs)
    manifest = {"suite": suite.name, "members": {label: spec.to_dict()
                                                 for label, spec in suite.members},
                "member_dirs": {label: str(d) for label, d in dirs.items()},
                "total_s": time.perf_counter() - t0,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    import pandas as pd

    pd.DataFrame(claims).to_csv(out / "claims.csv", index=False)
    return out


def per_run(df, metric: str, how: str):
    """One value per (condition, seed) of ``metric``: ``"value"`` (a metric measured once
    per run: ``eval/*``, ``test/*``), ``"mean"`` (mean over training) or ``"late"`` (mean
    over the last quarter of training). Returns tidy rows (condition, seed, metric, value)."""
    sub = df[df["metric"] == metric].dropna(subset=["value"])
    if how == "late":
        last, first = sub["step"].max(), sub["step"].min()
        sub = sub[sub["step"] >= last - 0.25 * (last - first)]
    elif how not in ("value", "mean"):
        raise ValueError(f"how must be 'value', 'mean' or 'late', got {how!r}")
    table = sub.groupby(["condition", "seed"], sort=False)["value"].mean().reset_index()
    return table.assign(metric=metric)[["condition", "seed", "metric", "value"]]


# catalogue (filled by experiments.matrix / robustness / sensitivity; see all_suites)
SUITES: dict[str, Callable[[bool], Suite]] = {}


def all_suites() -> dict[str, Callable[[bool], Suite]]:
    """The catalogued suites (imports the modules that register them)."""
    import importlib

    for module in ("experiments.matrix", "experiments.robustness", "experiments.sensitivity"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
    return SUITES


def register_suite(name: str):
    def wrap(fn):
        SUITES[name] = fn
        return fn

    return wrap
