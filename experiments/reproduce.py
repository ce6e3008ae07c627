"""``affectlab reproduce [--quick]``: run the catalogue, check every claim, write the results.

1. Runs every catalogued experiment named in the claims file (quick or full specs) into
   ``OUT/<experiment>/``. An experiment whose folder already holds a finished run of the
   same spec is not run again (``--fresh`` reruns it), and an interrupted one resumes,
   so ``reproduce`` itself can be stopped and restarted.
2. Checks every claim of the claims file (``experiments/claims.toml``; the format is
   described at its top) on the experiments' ``statistics.csv``.
3. Prints a pass/fail table with the measured values, writes ``OUT/claims.csv`` and
   ``OUT/results.md`` (the README's results section), and with ``--readme FILE``
   replaces the section between ``<!-- reproduce:begin -->`` and ``<!-- reproduce:end -->``
   in ``FILE``.

Exit code 0 when every experiment ran (claims may fail: a failed claim is a result, not
an error); 1 when an experiment could not run; 2 for a malformed claims file.
"""

from __future__ import annotations

import json
import math
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

CLAIMS_FILE = Path(__file__).with_name("claims.toml")
STATS = ("mean", "diff", "ratio", "hedges_g", "p_perm")
CI_COLUMNS = {"mean": ("ci_low", "ci_high"), "diff": ("diff_low", "diff_high"),
              "ratio": ("ratio_low", "ratio_high"), "hedges_g": ("g_low", "g_high")}
OPS = (">", ">=", "<", "<=", "==")
BEGIN, END = "<!-- reproduce:begin -->", "<!-- reproduce:end -->"


class ClaimsError(ValueError):
    """A malformed claims file (the message names the claim and field)."""


@dataclass(frozen=True)
class Claim:
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
        where = "95% CI" if self.on == "ci" else "estimate"
        tol = f" +- {self.tolerance:g}" if self.tolerance else ""
        return f"{self.stat} {self.expect} {self.value:g}{tol} ({where})"


def load_claims(path: str | Path = CLAIMS_FILE) -> list[Claim]:
    """The claims of a claims file, checked field by field."""
    from experiments.catalogue import EXPERIMENTS
    from experiments.suites import all_suites

    known_experiments = list(EXPERIMENTS) + list(all_suites())
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
    fields = set(Claim.__dataclass_fields__)
    required = {"id", "experiment", "claim", "condition", "metric", "stat", "expect", "value"}
    out, ids = [], set()
    for i, c in enumerate(raw):
        where = f"claims file {path}, claim {i} ({c.get('id', '?')})"
        if set(c) - fields:
            raise ClaimsError(f"{where}: unknown field(s) {sorted(set(c) - fields)}")
        if required - set(c):
            raise ClaimsError(f"{where}: missing field(s) {sorted(required - set(c))}")
        if c["experiment"] not in known_experiments:
            raise ClaimsError(f"{where}: unknown experiment {c['experiment']!r}; "
                              f"known: {', '.join(known_experiments)}")
        if c["stat"] not in STATS:
            raise ClaimsError(f"{where}: stat must be one of {STATS}, got {c['stat']!r}")
        if c["expect"] not in OPS:
            raise ClaimsError(f"{where}: expect must be one of {OPS}, got {c['expect']!r}")
        if c.get("on", "ci") not in ("ci", "estimate"):
            raise ClaimsError(f"{where}: on must be 'ci' or 'estimate', got {c['on']!r}")
        if c.get("on", "ci") == "ci" and (c["stat"] == "p_perm" or c["expect"] == "=="):
            raise ClaimsError(f"{where}: use on = 'estimate' for p_perm and for '=='")
        for key in ("value", "tolerance"):
            v = c.get(key, 0.0)
            if isinstance(v, bool) or not isinstance(v, int | float) or math.isnan(v):
                raise ClaimsError(f"{where}: {key} must be a number, got {v!r}")
        if c.get("tolerance", 0.0) < 0:
            raise ClaimsError(f"{where}: tolerance must be >= 0")
        if c["id"] in ids:
            raise ClaimsError(f"{where}: duplicate id {c['id']!r}")
        ids.add(c["id"])
        out.append(Claim(**{**c, "value": float(c["value"]),
                            "tolerance": float(c.get("tolerance", 0.0))}))
    return out


def check_claim(claim: Claim, stats) -> dict:
    """Measure ``claim`` on a statistics table (``pandas.DataFrame``) -> a result row."""
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
    v, tol = claim.value, claim.tolerance
    if claim.on == "ci":
        x = lo if claim.expect in (">", ">=") else hi
        tol = 0.0
    else:
        x = est
    passed = {
        ">": x > v - tol, ">=": x >= v - tol, "<": x < v + tol, "<=": x <= v + tol,
        "==": abs(x - v) <= tol,
    }[claim.expect] if not math.isnan(x) else False
    ci = "" if math.isnan(lo) else f" [95% CI {lo:.3g}, {hi:.3g}]"
    return {**row, "estimate": est, "ci_low": lo, "ci_high": hi,
            "measured": f"{claim.stat} {est:.3g}{ci}", "passed": bool(passed)}


def check_all(claims: list[Claim], results_dirs: dict[str, Path]):
    import pandas as pd

    rows = []
    for claim in claims:
        path = results_dirs.get(claim.experiment, Path("/nonexistent")) / "statistics.csv"
        if not path.is_file():
            rows.append({**check_claim(claim, pd.DataFrame(columns=["metric", "condition"])),
                         "measured": f"not measured: {path} missing"})
            continue
        rows.append(check_claim(claim, pd.read_csv(path)))
    return pd.DataFrame(rows)


def format_table(table) -> str:
    lines = [f"{'':6} {'claim':<78} measured (expected)"]
    for _, r in table.iterrows():
        mark = "PASS" if r["passed"] else "FAIL"
        lines.append(f"[{mark}] {r['id']:<26} {r['claim'][:52]:<52} {r['measured']} "
                     f"(expected {r['expected']})")
    n = int(table["passed"].sum())
    lines.append(f"{n} of {len(table)} claims pass")
    return "\n".join(lines)


def _compute_seconds(d: Path) -> float:
    """Seconds the runs in ``d`` took when they were computed (from the manifests)."""
    total = 0.0
    try:  # a suite: its members' folders
        members = list(json.loads((d / "manifest.json").read_text()).get("members", {}))
    except (OSError, ValueError):
        members = []
    for m in [d / "manifest.json", *(d / label / "manifest.json" for label in members)]:
        try:
            total += float(json.loads(m.read_text())["timings"]["total_s"])
        except (OSError, KeyError, ValueError, TypeError):
            continue
    return total


def results_markdown(table, runs: list[dict], quick: bool) -> str:
    cmd = "affectlab reproduce" + (" --quick" if quick else "")
    computed = [_compute_seconds(Path(r["dir"])) for r in runs]
    lines = [
        f"Written by `{cmd} --readme README.md` on {time.strftime('%Y-%m-%d')} "
        "(do not edit by hand). Claims: `experiments/claims.toml`; measured values with 95% "
        "bootstrap CIs over seeds. Run times are those of the runs that computed the "
        f"results (2-core CPU unless the manifests say otherwise): {sum(computed):.0f} s in "
        "all.",
        "",
        "| experiment | run time | figure |",
        "|---|---|---|",
    ]
    for r, sec in zip(runs, computed, strict=True):
        lines.append(f"| `{r['name']}` | {sec:.0f} s | `{r['dir']}/figure.png` |")
    lines += ["", "| | claim | measured | expected |", "|---|---|---|---|"]
    for _, r in table.iterrows():
        mark = "PASS" if r["passed"] else "**FAIL**"
        lines.append(f"| {mark} | {r['claim']} (`{r['id']}`) | {r['measured']} | "
                     f"{r['expected']} |")
    lines += ["", f"{int(table['passed'].sum())} of {len(table)} claims pass."]
    own = [(r["name"], Path(r["dir"]) / "claims.csv") for r in runs]
    own = [(n, p) for n, p in own if p.is_file() and p.stat().st_size > 2]
    if own:
        import pandas as pd

        lines += ["", "Each experiment's own claim check (as `affectlab run NAME --quick` "
                  "prints it; the sections below discuss them):", "", "```"]
        for name, path in own:
            try:
                rows = pd.read_csv(path).to_dict("records")
            except pd.errors.EmptyDataError:
                continue
            for r in rows:
                mark = "PASS" if r["passed"] else "FAIL"
                lines.append(f"[{mark}] {name}: {r['claim']}: {r['measured']}")
        lines.append("```")
    return "\n".join(lines)


def replace_section(text: str, section: str) -> str:
    if BEGIN not in text or END not in text:
        raise ClaimsError(f"the README has no {BEGIN} ... {END} section to replace")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{section}\n{END}{tail}"


def reproduce(out: str | Path, quick: bool = False, claims_file: str | Path = CLAIMS_FILE,
              readme: str | Path | None = None, only: list[str] | None = None,
              fresh: bool = False, workers: int | None = None) -> int:
    from experiments.catalogue import EXPERIMENTS
    from experiments.runner import run_experiment
    from experiments.suites import all_suites, finished_run, run_suite

    suites = all_suites()
    claims = load_claims(claims_file)
    names = list(dict.fromkeys(c.experiment for c in claims))
    if only:
        unknown = [n for n in only if n not in EXPERIMENTS and n not in suites]
        if unknown:
            raise ClaimsError(f"--only: unknown experiment(s) {unknown}")
        names = [n for n in names if n in only]
        claims = [c for c in claims if c.experiment in only]
    out = Path(out)
    dirs, runs = {}, []
    t_all = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        if name in suites:
            suite = suites[name](quick).validate()
            d = out / suite.name
            dirs[name] = d
            print(f"[reproduce] {suite.name} ({names.index(name) + 1}/{len(names)})",
                  file=sys.stderr, flush=True)
            made = tuple(v for k, v in dirs.items() if k not in suites)
            run_suite(suite, d, workers=workers, fresh=fresh, reuse=made)
            runs.append({"name": suite.name, "dir": str(d), "reused": False,
                         "seconds": time.perf_counter() - t0})
            continue
        spec = EXPERIMENTS[name](quick).validate()
        d = out / spec.name
        dirs[name] = d
        reused = not fresh and finished_run(d, spec, needs=("statistics.csv",))
        if reused:
            print(f"[reproduce] {spec.name}: finished run found in {d}, not rerun",
                  file=sys.stderr)
        else:
            print(f"[reproduce] {spec.name} ({names.index(name) + 1}/{len(names)})",
                  file=sys.stderr, flush=True)
            run_experiment(spec, d, workers=workers)
        runs.append({"name": spec.name, "dir": str(d), "reused": reused,
                     "seconds": time.perf_counter() - t0})
    table = check_all(claims, dirs)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "claims.csv", index=False)
    md = results_markdown(table, runs, quick)
    (out / "results.md").write_text(md + "\n")
    (out / "reproduce.json").write_text(json.dumps(
        {"quick": quick, "total_s": time.perf_counter() - t_all, "runs": runs,
         "passed": int(table["passed"].sum()), "claims": len(table)}, indent=2) + "\n")
    print("\n" + format_table(table))
    print(f"\nreproduce: {time.perf_counter() - t_all:.0f} s; wrote {out / 'claims.csv'} and "
          f"{out / 'results.md'}")
    if readme is not None:
        readme = Path(readme)
        readme.write_text(replace_section(readme.read_text(), md))
        print(f"reproduce: replaced the results section of {readme}")
    return 0
