"""The catalogued experiments, one module each, registered by plain imports.

``TASKS[name]`` is a :class:`~experiments.tasks.base.Task`: its pinned specs
(``TASKS["paralysis"].spec(quick=True)``), its report and, for online tasks, its
session analysis. A task of your own is one module with a ``spec``, a ``report`` and a
``TASK = Task(...)``, registered with :func:`register`; its claims go into a claims file
under its name (see ``docs/contributing.md``).
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

from experiments.analysis.claims import write_run_claims
from experiments.spec import ExperimentSpec, SpecError
from experiments.tasks import foraging, gambling, loops, paralysis, social
from experiments.tasks.base import Task, curves_report, lesion_set

TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    """Add ``task`` to :data:`TASKS` (a name already taken is an error); returns it."""
    if not isinstance(task, Task):
        raise TypeError(f"register() takes a Task, got {type(task).__name__}")
    if task.name in TASKS and TASKS[task.name] is not task:
        raise ValueError(f"a task named {task.name!r} is already registered")
    TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    """The registered task ``name``; a ``KeyError`` naming close matches otherwise."""
    if name not in TASKS:
        close = difflib.get_close_matches(name, list(TASKS), n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise KeyError(f"unknown experiment {name!r}.{hint} Known: {', '.join(TASKS)}")
    return TASKS[name]


def task_for(spec: ExperimentSpec) -> Task | None:
    """The task whose report and analysis apply to ``spec`` (same world and trainer), or
    ``None``; the most recently registered task wins."""
    return next((t for t in reversed(TASKS.values()) if t.handles(spec)), None)


def session_analysis(spec: ExperimentSpec):
    """The analysis of ``spec``'s online sessions; a :class:`SpecError` where none is
    registered for its world."""
    task = task_for(spec)
    if task is None or task.analyse is None:
        online = [t.spec(True).world for t in TASKS.values() if t.analyse is not None]
        raise SpecError(f"spec.trainer='online': sessions in {spec.world} have no analysis "
                        f"yet (supported: {', '.join(online)})")
    return task.analyse


def report(run_dir: str | Path, claims_file: str | Path | None = None,
           measures: list[str] | None = None) -> list[Path]:
    """Write the report of a finished run folder: its task's statistics and figure (the
    learning-curve report where no task claims the world) and, for a task, its claims
    (from ``claims_file``, default the task's own) checked into ``claims.csv``.
    ``measures``: the learning-curve report's panels, by name, in order (a ``ValueError``
    for another report). Returns the files written."""
    run_dir = Path(run_dir)
    csv = run_dir / "results.csv"
    if not csv.is_file():
        raise FileNotFoundError(f"{csv} not found: is {run_dir} an affectlab results folder?")
    manifest = run_dir / "manifest.json"
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest} not found: the report needs the run's spec, which "
                                "affectlab writes there")
    spec = ExperimentSpec.from_dict(json.loads(manifest.read_text())["spec"])
    task = task_for(spec)
    draw = task.report if task is not None else curves_report
    if measures is not None:
        if draw is not curves_report:
            raise ValueError(f"measures apply to the learning-curve report; {task.name}'s "
                             "report draws its own figure")
        curves_report(run_dir, measures)
    else:
        draw(run_dir)
    if task is not None:
        write_run_claims(run_dir, task.name, claims_file or task.claims_file)
    names = ("figure.png", "figure.pdf", "statistics.csv", "summary.csv", "claims.csv")
    return [run_dir / n for n in names if (run_dir / n).is_file()]


for _module in (foraging, paralysis, gambling, social, loops):
    register(_module.TASK)

__all__ = ["TASKS", "Task", "get_task", "lesion_set", "register", "report", "session_analysis",
           "task_for"]
