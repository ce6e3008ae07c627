"""Suites: experiments made of several specs with one report, registered by plain imports.

``SUITES[name](quick) -> Suite``; the machinery (:class:`~experiments.suites.base.Suite`,
:func:`~experiments.suites.base.run_suite`) is in :mod:`experiments.suites.base`, and
each catalogued suite is one module: ``lesion-matrix``, ``robustness``, ``sensitivity``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from experiments.suites import lesion_matrix, robustness, sensitivity
from experiments.suites.base import (
    Suite,
    finished_member,
    finished_run,
    member_order,
    rewrite_report,
    run_suite,
)
from experiments.tasks import report as task_report

SUITES: dict[str, Callable[[bool], Suite]] = {
    "lesion-matrix": lesion_matrix.suite,
    "robustness": robustness.suite,
    "sensitivity": sensitivity.suite,
}



def report(run_dir: str | Path, measures: list[str] | None = None) -> list[Path]:
    """Write the report of a finished results folder again: an experiment's
    (:func:`experiments.tasks.report`) or, where its manifest names a suite, the suite's
    from its members (:func:`~experiments.suites.base.rewrite_report`; ``measures`` is
    then a ``ValueError``). Returns the files written."""
    run_dir = Path(run_dir)
    manifest = run_dir / "manifest.json"
    name = json.loads(manifest.read_text()).get("suite") if manifest.is_file() else None
    if name is None:
        return task_report(run_dir, measures=measures)
    base = name.removesuffix("-quick")
    if base not in SUITES:
        raise ValueError(f"{run_dir} is a run of the suite {name!r}, which this version of "
                         f"affectlab does not have (it has {', '.join(SUITES)})")
    if measures is not None:
        raise ValueError(f"measures apply to the learning-curve report; {base}'s report "
                         "draws its own figure")
    rewrite_report(SUITES[base](name != base), run_dir)
    return sorted(p for p in run_dir.iterdir() if p.is_file() and p.name != "manifest.json")


__all__ = ["SUITES", "Suite", "finished_member", "finished_run", "member_order", "report",
           "rewrite_report", "run_suite"]
