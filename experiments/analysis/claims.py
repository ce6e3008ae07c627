"""The claims of ``claims.toml``: loaded field by field, checked on a statistics table.

Every claim of affectlab lives once, in ``experiments/claims.toml`` (the format is
described at its top). ``affectlab run NAME`` checks the claims of experiment ``NAME``
on the run's ``statistics.csv`` and writes ``claims.csv``; ``affectlab reproduce`` checks
all of them on the catalogue's runs.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

CLAIMS_FILE = Path(__file__).resolve().parent.parent / "claims.toml"
STATS = ("mean", "diff", "ratio", "hedges_g", "p_perm")
CI_COLUMNS = {"mean": ("ci_low", "ci_high"), "diff": ("diff_low", "diff_high"),
              "ratio": ("ratio_low", "ratio_high"), "hedges_g": ("g_low", "g_high")}
OPS = (">", ">=", "<", "<=", "==", "includes")
REQUIRED = ("id", "experiment", "claim", "condition", "metric", "stat", "expect", "value")


class ClaimsError(ValueError):
    """A malformed claims file (the message names the claim and field)."""


@dataclass(frozen=True)
class Claim:
    """One registered claim: ``stat`` of ``metric`` in ``condition`` ``expect`` ``value``.

    Attributes:
        id: unique name of the claim.
        experiment: catalogue name of the experiment or suite it is measured on.
        claim: the claim in words.
        condition: the lesion condition the measure is taken on.
        metric: a metric of the experiment's ``statistics.csv``.
        stat: ``mean``, ``diff``, ``ratio``, ``hedges_g`` (each with its 95% CI) or
            ``p_perm``.
        expect: ``>``, ``>=``, ``<``, ``<=``, ``==`` or ``includes`` (the 95% CI includes
            ``value``).
        value: the threshold.
        on: ``"ci"`` (the whole CI lies beyond the threshold) or ``"estimate"``.
        tolerance: slack on the threshold for ``on = "estimate"``.
        source: where the claim comes from.
    """

    id: str
    experiment: str
    claim: str
    condition: str
    metric: str
    stat: str
    expect: str
    value: float
    on: str = "ci"
    tolerance: float = 0.0
    source: str = ""

    def describe(self) -> str:
        """The expectation in words, e.g. ``ratio >= 3 (estimate)``."""
        if self.expect == "includes":
            return f"95% CI of {self.stat} includes {self.value:g}"
        where = "95% CI" if self.on == "ci" else "estimate"
        tol = f" +- {self.tolerance:g}" if self.tolerance else ""
        return f"{self.stat} {self.expect} {self.value:g}{tol} ({where})"


def load_claims(path: str | Path = CLAIMS_FILE,
                known: Iterable[str] | None = None) -> list[Claim]:
    """The claims of a claims file, checked field by field (raises :class:`ClaimsError`).

    ``known``: the experiment names a claim may name (unchecked when ``None``).
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as e:
        raise ClaimsError(f"claims file {path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ClaimsError(f"claims file {path} is not valid TOML: {e}") from None
    raw = data.get("claim")
    if not isinstance(raw, list) or not raw:
        raise ClaimsError(f"claims file {path}: no [[claim]] tables")
    known = None if known is None else list(known)
    out, ids = [], set()
    for i, c in enumerate(raw):
        where = f"claims file {path}, claim {i} ({c.get('id', '?')})"
        _check_fields(c, where, known)
        if c["id"] in ids:
            raise ClaimsError(f"{where}: duplicate id {c['id']!r}")
        ids.add(c["id"])
        out.append(Claim(**{**c, "value": float(c["value"]),
                            "tolerance": float(c.get("tolerance", 0.0))}))
    return out


def _check_fields(c: dict, where: str, known: list[str] | None) -> None:
    names = {f.name for f in fields(Claim)}
    if set(c) - names:
        raise ClaimsError(f"{where}: unknown field(s) {sorted(set(c) - names)}")
    if set(REQUIRED) - set(c):
        raise ClaimsError(f"{where}: missing field(s) {sorted(set(REQUIRED) - set(c))}")
    if known is not None and c["experiment"] not in known:
        raise ClaimsError(f"{where}: unknown experiment {c['experiment']!r}; "
                          f"known: {', '.join(known)}")
    if c["stat"] not in STATS:
        raise ClaimsError(f"{where}: stat must be one of {STATS}, got {c['stat']!r}")
    if c["expect"] not in OPS:
        raise ClaimsError(f"{where}: expect must be one of {OPS}, got {c['expect']!r}")
    on = c.get("on", "ci")
    if on not in ("ci", "estimate"):
        raise ClaimsError(f"{where}: on must be 'ci' or 'estimate', got {on!r}")
    if on == "ci" and (c["stat"] == "p_perm" or c["expect"] == "=="):
        raise ClaimsError(f"{where}: use on = 'estimate' for p_perm and for '=='")
    if c["expect"] == "includes" and (on != "ci" or c["stat"] == "p_perm"):
        raise ClaimsError(f"{where}: 'includes' needs on = 'ci' and a stat with a CI")
    for key in ("value", "tolerance"):
        v = c.get(key, 0.0)
        if isinstance(v, bool) or not isinstance(v, int | float) or math.isnan(v):
            raise ClaimsError(f"{where}: {key} must be a number, got {v!r}")
    if c.get("tolerance", 0.0) < 0:
        raise ClaimsError(f"{where}: tolerance must be >= 0")


def check_claim(claim: Claim, stats: pd.DataFrame) -> dict:
    """Measure ``claim`` on a statistics table -> a result row (id, experiment, claim,
    expected, source, estimate, ci_low, ci_high, measured, passed)."""
    row = {"id": claim.id, "experiment": claim.experiment, "claim": claim.claim,
           "expected": claim.describe(), "source": claim.source}
    sel = stats[(stats["metric"] == claim.metric) & (stats["condition"] == claim.condition)]
    if len(sel) != 1 or claim.stat not in sel.columns:
        return {**row, "estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                "measured": f"not measured: no {claim.stat} of {claim.metric} for "
                            f"{claim.condition}", "passed": False}
    r = sel.iloc[0]
    est = float(r[claim.stat])
    lo, hi = (float(r[c]) for c in CI_COLUMNS[claim.stat]) if claim.stat in CI_COLUMNS else (
        math.nan, math.nan)
    ci = "" if math.isnan(lo) else f" [95% CI {lo:.3g}, {hi:.3g}]"
    return {**row, "estimate": est, "ci_low": lo, "ci_high": hi,
            "measured": f"{claim.stat} {est:.3g}{ci}", "passed": _passes(claim, est, lo, hi)}


def _passes(claim: Claim, est: float, lo: float, hi: float) -> bool:
    v, tol = claim.value, claim.tolerance
    if claim.expect == "includes":
        return bool(lo <= v <= hi)
    if claim.on == "ci":
        x, tol = (lo if claim.expect in (">", ">=") else hi), 0.0
    else:
        x = est
    if math.isnan(x):
        return False
    return bool({">": x > v - tol, ">=": x >= v - tol, "<": x < v + tol, "<=": x <= v + tol,
                 "==": abs(x - v) <= tol}[claim.expect])


def check_all(claims: list[Claim], results_dirs: dict[str, Path]) -> pd.DataFrame:
    """Every claim checked on ``results_dirs[claim.experiment]/statistics.csv``."""
    rows = []
    for claim in claims:
        path = Path(results_dirs.get(claim.experiment, "/nonexistent")) / "statistics.csv"
        if not path.is_file():
            rows.append({**check_claim(claim, pd.DataFrame(columns=["metric", "condition"])),
                         "measured": f"not measured: {path} missing"})
            continue
        rows.append(check_claim(claim, pd.read_csv(path)))
    return pd.DataFrame(rows)


RESULT_COLUMNS = ["id", "experiment", "claim", "expected", "source", "estimate", "ci_low",
                  "ci_high", "measured", "passed"]


def check_experiment(stats: pd.DataFrame, experiment: str,
                     claims_file: str | Path = CLAIMS_FILE) -> pd.DataFrame:
    """The claims of ``experiment`` checked on its statistics table, one row each (see
    :func:`check_claim`). Claims about a condition the table does not have are left out."""
    conditions = set(stats["condition"]) if "condition" in stats else set()
    mine = [c for c in load_claims(claims_file)
            if c.experiment == experiment and c.condition in conditions]
    return pd.DataFrame([check_claim(c, stats) for c in mine], columns=RESULT_COLUMNS)


def write_run_claims(run_dir: str | Path, experiment: str,
                     claims_file: str | Path = CLAIMS_FILE) -> pd.DataFrame:
    """Check the claims of ``experiment`` on ``run_dir/statistics.csv`` and write them to
    ``run_dir/claims.csv`` (:func:`check_experiment`)."""
    run_dir = Path(run_dir)
    table = check_experiment(pd.read_csv(run_dir / "statistics.csv"), experiment, claims_file)
    table.to_csv(run_dir / "claims.csv", index=False)
    return table


def format_table(table: pd.DataFrame) -> str:
    """The pass/fail table ``reproduce`` prints: one line per claim and a count."""
    lines = [f"{'':6} {'claim':<78} measured (expected)"]
    for _, r in table.iterrows():
        mark = "PASS" if r["passed"] else "FAIL"
        lines.append(f"[{mark}] {r['id']:<26} {r['claim'][:52]:<52} {r['measured']} "
                     f"(expected {r['expected']})")
    lines.append(f"{int(table['passed'].sum())} of {len(table)} claims pass")
    return "\n".join(lines)


def format_claims(records: list[dict]) -> str:
    """The claim check ``affectlab run`` prints: one ``[PASS]``/``[FAIL]`` line per claim."""
    lines = ["claim check (claims.toml, measured by this run):"]
    for c in records:
        expected = f" (expected {c['expected']})" if "expected" in c else ""
        lines.append(f"  [{'PASS' if c['passed'] else 'FAIL'}] {c['claim']}: "
                     f"{c['measured']}{expected}")
    return "\n".join(lines)
