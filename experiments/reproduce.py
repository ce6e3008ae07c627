"""``affectlab reproduce [--quick]``: run the catalogue, check every claim, write the results.

1. Runs every catalogued experiment and suite named in the claims file (quick or full
   specs) into ``OUT/<experiment>/``. An experiment whose folder already holds a finished
   run of the same spec is not run again, and an interrupted one resumes, so
   ``reproduce`` itself can be stopped and restarted; ``--fresh`` recomputes every
   experiment from the start.
   Runs use the confirmatory seed range (fresh seeds, from
   :data:`~experiments.spec.CONFIRMATORY_SEEDS` on) unless told otherwise.
2. Checks every claim of the claims file (``experiments/claims.toml``; the format is
   described at its top) on the experiments' ``values.csv``: the confirmatory claims as
   one family with Holm-adjusted p-values, the exploratory ones and the controls apart.
3. Prints a pass/fail table with the measured values, writes ``OUT/claims.csv`` and
   ``OUT/results.md`` (the results section), with ``--readme FILE`` replaces the section
   between ``<!-- reproduce:begin -->`` and ``<!-- reproduce:end -->`` in ``FILE``, and
   with ``--docs DIR`` writes the docs site's results: ``DIR/results.md`` and each
   experiment's page and figure (:func:`write_docs`).

Exit code 0 when every experiment ran (claims may fail: a failed claim is a result, not
an error); 1 when an experiment could not run; 2 for a malformed claims file.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

from experiments.analysis.claims import (
    CLAIMS_FILE,
    ClaimsError,
    check_all,
    claims_record,
    format_table,
    load_claims,
)
from experiments.analysis.power import power_markdown, power_table
from experiments.analysis.registration import require_registered
from experiments.analysis.tables import replace_between
from experiments.catalogue import catalogue_item, catalogue_plan, known_experiments
from experiments.estimate import duration, estimate, estimate_text, seconds_of, with_timeout
from experiments.runner import keep_workers, run_experiment
from experiments.runner.results import ORIGINS
from experiments.runner.store import run_wall_s
from experiments.spec import ExperimentSpec
from experiments.status import status, status_text
from experiments.suites import SUITES, Suite, finished_run, run_suite
from experiments.tasks import TASKS
from experiments.tasks import report as write_report

BEGIN, END = "<!-- reproduce:begin -->", "<!-- reproduce:end -->"
RESULTS_BEGIN, RESULTS_END = "<!-- results:begin -->", "<!-- results:end -->"
# a full-size run's docs: its own sections, beside the quick run's (which the two
# commands of the README reproduce and the pages' readings describe)
FULL_MARKERS = {"results.md": ("<!-- reproduce-full:begin -->", "<!-- reproduce-full:end -->"),
                "page": ("<!-- full:begin -->", "<!-- full:end -->")}
POWER_BEGIN, POWER_END = "<!-- power:begin -->", "<!-- power:end -->"
POWER_CSV = Path(__file__).resolve().parent / "power.csv"


def _compute_seconds(d: Path) -> float:
    """Seconds the runs in ``d`` took when they were computed (from the manifests)."""
    total = 0.0
    try:  # a suite: its members' folders
        members = list(json.loads((d / "manifest.json").read_text()).get("members", {}))
    except (OSError, ValueError):
        members = []
    for m in [d / "manifest.json", *(d / label / "manifest.json" for label in members)]:
        try:
            total += run_wall_s(m)
        except (OSError, KeyError, ValueError, TypeError):
            continue
    return total


def results_markdown(table: pd.DataFrame, runs: list[dict], quick: bool,
                     seed_range: str = "confirmatory", outputs: str = "") -> str:
    """The results section: run times, figures, the headline (confirmatory claims only)
    and the claims tables by kind; ``outputs``: the command's output flags, e.g.
    ``--docs docs``."""
    cmd = "affectlab reproduce" + (" --quick" if quick else "") + (
        " --development-seeds" if seed_range == "development" else "")
    computed = [_compute_seconds(Path(r["dir"])) for r in runs]
    lines = [
        f"Written by `{cmd}{' ' + outputs if outputs else ''}` on {time.strftime('%Y-%m-%d')} "
        f"(do not edit by hand), on the {seed_range} seed range. Claims: "
        "`experiments/claims.toml`. Each claim is a one-sided test at its threshold "
        "(paired over seeds; p < 0.05), with the statistic's 95% interval; the "
        "confirmatory claims form one family with Holm-adjusted p-values. Run times are "
        "those of the runs that computed the results (2-core CPU unless the manifests say "
        f"otherwise): {sum(computed):.0f} s in all.",
        "",
        "| experiment | run time | figure |",
        "|---|---|---|",
    ]
    for r, sec in zip(runs, computed, strict=True):
        lines.append(f"| `{r['name']}` | {sec:.0f} s | `{r['dir']}/figure.png` |")
    lines += ["", headline(table), *claims_markdown(table)]
    return "\n".join(lines)


def claims_markdown(table: pd.DataFrame) -> list[str]:
    """Markdown lines: the claims of ``table`` by kind, one row each."""
    lines = []
    for kind, title in (("confirmatory", "Confirmatory claims (one family, Holm-adjusted)"),
                        ("exploratory", "Exploratory claims (found in, or changed after, "
                                        "our data; unadjusted)"),
                        ("control", "Controls (hold by construction; unadjusted)")):
        part = table[table["kind"] == kind]
        if part.empty:
            continue
        lines += ["", f"**{title}**", "", "| | claim | measured | expected |",
                  "|---|---|---|---|"]
        for _, r in part.iterrows():
            mark = "PASS" if r["passed"] else "**FAIL**"
            holm = "" if pd.isna(r["p_holm"]) else f"; Holm p = {r['p_holm']:.2g}"
            lines.append(f"| {mark} | {r['claim']} (`{r['id']}`) | {r['measured']}{holm} | "
                         f"{r['expected']} |")
    return lines


def headline(table: pd.DataFrame) -> str:
    """``"N of M confirmatory claims pass (...)"``: the count a reader should quote."""
    conf = table[table["kind"] == "confirmatory"]
    tested = conf[conf["tested"].astype(bool)]
    return (f"{int(conf['passed'].sum())} of {len(conf)} confirmatory claims pass "
            f"({int(tested['passed'].sum())} of {len(tested)} tested with Holm-adjusted "
            f"p < 0.05; the other {len(conf) - len(tested)} are descriptive, on the "
            "estimate). Exploratory claims and controls are not counted here.")


def mark_underpowered(table: pd.DataFrame, claims: list, quick: bool,
                      power_csv: str | Path = POWER_CSV) -> pd.DataFrame:
    """``table`` with ``seeds_needed`` (from the power table, where it has the claim) and,
    on each tested claim run on fewer seeds than that, a note in ``measured``: the check
    is a smoke test at those seeds, not evidence."""
    table = table.copy()
    table["seeds_needed"] = float("nan")
    try:
        needed = pd.read_csv(power_csv).set_index("id")["seeds_needed"]
    except (OSError, KeyError, pd.errors.EmptyDataError):
        return table
    by_id = {c.id: c for c in claims}
    for i, r in table.iterrows():
        need = needed.get(r["id"], float("nan"))
        table.loc[i, "seeds_needed"] = need
        if pd.isna(need) or not r["tested"]:
            continue
        c = by_id[r["id"]]
        have = catalogue_seeds(c.experiment, c.metric).get("quick" if quick else "full")
        if have is not None and have < need:
            table.loc[i, "measured"] = (f"{r['measured']} (underpowered: {have} seeds, the "
                                        f"power table asks {int(need)}; a smoke test)")
    return table


def replace_section(text: str, section: str, begin: str = BEGIN, end: str = END) -> str:
    """``text`` with the part between the markers ``begin`` and ``end`` (by default the
    reproduce markers) replaced by ``section``
    (:func:`~experiments.analysis.tables.replace_between`)."""
    try:
        return replace_between(text, section, begin, end)
    except ValueError as e:
        raise ClaimsError(e.args[0]) from None


def run_stamp(d: Path) -> str:
    """One line on how the run in ``d`` was made: date, seeds and their range, versions,
    machine and git revision (a suite's from its first member)."""
    try:
        m = json.loads((d / "manifest.json").read_text())
    except (OSError, ValueError):
        return "(no manifest)"
    seeds = ""
    if "members" in m:  # a suite: the stamp of its first member, the seeds of each
        counts = {label: len(ExperimentSpec.from_dict(s).seed_list())
                  for label, s in m["members"].items()}
        seeds = ", ".join(f"{label} {n}" for label, n in counts.items())
        first = Path(m.get("member_dirs", {}).get(next(iter(counts)), d))
        created = m.get("created", "?")
        try:
            m = json.loads((first / "manifest.json").read_text())
        except (OSError, ValueError):
            m = {}
    else:
        created = m.get("created", "?")
        seeds = str(len(m.get("seeds", [])))
    v = m.get("versions", {})
    vers = ", ".join(f"{k} {v[k]}" for k in ("jax", "flax", "optax", "numpy") if k in v)
    rng = m.get("seed_range", {}).get("this_run") or (
        ExperimentSpec.from_dict(m["spec"]).seed_range() if "spec" in m else "?")
    machine = m.get("machine", {})
    git = m.get("git") or {}
    rev = str(git.get("revision") or "?")[:10] + (" (uncommitted changes)"
                                                  if git.get("dirty") else "")
    several = "".join(f" (its jobs on several {what}: manifest {key})"
                      for key, what, _ in ORIGINS.values()
                      if sum(k != "not recorded" for k in m.get(key, {})) > 1)
    return (f"Run {created[:10]}; seeds per condition: {seeds} ({rng} range); {vers}; "
            f"{machine.get('platform', '?')}, {machine.get('cpu_count', '?')} CPUs"
            f"{_cpu(machine)}{several}"
            f"; git {rev}.")


def _cpu(machine: dict) -> str:
    """`` (model, widest vector set)`` of a manifest's machine; empty for manifests written
    before the CPU was recorded."""
    if not machine.get("cpu"):
        return ""
    widest = [f for f in ("sse4_2", "avx", "avx2", "avx512f") if f in machine.get("cpu_flags", [])]
    return f" ({machine['cpu']}{', ' + widest[-1] if widest else ''})"


def write_docs(docs: str | Path, table: pd.DataFrame, dirs: dict[str, Path],
               md: str, quick: bool = True) -> list[Path]:
    """Write the results into the docs site: ``results.md`` (the section ``md``, between
    the reproduce markers), each experiment's block of ``experiments/<name>.md`` (its run's
    stamp, figure and claims, between the results markers) and its figure
    (``figures/<name>.png``). A full-size run (not ``quick``) writes its own sections
    instead (:data:`FULL_MARKERS`) and figures (``figures/<name>-full.png``), so that a
    page keeps its quick run's block. Pages that do not exist are left alone."""
    docs = Path(docs)
    (begin, end), (page_begin, page_end) = (
        ((BEGIN, END), (RESULTS_BEGIN, RESULTS_END)) if quick
        else (FULL_MARKERS["results.md"], FULL_MARKERS["page"]))
    written = []
    results = docs / "results.md"
    if results.is_file():
        _replace_in(results, md, begin, end)
        written.append(results)
    for name, d in dirs.items():
        page = docs / "experiments" / f"{name}.md"
        if not page.is_file():
            continue
        lines = [run_stamp(Path(d)), ""]
        figure = f"{name}.png" if quick else f"{name}-full.png"
        if (Path(d) / "figure.png").is_file():
            (docs / "figures").mkdir(exist_ok=True)
            shutil.copyfile(Path(d) / "figure.png", docs / "figures" / figure)
            lines += [f"![{name}: the figure of the {'latest' if quick else 'full-size'} "
                      f"run](../figures/{figure})", ""]
        lines += claims_markdown(table[table["experiment"] == name])
        _replace_in(page, "\n".join(lines), page_begin, page_end)
        written.append(page)
    return written


def _replace_in(path: Path, section: str, begin: str = BEGIN, end: str = END) -> None:
    """:func:`replace_section` in the file ``path``; its :class:`ClaimsError` names the
    file."""
    try:
        path.write_text(replace_section(path.read_text(), section, begin, end))
    except ClaimsError as e:
        raise ClaimsError(f"{path}: {e.args[0]}") from None


def run_one(name: str, out: Path, quick: bool, fresh: bool, workers: int | None,
            made: tuple[Path, ...], seed_range: str = "confirmatory",
            executor: str = "local", seeds_per_job: int | None = None,
            timeout: float | None = None) -> dict:
    """Run (or reuse) one catalogued experiment or suite on ``seed_range``'s seeds, on
    ``executor``, ``seeds_per_job`` seeds to a job, each job allowed ``timeout`` seconds
    (default: sized by :func:`~experiments.estimate.with_timeout`); returns its run record. A
    reused run's report (statistics, values, figure, claims) is rewritten from its
    ``results.csv``."""
    t0 = time.perf_counter()
    item = with_timeout(catalogue_item(name, quick, seed_range), quick, seeds_per_job, timeout)
    if isinstance(item, Suite):
        d = out / item.name
        run_suite(item, d, workers=workers, fresh=fresh, reuse=made, executor=executor,
                  cost=seconds_of(quick), seeds_per_job=seeds_per_job)
        return {"name": item.name, "dir": str(d), "reused": False,
                "seconds": time.perf_counter() - t0}
    spec = item
    d = out / spec.name
    reused = not fresh and finished_run(d, spec)
    if reused:
        print(f"[reproduce] {spec.name}: finished run found in {d}, not rerun (its report is "
              "rewritten)", file=sys.stderr)
        write_report(d)
    else:  # --fresh recomputes a finished run, and an interrupted one from the start
        run_experiment(spec, d, workers=workers, seeds_per_job=seeds_per_job, fresh=fresh,
                       executor=executor)
    return {"name": spec.name, "dir": str(d), "reused": reused,
            "seconds": time.perf_counter() - t0}


def catalogue_progress(i: int, expected, elapsed: float) -> str:
    """``[reproduce] NAME (i/N; elapsed, ~left)``: the catalogue's progress line before
    experiment ``i``; the time left is the estimate of the experiments not yet run
    (:func:`~experiments.estimate.estimate`), those never measured counted as unknown."""
    rest = expected["seconds"].iloc[i:]
    left = f"~{duration(rest.sum())} left by the estimate" + (
        " and more" if rest.isna().any() else "")
    return (f"[reproduce] {expected['experiment'].iloc[i]} ({i + 1}/{len(expected)}; "
            f"{duration(elapsed)} elapsed, {left})")


def reproduce(out: str | Path, quick: bool = False, claims_file: str | Path = CLAIMS_FILE,
              readme: str | Path | None = None, only: list[str] | None = None,
              fresh: bool = False, workers: int | None = None,
              seed_range: str = "confirmatory", docs: str | Path | None = None,
              executor: str = "local", seeds_per_job: int | None = None,
              timeout: float | None = None) -> int:
    """Run the catalogue named in ``claims_file`` into ``out`` on ``seed_range``'s seeds
    (``"confirmatory"``, the default, or ``"development"``) with ``executor``'s jobs of
    ``seeds_per_job`` seeds, each allowed ``timeout`` seconds (default: as long as its
    expected time needs), and check every claim (see the module docstring); returns
    the exit code."""
    if seed_range not in ("confirmatory", "development"):
        raise ClaimsError(f"seed_range must be 'confirmatory' or 'development', got "
                          f"{seed_range!r}")
    claims, names = catalogue_plan(claims_file, only)
    require_registered(claims_file)
    out = Path(out)
    expected = estimate(names, quick)
    print(estimate_text(expected, quick), file=sys.stderr, flush=True)
    parts = _where_it_stands(out, quick, seed_range, only, claims_file, fresh)
    if parts:
        print(f"Where {out} stands (affectlab status):\n" + status_text(parts),
              file=sys.stderr, flush=True)
        expected = left_of(expected, parts)
    dirs, runs = {}, []
    t_all = time.perf_counter()
    with keep_workers():  # one set of worker processes for the whole catalogue
        for i, name in enumerate(names):
            print(catalogue_progress(i, expected, time.perf_counter() - t_all),
                  file=sys.stderr, flush=True)
            made = tuple(Path(v) for k, v in dirs.items() if k not in SUITES)
            runs.append(run_one(name, out, quick, fresh, workers, made, seed_range, executor,
                                seeds_per_job, timeout))
            dirs[name] = Path(runs[-1]["dir"])
    table = mark_underpowered(check_all(claims, dirs), claims, quick)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "claims.csv", index=False)
    outputs = " ".join(f"--{k} {v}" for k, v in (("readme", readme), ("docs", docs)) if v)
    md = results_markdown(table, runs, quick, seed_range, outputs)
    (out / "results.md").write_text(md + "\n")
    counts = {k: {"passed": int(g["passed"].sum()), "claims": len(g)}
              for k, g in table.groupby("kind")}
    (out / "reproduce.json").write_text(json.dumps(
        {"quick": quick, "seed_range": seed_range, "total_s": time.perf_counter() - t_all,
         "runs": runs, "dirs": {k: str(v) for k, v in dirs.items()},
         "claims_file": claims_record(claims_file), "by_kind": counts},
        indent=2) + "\n")
    print("\n" + format_table(table) + "\n\n" + headline(table))
    print(f"\nreproduce: {time.perf_counter() - t_all:.0f} s; wrote {out / 'claims.csv'} and "
          f"{out / 'results.md'}")
    if readme is not None:
        readme = Path(readme)
        _replace_in(readme, md)
        print(f"reproduce: replaced the results section of {readme}")
    if docs is not None:
        written = write_docs(docs, table, dirs, md, quick)
        print(f"reproduce: wrote the results of {len(written)} docs pages under {docs}")
    return 0



def _where_it_stands(out: Path, quick: bool, seed_range: str, only, claims_file,
                     fresh: bool) -> list | None:
    """The :func:`~experiments.status.status` of ``out`` where it holds finished or
    interrupted runs this command will use (not with ``fresh``), else ``None``."""
    if fresh or not out.is_dir():
        return None
    parts = status(out, quick, seed_range, only, claims_file)
    return None if all(p.state == "not started" for p in parts) else parts


def left_of(expected: pd.DataFrame, parts: list) -> pd.DataFrame:
    """``expected`` (:func:`~experiments.estimate.estimate`) with each experiment's
    seconds replaced by the time :func:`~experiments.status.status` gives for what is
    left of it (0 where done; unknown where a part has no estimate), so that a resumed
    catalogue's progress lines count down what it still has to run."""
    left: dict[str, float] = {}
    for p in parts:
        left[p.experiment] = left.get(p.experiment, 0.0) + p.left_s
    return expected.assign(seconds=[left.get(e, s) for e, s in
                                    zip(expected["experiment"], expected["seconds"],
                                        strict=True)])


def catalogue_seeds(name: str, metric: str) -> dict[str, int]:
    """``{"quick": n, "full": n}``: the seeds of the run a claim of ``name`` on ``metric`` is
    measured on (a suite's member is named by the metric's prefix, ``member:...``)."""
    out = {}
    for size, quick in (("quick", True), ("full", False)):
        if name in TASKS:
            out[size] = TASKS[name].spec(quick).seeds
            continue
        members = dict(SUITES[name](quick).members)
        member = members.get(metric.split(":", 1)[0])
        if member is not None:
            out[size] = member.seeds
    return out


def power(pilot: str | Path, claims_file: str | Path = CLAIMS_FILE,
          docs: str | Path | None = None, csv: str | Path | None = POWER_CSV) -> pd.DataFrame:
    """The power table of every claim from a pilot ``reproduce`` output folder (its
    ``reproduce.json`` names each experiment's folder, whose ``values.csv`` gives the
    pilot's per-seed values; see :mod:`experiments.analysis.power`). Writes ``csv`` and,
    with ``docs``, the table between the power markers of that file."""
    pilot = Path(pilot)
    try:
        record = json.loads((pilot / "reproduce.json").read_text())
    except (OSError, ValueError) as e:
        raise ClaimsError(f"{pilot} is not a reproduce output folder (reproduce.json: {e})") \
            from None
    claims = load_claims(claims_file, known_experiments())
    values = {}
    for name, d in record.get("dirs", {}).items():
        path = Path(d) / "values.csv"
        if path.is_file():
            values[name] = pd.read_csv(path)
    seeds = {c.id: catalogue_seeds(c.experiment, c.metric) for c in claims}
    table = power_table(claims, values, seeds)
    when = time.strftime("%Y-%m-%d", time.localtime((pilot / "reproduce.json").stat().st_mtime))
    label = (f"affectlab reproduce{' --quick' if record.get('quick') else ''} on the "
             f"{record.get('seed_range', 'development')} seeds, {when}")
    if csv is not None:
        table.to_csv(csv, index=False)
    if docs is not None:
        docs = Path(docs)
        text = docs.read_text()
        if POWER_BEGIN not in text or POWER_END not in text:
            raise ClaimsError(f"{docs} has no {POWER_BEGIN} ... {POWER_END} section")
        head, rest = text.split(POWER_BEGIN, 1)
        tail = rest.split(POWER_END, 1)[1]
        docs.write_text(f"{head}{POWER_BEGIN}\n{power_markdown(table, label)}\n"
                        f"{POWER_END}{tail}")
    return table
