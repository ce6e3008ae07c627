"""Suites: experiments made of several specs (one per world or setting) with one report.

A :class:`Suite` lists its member specs; :func:`run_suite` runs each into
``OUT/<label>/`` with the ordinary runner (so every member resumes after a crash, and a
member that already finished under the same spec is not run again), then the suite's
report reads the members' results and writes ``statistics.csv``, ``claims.csv`` and the
figure into ``OUT``. A suite's claims live in ``claims.toml`` under its catalogue name
and are checked on its ``statistics.csv`` into its ``claims.csv``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from affect.storage import atomic_write_json
from experiments.analysis.claims import CLAIMS_FILE, write_run_claims
from experiments.runner import check_out_dir, run_experiment
from experiments.runner.store import fingerprint, manifest_spec
from experiments.spec import ExperimentSpec


@dataclass(frozen=True)
class Suite:
    """A named group of specs and the report that combines their results.

    Attributes:
        name: suite name (output folder default ``results/<name>``).
        members: ``(label, spec)`` pairs; labels name the members' sub-folders.
        report: ``report(out_dir, {label: member_dir})``: writes ``statistics.csv``, the
            figure and any extra tables.
        needs_agents: labels of members whose trained agents (``agents.npz``) the report
            reads.
        experiment: the catalogue name whose claims (``claims.toml``) the suite's
            statistics are checked against (none when empty).
        member_values: ``member_values(label, member_dir)``: the per-run values the
            report reads of one member, from its ``results.csv``, or from its
            ``values.csv`` where it has no ``results.csv`` (a member restored from an
            archive: :mod:`experiments.archive`). A suite that has it can use such
            a member as finished; ``None``: the report needs every member's results.
    """

    name: str
    members: tuple[tuple[str, ExperimentSpec], ...]
    report: Callable[[Path, dict[str, Path]], None]
    needs_agents: tuple[str, ...] = ()
    experiment: str = ""
    member_values: Callable[[str, Path], pd.DataFrame] | None = None

    def validate(self) -> Suite:
        """Validate every member spec (unique labels); returns the suite."""
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
    """Whether ``out`` holds a finished run of ``spec``: its manifest records the same spec
    and the files ``needs`` are present."""
    old = manifest_spec(out)
    return old is not None and fingerprint(old) == fingerprint(spec) and all(
        (Path(out) / n).is_file() for n in needs)


def run_suite(suite: Suite, out: str | Path, workers: int | None = None, fresh: bool = False,
              progress: bool = True, reuse: tuple[Path, ...] = (),
              claims_file: str | Path = CLAIMS_FILE, executor: str = "local",
              cost=None, seeds_per_job: int | None = None) -> Path:
    """Run every member of ``suite`` (validated first; the cheapest first by ``cost``, a
    function of a spec: expected seconds, e.g. :func:`experiments.estimate.seconds_of`;
    by default :meth:`~experiments.spec.ExperimentSpec.work`) and write the suite's report.

    A member is not run again where a finished run of the very same spec exists: in its
    own folder ``OUT/<label>``, in one of the ``reuse`` folders (runs made earlier by the
    caller, e.g. ``reproduce``; used even with ``fresh``), or, unless ``fresh``, in
    ``OUT/../<spec name>`` (a catalogued experiment run next to the suite). Members run
    on ``executor`` (``"local"`` or ``"ray"``), ``seeds_per_job`` seeds to a job (see
    :func:`~experiments.runner.run_experiment`).
    """
    suite.validate()
    out = check_out_dir(out)
    t0 = time.perf_counter()
    ran = {i: _member(suite, i, n, out, (workers, seeds_per_job, executor), fresh, progress,
                      reuse)
           for n, i in enumerate(member_order(suite, cost), start=1)}
    dirs = {label: ran[i] for i, (label, _) in enumerate(suite.members)}
    out.mkdir(parents=True, exist_ok=True)
    suite.report(out, dirs)
    atomic_write_json(out / "manifest.json", {
        "suite": suite.name, "members": {label: spec.to_dict() for label, spec in suite.members},
        "member_dirs": {label: str(d) for label, d in dirs.items()},
        "total_s": time.perf_counter() - t0, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    if suite.experiment:
        write_run_claims(out, suite.experiment, claims_file)
    return out


def rewrite_report(suite: Suite, out: str | Path, claims_file: str | Path = CLAIMS_FILE) -> Path:
    """Write the report of a finished suite folder ``out`` again (statistics, tables,
    figure, claims) from its members' results: each in ``out/<label>``, or where the
    suite's manifest says (a member reused from another run), or, that folder moved with
    the suite's, in ``out/../<spec name>`` (a catalogued run next to the suite)."""
    out = Path(out)
    manifest = json.loads((out / "manifest.json").read_text())
    dirs = {}
    for label, spec in suite.members:
        places = [out / label, Path(manifest.get("member_dirs", {}).get(label, out / label)),
                  out.parent / spec.name]
        d = next((p for p in places if p.is_dir()), None)
        if d is None:
            raise FileNotFoundError(f"{suite.name}: member {label!r} is in none of "
                                    f"{', '.join(map(str, dict.fromkeys(places)))}")
        dirs[label] = d
    suite.report(out, dirs)
    if suite.experiment:
        write_run_claims(out, suite.experiment, claims_file)
    return out


def member_order(suite: Suite, cost=None) -> list[int]:
    """The members' indices in the order :func:`run_suite` runs them: the cheapest first
    by ``cost`` (default: work), so that an interrupted long run has finished as many
    members as it could."""
    cost = cost or (lambda spec: spec.work())
    return sorted(range(len(suite.members)), key=lambda i: cost(suite.members[i][1]))


def finished_member(suite: Suite, i: int, out: Path, reuse: tuple[Path, ...] = (),
                    fresh: bool = False) -> Path | None:
    """The finished run of member ``i``'s spec that :func:`run_suite` into ``out`` uses
    instead of running it (its own folder unless ``fresh``, a ``reuse`` folder, or unless
    ``fresh`` the catalogued run ``OUT/../<spec name>``), or ``None``. Where the suite
    reads its members' values (:attr:`Suite.member_values`), a run with ``values.csv``
    instead of ``results.csv`` (restored from an archive) counts as finished."""
    label, spec = suite.members[i]
    agents = ("agents.npz",) if label in suite.needs_agents else ()
    needs = [("results.csv", *agents)] + (
        [("values.csv", *agents)] if suite.member_values is not None else [])
    places = ([] if fresh else [out / label]) + [Path(r) for r in reuse] + (
        [] if fresh else [out.parent / spec.name])
    return next((d for d in places if any(finished_run(d, spec, n) for n in needs)), None)


def _member(suite: Suite, i: int, n: int, out: Path, where: tuple, fresh: bool,
            progress: bool, reuse: tuple[Path, ...]) -> Path:
    """Run member ``i`` (the ``n``-th to run; ``where``: workers, seeds per job and
    executor) unless a finished run of its spec exists; returns its folder."""
    label, spec = suite.members[i]
    d = out / label
    found = finished_member(suite, i, out, reuse, fresh)
    if found == d:
        print(f"[{suite.name}] {label}: finished run found, not rerun", file=sys.stderr)
        return d
    if found is not None:
        print(f"[{suite.name}] {label}: the finished run of the same spec in {found} "
              "is used, not rerun", file=sys.stderr)
        return found
    print(f"[{suite.name}] member {n}/{len(suite.members)}: {label}", file=sys.stderr,
          flush=True)
    workers, seeds_per_job, executor = where
    run_experiment(spec, d, workers=workers, seeds_per_job=seeds_per_job, figures=False,
                   progress=progress, fresh=fresh, executor=executor)
    return d
