"""``affectlab reproduce [--quick]``: run the catalogue, check every claim, write the results.

1. Runs every catalogued experiment and suite named in the claims file (quick or full
   specs) into ``OUT/<experiment>/``. An experiment whose folder already holds a finished
   run of the same spec is not run again (``--fresh`` reruns it), and an interrupted one
   resumes, so ``reproduce`` itself can be stopped and restarted.
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
import sys
import time
from pathlib import Path

import pandas as pd

from experiments.analysis.claims import (
    CLAIMS_FILE,
    ClaimsError,
    check_all,
    format_table,
    load_claims,
)
from experiments.runner import run_experiment
from experiments.suites import SUITES, finished_run, run_suite
from experiments.tasks import TASKS

BEGIN, END = "<!-- reproduce:begin -->", "<!-- reproduce:end -->"


def known_experiments() -> list[str]:
    """Every catalogued experiment and suite name."""
    return list(TASKS) + list(SUITES)


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


def results_markdown(table: pd.DataFrame, runs: list[dict], quick: bool) -> str:
    """The README's results section: run times, figures and the claims table."""
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
    return "\n".join(lines)


def replace_section(text: str, section: str) -> str:
    """``text`` with the part between the reproduce markers replaced by ``section``."""
    if BEGIN not in text or END not in text:
        raise ClaimsError(f"the README has no {BEGIN} ... {END} section to replace")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{section}\n{END}{tail}"


def run_one(name: str, out: Path, quick: bool, fresh: bool, workers: int | None,
            made: tuple[Path, ...]) -> dict:
    """Run (or reuse) one catalogued experiment or suite; returns its run record."""
    t0 = time.perf_counter()
    if name in SUITES:
        suite = SUITES[name](quick).validate()
        d = out / suite.name
        run_suite(suite, d, workers=workers, fresh=fresh, reuse=made)
        return {"name": suite.name, "dir": str(d), "reused": False,
                "seconds": time.perf_counter() - t0}
    spec = TASKS[name].spec(quick).validate()
    d = out / spec.name
    reused = not fresh and finished_run(d, spec, needs=("statistics.csv",))
    if reused:
        print(f"[reproduce] {spec.name}: finished run found in {d}, not rerun", file=sys.stderr)
    else:
        run_experiment(spec, d, workers=workers)
    return {"name": spec.name, "dir": str(d), "reused": reused,
            "seconds": time.perf_counter() - t0}


def reproduce(out: str | Path, quick: bool = False, claims_file: str | Path = CLAIMS_FILE,
              readme: str | Path | None = None, only: list[str] | None = None,
              fresh: bool = False, workers: int | None = None) -> int:
    """Run the catalogue named in ``claims_file`` into ``out`` and check every claim (see
    the module docstring); returns the exit code."""
    claims = load_claims(claims_file, known_experiments())
    names = list(dict.fromkeys(c.experiment for c in claims))
    if only:
        unknown = [n for n in only if n not in known_experiments()]
        if unknown:
            raise ClaimsError(f"--only: unknown experiment(s) {unknown}")
        names = [n for n in names if n in only]
        claims = [c for c in claims if c.experiment in only]
    out = Path(out)
    dirs, runs = {}, []
    t_all = time.perf_counter()
    for i, name in enumerate(names):
        print(f"[reproduce] {name} ({i + 1}/{len(names)})", file=sys.stderr, flush=True)
        made = tuple(Path(v) for k, v in dirs.items() if k not in SUITES)
        runs.append(run_one(name, out, quick, fresh, workers, made))
        dirs[name] = Path(runs[-1]["dir"])
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
