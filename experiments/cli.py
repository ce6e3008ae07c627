"""The ``affectlab`` command line (also ``python -m experiments``).

affectlab run foraging [--quick] [--out DIR] [--seeds N] [--steps N] [--workers N] [--fresh]
affectlab run my_spec.toml [--out DIR]
affectlab reproduce [--quick] [--docs docs] [--readme FILE]
affectlab figures DIR
affectlab bench [--quick] [--json FILE] [--experiment foraging]
affectlab list
affectlab fit igt DATA [--model agent,ev,pvl-delta] [--free a,b] --out DIR
affectlab recover igt [--model agent] [--participants 100] --out DIR
affectlab ablate [--full] [--out DIR] [--variants v1,v2]
affectlab archive OUT DEST | --claims DEST | --restore DEST OUT
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from importlib import metadata
from pathlib import Path

import pandas as pd

import affect  # noqa: F401  (registers the channels)
import worlds  # noqa: F401  (registers the worlds)
from affect.channels import CHANNELS
from experiments import archive
from experiments.analysis.claims import CLAIMS_FILE, ClaimsError, format_claims
from experiments.analysis.registration import check_registration, lock_path, register
from experiments.estimate import seconds_of, with_timeout
from experiments.fit import commands as fit_commands
from experiments.reproduce import POWER_CSV, known_experiments, power, reproduce
from experiments.runner import RunnerError, check_out_dir, check_spec, run_experiment, spec_summary
from experiments.spec import SpecError, load_spec
from experiments.status import record_wall_times, status, status_text
from experiments.suites import SUITES, run_suite
from experiments.suites import report as write_report
from experiments.tasks import TASKS, get_task
from experiments.tools.ablate import ablate
from experiments.tools.bench import bench_experiment, run_bench
from worlds.registry import REGISTRY, check_world_id

SEEDS_PER_JOB_HELP = ("seeds in one job, what a resumed run keeps or redoes (default: 1 on "
                      "a CPU; on an accelerator, where a job vmaps its seeds, all of them, "
                      "or on a Ray cluster an even share of them per task)")


def build_parser() -> argparse.ArgumentParser:
    """The ``affectlab`` argument parser (the docs' CLI reference is written from it)."""
    p = argparse.ArgumentParser(prog="affectlab",
                                description="The affectlab command line: lesion experiments "
                                            "with affective RL agents.")
    p.add_argument("--version", action="version",
                   version=f"affectlab {metadata.version('affectlab')}")
    sub = p.add_subparsers(dest="command", required=True)

    _add_run(sub)

    fig = sub.add_parser("figures", help="(re)draw the report of an experiment's or a suite's "
                         "results folder")
    fig.add_argument("dir", type=Path)
    fig.add_argument("--measures", default=None,
                     help="comma-separated measures to draw, in order (learning-curve "
                          "reports), e.g. episode_return,world_reward")

    bench = sub.add_parser("bench", help="world and training throughput")
    bench.add_argument("--world", default="Foraging-v0")
    bench.add_argument("--quick", action="store_true")
    bench.add_argument("--json", type=Path, default=None, help="write records to FILE")
    bench.add_argument("--experiment", default=None, metavar="NAME",
                       help="instead: a PPO experiment's quick run, end to end, against its "
                            "training steps at the benchmarked rate (measured before and "
                            "after it, in this process)")

    _add_reproduce(sub)
    sub.add_parser("list", help="worlds, affect channels and experiments")
    fit_commands.add_parsers(sub)
    _add_ablate(sub)
    archive.add_parser(sub)
    return p


def _add_ablate(sub) -> None:
    ab = sub.add_parser("ablate", help="each change of the model alone and together, on "
                                       "every claim of the online experiments")
    ab.add_argument("--full", action="store_true", help="full sizes (default: quick)")
    ab.add_argument("--out", type=Path, default=Path("results/ablation"))
    ab.add_argument("--variants", default=None,
                    help="comma-separated variants to run (default: all; see docs/model.md)")
    ab.add_argument("--workers", type=int, default=None)
    ab.add_argument("--docs", type=Path, default=None,
                    help="also write the table between the ablation markers of this page")


def _add_run(sub) -> None:
    """The ``run`` sub-parser."""
    run = sub.add_parser("run", help="run a catalogued lesion experiment")
    run.add_argument("experiment",
                     help="experiment name (see: affectlab list) or a spec file (.json/.toml)")
    run.add_argument("--quick", action="store_true", help="the small version (minutes)")
    run.add_argument("--out", type=Path, default=None, help="output folder (default results/NAME)")
    run.add_argument("--seeds", type=int, default=None, help="number of seeds")
    run.add_argument("--steps", type=int, default=None, help="environment steps per run")
    run.add_argument("--workers", type=int, default=None,
                     help="worker processes (0: none); with --executor ray, jobs at once")
    run.add_argument("--seeds-per-job", type=_positive, default=None,
                     help=SEEDS_PER_JOB_HELP)
    run.add_argument("--executor", default="local", choices=("local", "ray"),
                     help="where jobs run: local processes, or Ray tasks (a local Ray "
                          "cluster, or the one RAY_ADDRESS names; pip install -e '.[ray]')")
    run.add_argument("--tracker", default=None, choices=("tensorboard",),
                     help="also send each finished job's learning curves to TensorBoard "
                          "(OUT/tensorboard; pip install -e '.[tracking]')")
    run.add_argument("--timeout", type=_seconds, default=None,
                     help="seconds allowed per job (default: four times a job's expected "
                          "time, at least the spec's)")
    run.add_argument("--no-figure", action="store_true", help="skip the figure")
    run.add_argument("--fresh", action="store_true",
                     help="discard the finished runs of an interrupted run instead of resuming")


def _add_reproduce(sub) -> None:
    """The ``reproduce`` and ``power`` sub-parsers."""
    rep = sub.add_parser("reproduce", help="run the catalogue and check every claim")
    rep.add_argument("--quick", action="store_true", help="the quick specs (minutes)")
    rep.add_argument("--out", type=Path, default=Path("results/reproduce"))
    rep.add_argument("--claims", type=Path, default=None, help="claims file (TOML)")
    rep.add_argument("--readme", type=Path, default=None,
                     help="replace the results section (between markers) of this file")
    rep.add_argument("--docs", type=Path, default=None,
                     help="write the results into this docs folder (results.md, each "
                          "experiment's page and figure)")
    rep.add_argument("--only", default=None, help="comma-separated experiments")
    rep.add_argument("--fresh", action="store_true",
                     help="recompute every experiment from the start (finished or interrupted)")
    rep.add_argument("--development-seeds", action="store_true",
                     help="run on the development seed range instead of the confirmatory "
                          "one (for work on the model; not a confirmatory result)")
    rep.add_argument("--workers", type=int, default=None)
    rep.add_argument("--seeds-per-job", type=_positive, default=None,
                     help=SEEDS_PER_JOB_HELP)
    rep.add_argument("--executor", default="local", choices=("local", "ray"),
                     help="where jobs run (see affectlab run --executor)")
    rep.add_argument("--timeout", type=_seconds, default=None,
                     help="seconds allowed per job (default: four times a job's expected "
                          "time, at least 900)")

    st = sub.add_parser("status", help="where a reproduce run stands: done, running, "
                                       "stopped; time spent and left (reads its folder)")
    st.add_argument("out", type=Path, nargs="?", default=Path("results/reproduce"),
                    help="the --out of the reproduce run (default results/reproduce)")
    st.add_argument("--quick", action="store_true", help="the run is a --quick one")
    st.add_argument("--development-seeds", action="store_true",
                    help="the run is on the development seed range")
    st.add_argument("--only", default=None, help="comma-separated experiments")
    st.add_argument("--claims", type=Path, default=None, help="claims file (TOML)")
    st.add_argument("--record", metavar="HOW", default=None,
                    help="append the wall time of every finished experiment to "
                         "experiments/wall_times.csv (the estimate and the docs' table), "
                         "with HOW it was run, e.g. 'confirmatory seeds, two sessions'")

    cl = sub.add_parser("claims", help="check the claims file against its registration "
                                       "(claims.lock), or register new claims")
    cl.add_argument("--claims", type=Path, default=None, help="claims file (TOML)")
    cl.add_argument("--register", action="store_true",
                    help="append the claims not yet registered to the lock")

    pw = sub.add_parser("power", help="seeds each claim needs for 80%% power, from a pilot")
    pw.add_argument("pilot", type=Path, help="a reproduce output folder (the pilot run)")
    pw.add_argument("--claims", type=Path, default=None, help="claims file (TOML)")
    pw.add_argument("--docs", type=Path, default=None,
                    help="write the table into this markdown file (between power markers)")
    pw.add_argument("--csv", type=Path, default=None,
                    help="write the table here (default experiments/power.csv)")


def _positive(text: str) -> int:
    """An argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text!r}")
    return value


def _seconds(text: str) -> float:
    """An argparse type: a number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def _error(msg: str, code: int = 2) -> int:
    """Print ``affectlab: error: msg`` to stderr and return ``code``."""
    print(f"affectlab: error: {msg}", file=sys.stderr)
    return code


def cmd_run(args) -> int:
    """``affectlab run``: a catalogued experiment or suite, or a spec file."""
    if args.experiment in SUITES:
        return _run_suite(args, SUITES[args.experiment](args.quick))
    if args.experiment.endswith((".json", ".toml")):
        try:
            spec = load_spec(args.experiment)
        except SpecError as e:
            return _error(e.args[0])
        if args.quick:
            return _error("--quick applies to catalogued experiments; a spec file says its "
                          "own size (use --seeds/--steps to change it)")
    else:
        try:
            spec = get_task(args.experiment).spec(args.quick)
        except KeyError as e:
            known = ", ".join(known_experiments())
            return _error(e.args[0].split(" Known:")[0] + f" Known: {known}")
    overrides = {k: v for k, v in (("seeds", args.seeds), ("total_steps", args.steps))
                 if v is not None}
    spec = dataclasses.replace(spec, **overrides)
    out = args.out if args.out is not None else Path("results") / spec.name
    try:  # every check before anything is created or compiled
        check_spec(spec)
        check_out_dir(out)
        if args.workers is not None and args.workers < 0:
            raise SpecError(f"--workers must be >= 0, got {args.workers}")
    except SpecError as e:
        return _error(e.args[0])
    spec = with_timeout(spec, args.quick, args.seeds_per_job, args.timeout)
    print(spec_summary(spec), file=sys.stderr)
    try:
        out = run_experiment(spec, out, workers=args.workers, seeds_per_job=args.seeds_per_job,
                             figures=not args.no_figure, fresh=args.fresh,
                             executor=args.executor, tracker=args.tracker)
    except RunnerError as e:
        return _error(str(e), code=1)
    _print_outputs(out)
    return 0


def _run_suite(args, suite) -> int:
    overrides = {k: v for k, v in (("seeds", args.seeds), ("total_steps", args.steps))
                 if v is not None}
    suite = suite.replace_all(**overrides)
    out = args.out if args.out is not None else Path("results") / suite.name
    try:
        suite.validate()
        check_out_dir(out)
    except (SpecError, ValueError) as e:
        return _error(e.args[0])
    suite = with_timeout(suite, args.quick, args.seeds_per_job, args.timeout)
    print(f"{suite.name}: {len(suite.members)} members: "
          f"{', '.join(label for label, _ in suite.members)}", file=sys.stderr)
    try:
        out = run_suite(suite, out, workers=args.workers, fresh=args.fresh,
                        executor=args.executor, cost=seconds_of(args.quick),
                        seeds_per_job=args.seeds_per_job)
    except RunnerError as e:
        return _error(str(e), code=1)
    _print_outputs(out)
    return 0


def _print_outputs(out: Path) -> None:
    print(f"\nresults written to {out}/")
    names = ["results.csv", "manifest.json", "figure.png", "figure.pdf", "summary.csv"]
    for name in names + ["statistics.csv", "values.csv", "claims.csv", "dissociations.txt",
                         "retention.csv"]:
        if (out / name).exists():
            print(f"  {out / name}")
    for text in ("dissociations.txt",):
        if (out / text).exists():
            print("\n" + (out / text).read_text().rstrip())
    claims = out / "claims.csv"
    if claims.exists():
        try:
            records = pd.read_csv(claims).to_dict("records")
        except pd.errors.EmptyDataError:  # a suite whose findings are not claims
            records = []
        if records:
            print("\n" + format_claims(records))
    summary = out / "summary.csv"
    if summary.exists():
        df = pd.read_csv(summary)
        print("\nsummary (mean over seeds, 95% t interval; differences paired over seeds):")
        for _, r in df.iterrows():
            ci = ("[too few seeds for an interval]" if pd.isna(r["ci_low"])
                  else f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]")
            print(f"  {r['measure']:<36} {r['condition']:<30} {r['estimate']:8.3f} {ci}  "
                  f"n={r['n_seeds']}")


def cmd_figures(args) -> int:
    """``affectlab figures DIR``: rewrite a results folder's report."""
    try:
        paths = write_report(args.dir, measures=args.measures.split(",") if args.measures
                             else None)
    except (FileNotFoundError, ValueError) as e:
        return _error(str(e))
    for p in paths:
        print(p)
    return 0


def cmd_bench(args) -> int:
    """``affectlab bench``: world and training throughput."""
    try:
        check_world_id(args.world)
    except KeyError as e:
        return _error(e.args[0])
    if args.experiment is None:
        run_bench(args.world, quick=args.quick, json_path=args.json)
        return 0
    ppo = sorted(n for n, t in TASKS.items() if t.spec(quick=True).trainer == "ppo")
    if args.experiment not in ppo:
        return _error(f"--experiment: one of {', '.join(ppo)} (PPO-trained), not "
                      f"{args.experiment!r}")
    r = bench_experiment(TASKS[args.experiment].spec(quick=True))
    print(f"{r['name']}: {r['wall_s']:.0f} s wall for {r['steps'] / 1e6:.1f} M training "
          f"steps; PPO benchmarked at {r['rate_before'] / 1e6:.3f} M steps/s before and "
          f"{r['rate_after'] / 1e6:.3f} after: {r['training_at_rate_s']:.0f} s at that rate; "
          f"ratio {r['ratio']:.2f}")
    if args.json is not None:
        args.json.write_text(json.dumps(r, indent=2) + "\n")
    return 0


def cmd_list(args) -> int:
    """``affectlab list``: worlds, affect channels, experiments and suites."""
    del args
    print("worlds:")
    for k, v in sorted(REGISTRY.items()):
        print(f"  {k:<24} {v.doc}")
    print("affect channels:")
    for k, v in sorted(CHANNELS.items()):
        print(f"  {k:<24} {v.doc}")
    print("experiments:")
    for k, task in TASKS.items():
        print(f"  {k:<24} {task.question}")
    for k, v in SUITES.items():
        print(f"  {k:<24} {(v.__doc__ or '').strip().splitlines()[0]} (suite)")
    return 0


def cmd_ablate(args) -> int:
    """``affectlab ablate``: the ablation table of the model's mechanisms."""
    try:
        ablate(args.out, quick=not args.full, workers=args.workers,
               only=args.variants.split(",") if args.variants else None, docs=args.docs)
    except KeyError as e:
        return _error(e.args[0])
    except (ValueError, OSError) as e:
        return _error(str(e))
    except RunnerError as e:
        return _error(str(e), code=1)
    print((args.out / "ablation.md").read_text())
    return 0


def cmd_reproduce(args) -> int:
    """``affectlab reproduce``: run the catalogue and check every claim."""
    try:
        return reproduce(args.out, quick=args.quick, claims_file=args.claims or CLAIMS_FILE,
                         readme=args.readme,
                         only=args.only.split(",") if args.only else None,
                         fresh=args.fresh, workers=args.workers,
                         seed_range="development" if args.development_seeds else "confirmatory",
                         docs=args.docs, executor=args.executor,
                         seeds_per_job=args.seeds_per_job, timeout=args.timeout)
    except ClaimsError as e:
        return _error(e.args[0])
    except RunnerError as e:
        return _error(str(e), code=1)


def cmd_status(args) -> int:
    """``affectlab status OUT``: where each experiment of a reproduce run stands."""
    try:
        parts = status(args.out, quick=args.quick,
                       seed_range="development" if args.development_seeds else "confirmatory",
                       only=args.only.split(",") if args.only else None,
                       claims_file=args.claims or CLAIMS_FILE)
    except (ClaimsError, FileNotFoundError) as e:
        return _error(e.args[0])
    print(status_text(parts))
    if args.record is not None:
        names = record_wall_times(parts, args.quick, args.record)
        print(f"status: recorded the wall time of {', '.join(names) or 'nothing new'} in "
              "experiments/wall_times.csv")
    return 0


def cmd_power(args) -> int:
    """``affectlab power PILOT``: the seeds each claim needs, from a pilot run."""
    try:
        table = power(args.pilot, claims_file=args.claims or CLAIMS_FILE, docs=args.docs,
                      csv=args.csv or POWER_CSV)
    except ClaimsError as e:
        return _error(e.args[0])
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(table[["id", "kind", "pilot_seeds", "effect", "seeds_needed", "quick_seeds",
                     "quick_power", "full_seeds", "full_power"]].to_string(index=False))
    return 0


def cmd_claims(args) -> int:
    """``affectlab claims [--register]``: the claims file against its registration."""
    path = args.claims or CLAIMS_FILE
    try:
        if args.register:
            new = register(path)
            print(f"registered {len(new)} new claim(s) in {lock_path(path)}"
                  + "".join(f"\n  {i}" for i in new))
            return 0
        problems = check_registration(path)
    except ClaimsError as e:
        return _error(e.args[0])
    if not lock_path(path).exists():
        return _error(f"{path} has no registration ({lock_path(path).name}); "
                      "`affectlab claims --register` writes it", 1)
    for p in problems:
        print(p)
    print(f"{path}: {len(problems)} problem(s) with its registration" if problems
          else f"{path}: every claim as registered in {lock_path(path).name}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the command line) and run the command; returns the exit
    code."""
    args = build_parser().parse_args(argv)
    handler = {"run": cmd_run, "figures": cmd_figures, "bench": cmd_bench, "list": cmd_list,
               "reproduce": cmd_reproduce, "status": cmd_status, "power": cmd_power,
               "fit": fit_commands.cmd_fit, "recover": fit_commands.cmd_recover,
               "ablate": cmd_ablate, "claims": cmd_claims, "archive": archive.cmd_archive}
    return handler[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
