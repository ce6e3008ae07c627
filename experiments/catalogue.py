"""The catalogue as ``reproduce`` runs it: which experiments, in which order, with which
specs (:func:`catalogue_plan`, :func:`catalogue_item`); shared by ``reproduce`` and
``status``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from experiments.analysis.claims import CLAIMS_FILE, ClaimsError, load_claims
from experiments.spec import ExperimentSpec, confirmatory
from experiments.suites import SUITES, Suite
from experiments.tasks import TASKS


def known_experiments() -> list[str]:
    """Every catalogued experiment and suite name."""
    return list(TASKS) + list(SUITES)


def catalogue_item(name: str, quick: bool,
                   seed_range: str = "confirmatory") -> ExperimentSpec | Suite:
    """A catalogued experiment's spec, or a suite with its members' specs, at one size on
    ``seed_range``'s seeds (``"confirmatory"`` or ``"development"``), validated."""
    move = confirmatory if seed_range == "confirmatory" else (lambda s: s)
    if name in SUITES:
        suite = SUITES[name](quick)
        return dataclasses.replace(suite, members=tuple(
            (label, move(spec)) for label, spec in suite.members)).validate()
    return move(TASKS[name].spec(quick)).validate()


def catalogue_plan(claims_file: str | Path = CLAIMS_FILE, only: list[str] | None = None):
    """``(claims, names)``: the claims of ``claims_file`` and the experiments they name, in
    their order (only those in ``only``, checked, where given)."""
    claims = load_claims(claims_file, known_experiments())
    names = list(dict.fromkeys(c.experiment for c in claims))
    if only:
        unknown = [n for n in only if n not in known_experiments()]
        if unknown:
            raise ClaimsError(f"--only: unknown experiment(s) {unknown}")
        names = [n for n in names if n in only]
        claims = [c for c in claims if c.experiment in only]
    return claims, names
