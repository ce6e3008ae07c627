"""Where a long run stands: ``affectlab status OUT``, read from its folders alone.

A full catalogue runs for hours, often over several sessions (``affectlab reproduce
--out OUT`` resumes what an interruption left). :func:`status` reads ``OUT`` without
running or changing anything and gives, for every catalogued experiment (and every
member of a suite, in the order the suite runs them): its state, runs done of all, the
wall time spent on it so far (the sessions of its journal, not the pauses between them)
and the time left. States: ``done`` (a finished run of the same spec: in its folder, or,
for a suite member, a catalogued run next to it that the suite reuses), ``running``
(a run holds its staging folder's lock now), ``stopped`` (a staging folder with
finished jobs and no run on it: the same command resumes it), ``other spec`` (a staging
folder of a different spec: the next run discards it) and ``not started``. Time left is
the remaining runs at the rate of the run's own sessions where it has finished jobs,
else the estimate of :mod:`experiments.estimate` for what is left.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.claims import CLAIMS_FILE
from experiments.catalogue import catalogue_item, catalogue_plan
from experiments.estimate import (
    COLUMNS,
    WALL_TIMES,
    duration,
    load_wall_times,
    member_expected,
    member_name,
    rates,
    seconds_of,
)
from experiments.runner.store import (
    Journal,
    being_written,
    event_time,
    fingerprint,
    run_wall_s,
    sessions_wall_s,
)
from experiments.spec import ExperimentSpec
from experiments.suites import SUITES, Suite, finished_member, finished_run, member_order


@dataclass(frozen=True)
class Part:
    """One output of the catalogue: an experiment, or a member of a suite."""

    experiment: str  # the catalogue's name
    label: str  # the spec's name, or the member's label
    state: str  # done | running | stopped | other spec | not started
    done: int  # runs finished (seeds x conditions)
    runs: int
    spent_s: float  # wall time spent on it so far (NaN: unknown)
    left_s: float  # expected time left (NaN: unknown)
    basis: str  # where the time left comes from
    folder: Path


def status(out: str | Path, quick: bool = False, seed_range: str = "confirmatory",
           only: list[str] | None = None, claims_file: str | Path = CLAIMS_FILE,
           now: float | None = None) -> list[Part]:
    """Every output ``affectlab reproduce --out OUT`` (with the same ``quick``,
    ``seed_range`` and ``only``) writes, and where each stands (see the module)."""
    out = Path(out)
    if not out.is_dir():
        raise FileNotFoundError(f"status: no folder {out} (give the --out of the run)")
    _, names = catalogue_plan(claims_file, only)
    times = load_wall_times()
    by_world, cost = rates(times, quick), seconds_of(quick)
    now = time.time() if now is None else now
    catalogue_runs = tuple(d for d in sorted(out.iterdir()) if d.is_dir())  # reproduce's
    parts = []
    for name in names:
        item = catalogue_item(name, quick, seed_range)
        if isinstance(item, Suite):  # its members in the order it runs them
            found = [(*item.members[i], out / item.name / item.members[i][0],
                      finished_member(item, i, out / item.name, catalogue_runs))
                     for i in member_order(item, cost)]
        else:
            d = out / item.name
            found = [(item.name, item, d, d if finished_run(d, item) else None)]
        for label, spec, folder, here in found:
            got = member_expected(times, by_world, name if name in SUITES else None,
                                  label, spec, quick)
            expected = None if got is None else (got.seconds, got.basis())
            parts.append(part_status(name, label, spec, folder, here, expected, now))
    return parts


def part_status(experiment: str, label: str, spec: ExperimentSpec, folder: Path,
                here: Path | None, expected: tuple[float, str] | None, now: float) -> Part:
    """Where the run of ``spec`` into ``folder`` stands; ``here``: the finished run it
    uses, if any (a suite member may use one in another folder); ``expected``: its whole
    run's expected seconds and their basis (``"loops's rate"``), or ``None``."""
    runs = spec.seeds * len(spec.conditions)
    part = dict(experiment=experiment, label=label, runs=runs)
    if here is not None:
        return Part(state="done", done=runs, spent_s=_spent(here), left_s=0.0,
                    basis="finished" if here == folder else f"reused from {here.name}",
                    folder=here, **part)
    whole = expected[0] if expected else math.nan
    stage = folder.parent / f".{folder.name}.partial"
    staged = _staged(stage, spec)
    if staged is None:
        return Part(state="not started", done=0, spent_s=math.nan, left_s=whole,
                    basis=f"estimate ({expected[1]})" if expected else "no estimate",
                    folder=folder, **part)
    seeds, events, same_spec = staged
    running = being_written(stage)
    if not same_spec:
        return Part(state="running" if running else "other spec", done=0, spent_s=math.nan,
                    left_s=whole, basis="a staging folder of another spec", folder=stage,
                    **part)
    done = len(seeds) * len(spec.conditions)
    last = event_time(events[-1]) if events else now
    spent = sessions_wall_s(events, now=now if running else last)
    computed = sum(len(e.get("seeds", [])) for e in events
                   if e["event"] == "job") * len(spec.conditions)
    paid = _paid_s(events)
    if computed and paid > 0:
        left, basis = (runs - done) * paid / computed, "its measured rate"
    else:
        left, basis = whole * (runs - done) / runs, "estimate"
    if not running:
        basis += stop_reason(events)
    return Part(state="running" if running else "stopped", done=done, spent_s=spent,
                left_s=left, basis=basis, folder=stage, **part)


def _paid_s(events: list[dict]) -> float:
    """Wall seconds of the sessions up to the last finished job: what the finished jobs
    cost, without the work in flight since (which would make a running run look slow)."""
    jobs = [i for i, e in enumerate(events) if e["event"] == "job"]
    if not jobs:
        return 0.0
    upto = events[:jobs[-1] + 1]
    return sessions_wall_s(upto, now=event_time(upto[-1]))


def stop_reason(events: list[dict], width: int = 90) -> str:
    """``; stopped: WHY`` from the journal's last event where the run stopped on an error
    (not where it was interrupted by hand), cut to ``width`` characters; else empty."""
    last = events[-1] if events else {}
    error = str(last.get("error", "")) if last.get("event") == "stopped" else ""
    if not error or error.startswith("KeyboardInterrupt"):
        return ""
    why = error.split(": ", 1)[-1]
    return "; stopped: " + (why if len(why) <= width else why[:width - 3] + "...")


def _staged(stage: Path, spec: ExperimentSpec):
    """``(finished seeds, journal events, same spec?)`` of a staging folder, or ``None``
    where there is none."""
    try:
        state = json.loads((stage / "state.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    wanted, seeds = set(spec.seed_list()), set()
    for path in (stage / "jobs").glob("*.npz"):
        try:
            with np.load(path) as z:
                seeds |= {int(s) for s in z["seeds"]} & wanted
        except (OSError, KeyError, ValueError):
            continue  # half-written or unreadable: the run redoes it
    return seeds, Journal(stage / "journal.jsonl").read(), state.get("spec") == fingerprint(spec)


def _spent(folder: Path) -> float:
    try:
        return run_wall_s(folder / "manifest.json")
    except (OSError, KeyError, ValueError, TypeError):
        return math.nan


def status_text(parts: list[Part]) -> str:
    """A table of ``parts`` and a last line with the totals."""
    rows = [("experiment", "part", "state", "runs", "time spent", "time left", "basis")]
    for p in parts:
        rows.append((p.experiment, p.label if p.label != p.experiment else "", p.state,
                     f"{p.done:,}/{p.runs:,}", "" if p.state == "not started" else _time(p.spent_s),
                     "" if p.state == "done" else _time(p.left_s, "~"), p.basis))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    done = sum(p.done for p in parts)
    runs = sum(p.runs for p in parts)
    left = [p.left_s for p in parts]
    unknown = sum(math.isnan(x) for x in left)
    total = _time(sum(x for x in left if not math.isnan(x)), "~")
    lines.append(f"{done:,} of {runs:,} runs done; {total} left"
                 + (f" and {unknown} part(s) with no estimate" if unknown else ""))
    return "\n".join(lines)


def finished_wall_times(parts: list[Part]) -> dict[str, tuple[float, int, int]]:
    """``{experiment: (wall seconds, cores, members reused)}`` of every experiment whose
    parts are all done: the sum of its parts' time spent (a member reused from another
    catalogued run counts nothing here: its time is that run's), and the cores of the
    machine that ran them (their manifests). An experiment with a part of unknown time,
    or with parts run on machines of different sizes, is left out."""
    out = {}
    for name in dict.fromkeys(p.experiment for p in parts):
        mine = [p for p in parts if p.experiment == name]
        own = [p for p in mine if p.basis == "finished"]
        if any(p.state != "done" for p in mine) or not own or \
                any(math.isnan(p.spent_s) for p in own):
            continue
        cores = {_cores(p.folder) for p in own} - {None}
        if len(cores) == 1:  # runs of one machine only
            out[name] = (sum(p.spent_s for p in own), cores.pop(), len(mine) - len(own))
    return out


def record_wall_times(parts: list[Part], quick: bool, how: str,
                      path: str | Path | None = None, date: str | None = None) -> list[str]:
    """Append the wall time of every finished experiment of ``parts``
    (:func:`finished_wall_times`), and of every suite member that finished in a run of
    its own (as ``suite/label``: the estimate of a suite not yet finished uses it), to
    the measured wall times at ``path`` (the estimate and the docs' table use the last
    row of an experiment and size), with ``how`` it was run (``path``:
    ``experiments/wall_times.csv`` by default); a row already there with the same time
    is not repeated. Returns the names recorded."""
    path = WALL_TIMES if path is None else path
    times = load_wall_times(path)
    size, date = ("quick" if quick else "full"), date or time.strftime("%Y-%m-%d")
    rows = []
    members = {}
    for p in parts:
        if p.experiment in SUITES and p.state == "done" and p.basis == "finished" \
                and not math.isnan(p.spent_s) and (cores := _cores(p.folder)) is not None:
            members[member_name(p.experiment, p.label)] = (p.spent_s, cores, 0)
    for name, (seconds, cores, reused) in {**finished_wall_times(parts), **members}.items():
        same = times[(times["experiment"] == name) & (times["size"] == size)
                     & (times["seconds"] == round(seconds))]
        if len(same):
            continue
        note = f"; {reused} member(s) reused from other runs" if reused else ""
        rows.append((name, size, round(seconds), date, cores, how + note))
    if rows:
        new = pd.DataFrame(rows, columns=COLUMNS)
        pd.concat([times[COLUMNS], new]).to_csv(path, index=False)
    return [r[0] for r in rows]


def _cores(folder: Path) -> int | None:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        return int(manifest["machine"]["cpu_count"])
    except (OSError, KeyError, ValueError, TypeError):
        return None


def _time(seconds: float, prefix: str = "") -> str:
    return "?" if math.isnan(seconds) else prefix + duration(seconds)
