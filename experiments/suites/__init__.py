"""Suites: experiments made of several specs with one report, registered by plain imports.

``SUITES[name](quick) -> Suite``; the machinery (:class:`~experiments.suites.base.Suite`,
:func:`~experiments.suites.base.run_suite`) is in :mod:`experiments.suites.base`, and
each catalogued suite is one module: ``lesion-matrix``, ``robustness``, ``sensitivity``.
"""

from __future__ import annotations

from collections.abc import Callable

from experiments.suites import lesion_matrix, robustness, sensitivity
from experiments.suites.base import Suite, finished_member, finished_run, member_order, run_suite

SUITES: dict[str, Callable[[bool], Suite]] = {
    "lesion-matrix": lesion_matrix.suite,
    "robustness": robustness.suite,
    "sensitivity": sensitivity.suite,
}

__all__ = ["SUITES", "Suite", "finished_member", "finished_run", "member_order", "run_suite"]
