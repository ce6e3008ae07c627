"""The claims of ``claims.toml``: loaded field by field, tested on a run's per-seed values.

Every claim of affectlab lives once, in ``experiments/claims.toml`` (the format is
described at its top). ``affectlab run NAME`` checks the claims of experiment ``NAME``
on the run's ``values.csv`` (the per-run values its ``statistics.csv`` is computed from)
and writes ``claims.csv``; ``affectlab reproduce`` checks all of them on the catalogue's
runs.

A claim is a one-sided hypothesis about a statistic at a threshold. With ``on = "ci"``
it is tested: a one-sided t-test at the threshold (paired over seeds where the condition
shares intact's seeds; Welch's otherwise; ratios by Fieller's construction, rates over
trials by the exact binomial test), passing at p < :data:`ALPHA`; ``"within"`` is an
equivalence test (two one-sided tests) within a stated margin. Confirmatory claims form
one family whose p-values are Holm-adjusted (:func:`adjust`); exploratory claims and
controls (claims that hold by construction) are reported apart, unadjusted. With
``on = "estimate"`` a claim is descriptive: its point estimate is compared with the
threshold, no test is made.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from affect.storage import atomic_write_json
from experiments.analysis.inference import equivalence_p, holm, one_sided_p
from experiments.analysis.tables import VALUE_COLUMNS, compare, samples

CLAIMS_FILE = Path(__file__).resolve().parent.parent / "claims.toml"
ALPHA = 0.05
STATS = ("mean", "diff", "ratio", "d_z", "hedges_g", "p_perm", "rate_ub", "ratio_ub")
TESTED = ("mean", "diff", "ratio", "rate_ub", "ratio_ub")  # stats that a test exists for
CI_COLUMNS = {"mean": ("ci_low", "ci_high"), "diff": ("diff_low", "diff_high"),
              "ratio": ("ratio_low", "ratio_high")}
OPS = (">", ">=", "<", "<=", "==", "includes", "within")
KINDS = ("confirmatory", "exploratory", "control")
REQUIRED = ("id", "experiment", "kind", "claim", "condition", "metric", "stat", "expect",
            "value")


class ClaimsError(ValueError):
    """A malformed claims file (the message names the claim and field)."""


@dataclass(frozen=True)
class Claim:
    """One registered claim: ``stat`` of ``metric`` in ``condition`` ``expect`` ``value``.

    Attributes:
        id: unique name of the claim.
        experiment: catalogue name of the experiment or suite it is measured on.
        kind: ``confirmatory`` (its source predates the result: literature, the design),
            ``exploratory`` (found in, or changed after, our data) or ``control`` (holds by
            construction; checks the machinery, not a finding).
        claim: the claim in words.
        condition: the lesion condition the measure is taken on.
        metric: a metric of the experiment's ``statistics.csv``.
        stat: ``mean``, ``diff`` (condition minus intact), ``ratio`` (over intact),
            ``d_z``, ``hedges_g``, ``p_perm``, ``rate_ub`` (one-sided 95% upper bound of a
            rate over trials) or ``ratio_ub`` (the condition's rate over intact's
            ``rate_ub``).
        expect: ``>``, ``>=``, ``<``, ``<=``, ``==``, ``includes`` (the 95% CI includes
            ``value``) or ``within`` (equivalent to ``value`` within ``margin``).
        value: the threshold.
        on: ``"ci"`` (tested at the threshold) or ``"estimate"`` (descriptive).
        tolerance: slack on the threshold for ``on = "estimate"``.
        margin: the equivalence margin of ``within``.
        source: where the claim comes from.
        note: provenance (e.g. what was changed after which run).
    """

    id: str
    experiment: str
    kind: str
    claim: str
    condition: str
    metric: str
    stat: str
    expect: str
    value: float
    on: str = "ci"
    tolerance: float = 0.0
    margin: float = 0.0
    source: str = ""
    note: str = ""

    def describe(self) -> str:
        """The expectation in words, e.g. ``ratio >= 3 (estimate)``."""
        if self.expect == "includes":
            return f"95% CI of {self.stat} includes {self.value:g}"
        if self.expect == "within":
            return f"{self.stat} within {self.value:g} +- {self.margin:g} (equivalence test)"
        if self.on == "estimate":
            tol = f" +- {self.tolerance:g}" if self.tolerance else ""
            return f"{self.stat} {self.expect} {self.value:g}{tol} (estimate)"
        return f"{self.stat} {self.expect} {self.value:g} (one-sided test, p < {ALPHA:g})"


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
                            "tolerance": float(c.get("tolerance", 0.0)),
                            "margin": float(c.get("margin", 0.0))}))
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
    for key, allowed in (("kind", KINDS), ("stat", STATS), ("expect", OPS)):
        if c[key] not in allowed:
            raise ClaimsError(f"{where}: {key} must be one of {allowed}, got {c[key]!r}")
    for key in ("value", "tolerance", "margin"):
        v = c.get(key, 0.0)
        if isinstance(v, bool) or not isinstance(v, int | float) or math.isnan(v):
            raise ClaimsError(f"{where}: {key} must be a number, got {v!r}")
    _check_test(c, where)


def _check_test(c: dict, where: str) -> None:
    on, stat, expect = c.get("on", "ci"), c["stat"], c["expect"]
    if on not in ("ci", "estimate"):
        raise ClaimsError(f"{where}: on must be 'ci' or 'estimate', got {on!r}")
    if on == "ci" and (stat not in TESTED or expect == "=="):
        raise ClaimsError(f"{where}: no test for {stat} {expect}: use on = 'estimate' (tests "
                          f"exist for {', '.join(TESTED)}; '==' is 'within' when tested)")
    if expect == "includes" and (on != "ci" or stat not in CI_COLUMNS):
        raise ClaimsError(f"{where}: 'includes' needs on = 'ci' and a stat with a CI")
    if expect == "within" and (on != "ci" or stat not in ("mean", "diff")
                               or not c.get("margin", 0) > 0):
        raise ClaimsError(f"{where}: 'within' needs on = 'ci', stat mean or diff and a "
                          f"margin > 0")
    if c.get("tolerance", 0.0) < 0:
        raise ClaimsError(f"{where}: tolerance must be >= 0")


def check_claim(claim: Claim, values: pd.DataFrame) -> dict:
    """Measure and test ``claim`` on per-run values (``values.csv``: condition, seed,
    metric, value[, trials]) -> a result row (id, experiment, kind, claim, expected,
    source, tested, estimate, ci_low, ci_high, p, measured, passed)."""
    row = {"id": claim.id, "experiment": claim.experiment, "kind": claim.kind,
           "claim": claim.claim, "expected": claim.describe(), "source": claim.source,
           "tested": claim.on == "ci" and claim.expect != "includes"}
    sample = samples(values, claim.condition, claim.metric) if len(values) else None
    have = sample is not None and sample[0].size > 0
    stats = compare(values, claim.metric, claim.condition,
                    permutation=claim.stat == "p_perm") if have else {}
    est = stats.get(claim.stat, math.nan) if claim.stat != "ratio_ub" else _ratio_ub(
        values, claim, stats)
    if not have or (claim.stat in ("rate_ub", "ratio_ub") and math.isnan(est)):
        return {**row, "estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                "p": math.nan, "measured": f"not measured: no {claim.stat} of "
                                           f"{claim.metric} for {claim.condition}",
                "passed": False}
    lo, hi = (float(stats.get(c, math.nan)) for c in CI_COLUMNS.get(claim.stat, ("", "")))
    ci = "" if math.isnan(lo) else f" [95% CI {lo:.3g}, {hi:.3g}]"
    measured = f"{claim.stat} {float(est):.3g}{ci}"
    p, passed = math.nan, _passes_estimate(claim, float(est))
    if claim.on == "ci":
        if stats.get("note"):
            measured += f" ({stats['note']})"
            passed = False
        elif claim.expect == "includes":
            passed = bool(lo <= claim.value <= hi)
        elif claim.stat == "ratio" and math.isnan(lo):
            measured += (" (not testable: intact's mean is not clearly away from 0, so "
                         "Fieller's interval is unbounded)")
            passed = False
        else:
            p = _test(claim, sample, stats)
            passed = bool(p < ALPHA)
            measured += f", p = {p:.2g}"
    return {**row, "estimate": float(est), "ci_low": lo, "ci_high": hi, "p": p,
            "measured": measured, "passed": bool(passed)}


def _ratio_ub(values: pd.DataFrame, claim: Claim, stats: dict) -> float:
    """The condition's mean rate over intact's ``rate_ub`` (kept in ``stats`` as
    ``intact_rate_ub`` for the claim's test)."""
    has_intact = (values["condition"] == "intact").any()
    intact = compare(values, claim.metric, "intact", permutation=False) if has_intact else {}
    ub = stats["intact_rate_ub"] = intact.get("rate_ub", math.nan)
    return stats.get("mean", math.nan) / ub if ub and not math.isnan(ub) else math.nan


def _passes_estimate(claim: Claim, x: float) -> bool:
    v, tol = claim.value, claim.tolerance
    if math.isnan(x) or claim.expect in ("includes", "within"):
        return False
    return bool({">": x > v - tol, ">=": x >= v - tol, "<": x < v + tol, "<=": x <= v + tol,
                 "==": abs(x - v) <= tol}[claim.expect])


def _test(claim: Claim, sample: tuple, stats: dict) -> float:
    """The one-sided p-value of ``claim`` at its threshold (small: the claim holds);
    ``sample``: :func:`~experiments.analysis.tables.samples` of the claim."""
    x, base, paired = sample
    greater, v = claim.expect in (">", ">="), claim.value
    if claim.expect == "within":
        if claim.stat == "mean":
            return equivalence_p(x, None, claim.margin, center=v)
        return equivalence_p(x, base, claim.margin, center=v, paired=paired)
    if claim.stat == "mean":
        return one_sided_p(x, None, const=v, greater=greater)
    if claim.stat == "diff":
        return one_sided_p(x, base, const=v, paired=paired, greater=greater)
    if claim.stat == "ratio":  # mean(x) / mean(b) > v  <=>  mean(x - v b) > 0 for mean(b) > 0
        flip = float(np.nanmean(base)) < 0
        return one_sided_p(x, base, k=v, paired=paired, greater=greater != flip)
    if claim.stat == "rate_ub":  # exact binomial test of the pooled rate against v
        k, n = int(stats["events"]), int(stats["trials"])
        return float(sps.binom.cdf(k, n, v) if not greater else sps.binom.sf(k - 1, n, v))
    return one_sided_p(x, None, const=v * stats["intact_rate_ub"], greater=greater)  # ratio_ub


def adjust(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (rows of :func:`check_claim`) with ``p_holm``: Holm-adjusted p-values over
    its confirmatory tested claims (a claim in the family that could not be tested counts
    as p = 1), and ``passed`` of those claims re-read at ``p_holm < ALPHA``."""
    table = table.copy()
    table["p_holm"] = math.nan
    if table.empty:
        return table
    family = (table["kind"] == "confirmatory") & table["tested"].astype(bool)
    p = table.loc[family, "p"].fillna(1.0).to_numpy(float)
    if len(p):
        adj = holm(p)
        table.loc[family, "p_holm"] = adj
        table.loc[family, "passed"] = adj < ALPHA
    return table


def check_all(claims: list[Claim], results_dirs: dict[str, Path]) -> pd.DataFrame:
    """Every claim checked on ``results_dirs[claim.experiment]/values.csv``, with
    Holm-adjusted p-values over the confirmatory family (:func:`adjust`)."""
    rows, cache = [], {}
    for claim in claims:
        path = Path(results_dirs.get(claim.experiment, "/nonexistent")) / "values.csv"
        if path not in cache:
            cache[path] = pd.read_csv(path) if path.is_file() else None
        if cache[path] is None:
            rows.append({**check_claim(claim, pd.DataFrame(columns=VALUE_COLUMNS)),
                         "measured": f"not measured: {path} missing"})
            continue
        rows.append(check_claim(claim, cache[path]))
    return adjust(pd.DataFrame(rows, columns=RESULT_COLUMNS[:-1]))


RESULT_COLUMNS = ["id", "experiment", "kind", "claim", "expected", "source", "tested",
                  "estimate", "ci_low", "ci_high", "p", "measured", "passed", "p_holm"]


def check_experiment(values: pd.DataFrame, experiment: str,
                     claims_file: str | Path = CLAIMS_FILE) -> pd.DataFrame:
    """The claims of ``experiment`` checked on its per-run values, one row each (see
    :func:`check_claim`; Holm over its confirmatory claims). Claims about a condition the
    values do not have are left out."""
    conditions = set(values["condition"]) if "condition" in values else set()
    mine = [c for c in load_claims(claims_file)
            if c.experiment == experiment and c.condition in conditions]
    table = pd.DataFrame([check_claim(c, values) for c in mine], columns=RESULT_COLUMNS[:-1])
    return adjust(table)


def write_run_claims(run_dir: str | Path, experiment: str,
                     claims_file: str | Path = CLAIMS_FILE) -> pd.DataFrame:
    """Check the claims of ``experiment`` on ``run_dir/values.csv``, write them to
    ``run_dir/claims.csv`` (:func:`check_experiment`) and record the claims file's SHA-256
    in ``run_dir/manifest.json`` (``claims``), so that a reader can tell which
    registration the run was checked against."""
    run_dir = Path(run_dir)
    table = check_experiment(pd.read_csv(run_dir / "values.csv"), experiment, claims_file)
    table.to_csv(run_dir / "claims.csv", index=False)
    manifest = run_dir / "manifest.json"
    if manifest.is_file():
        data = json.loads(manifest.read_text())
        data["claims"] = claims_record(claims_file)
        atomic_write_json(manifest, data)
    return table


def claims_record(claims_file: str | Path = CLAIMS_FILE) -> dict:
    """``{"file": name, "sha256": digest}`` of a claims file."""
    path = Path(claims_file)
    return {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _p_text(r) -> str:
    if r.get("kind") == "confirmatory" and not pd.isna(r.get("p_holm", math.nan)):
        return f"; Holm p = {r['p_holm']:.2g}"
    return ""


def format_table(table: pd.DataFrame) -> str:
    """The pass/fail table ``reproduce`` prints: the confirmatory family (Holm-adjusted),
    then the exploratory claims and the controls, each with a count."""
    lines = []
    for kind, title in (("confirmatory", "confirmatory claims (one family, Holm-adjusted)"),
                        ("exploratory", "exploratory claims (unadjusted)"),
                        ("control", "controls (hold by construction)")):
        part = table[table["kind"] == kind]
        if part.empty:
            continue
        lines.append(f"{title}:")
        for _, r in part.iterrows():
            mark = "PASS" if r["passed"] else "FAIL"
            lines.append(f"[{mark}] {r['id']:<34} {r['claim'][:48]:<48} {r['measured']}"
                         f"{_p_text(r)} (expected {r['expected']})")
        lines.append(f"{int(part['passed'].sum())} of {len(part)} {kind} claims pass\n")
    return "\n".join(lines).rstrip()


def format_claims(records: list[dict]) -> str:
    """The claim check ``affectlab run`` prints: one ``[PASS]``/``[FAIL]`` line per claim,
    with its kind."""
    lines = ["claim check (claims.toml, measured by this run; confirmatory p-values "
             "Holm-adjusted over this run's confirmatory claims):"]
    for c in records:
        expected = f" (expected {c['expected']})" if "expected" in c else ""
        kind = f"{c['kind']}: " if "kind" in c else ""
        lines.append(f"  [{'PASS' if c['passed'] else 'FAIL'}] {kind}{c['claim']}: "
                     f"{c['measured']}{_p_text(c)}{expected}")
    return "\n".join(lines)
