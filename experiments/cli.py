"""The ``affectlab`` command line (also ``python -m experiments``).

affectlab run foraging [--quick] [--out DIR] [--seeds N] [--steps N] [--workers N] [--fresh]
affectlab run my_spec.toml [--out DIR]
affectlab reproduce [--quick] [--readme README.md]
affectlab figures DIR
affectlab bench [--quick] [--json FILE]
affectlab list
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="affectlab", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a catalogued lesion experiment")
    run.add_argument("experiment",
                     help="experiment name (see `affectlab list`) or a spec file (.json/.toml)")
    run.add_argument("--quick", action="store_true", help="the small version (minutes)")
    run.add_argument("--out", type=Path, default=None, help="output folder (default results/NAME)")
    run.add_argument("--seeds", type=int, default=None, help="number of seeds")
    run.add_argument("--steps", type=int, default=None, help="environment steps per run")
    run.add_argument("--workers", type=int, default=None, help="worker processes (0: none)")
    run.add_argument("--timeout", type=float, default=None, help="seconds allowed per job")
    run.add_argument("--no-figure", action="store_true", help="skip the figure")
    run.add_argument("--fresh", action="store_true",
                     help="discard the finished runs of an interrupted run instead of resuming")

    fig = sub.add_parser("figures", help="(re)draw the figure of a results folder")
    fig.add_argument("dir", type=Path)

    bench = sub.add_parser("bench", help="world and training throughput")
    bench.add_argument("--world", default="Foraging-v0")
    bench.add_argument("--quick", action="store_true")
    bench.add_argument("--json", type=Path, default=None, help="write records to FILE")

    rep = sub.add_parser("reproduce", help="run the catalogue and check every claim")
    rep.add_argument("--quick", action="store_true", help="the quick specs (minutes)")
    rep.add_argument("--out", type=Path, default=Path("results/reproduce"))
    rep.add_argument("--claims", type=Path, default=None, help="claims file (TOML)")
    rep.add_argument("--readme", type=Path, default=None,
                     help="replace the results section of this README")
    rep.add_argument("--only", default=None, help="comma-separated experiments")
    rep.add_argument("--fresh", action="store_true", help="rerun finished experiments")
    rep.add_argument("--workers", type=int, default=None)

    sub.add_parser("list", help="worlds, affect channels and experiments")
    return p


def _error(msg: str, code: int = 2) -> int:
    print(f"affectlab: error: {msg}", file=sys.stderr)
    return code


def cmd_run(args) -> int:
    import difflib

    from experiments.catalogue import EXPERIMENTS
    from experiments.runner import RunnerError, check_out_dir, run_experiment, spec_summary
    from experiments.spec import SpecError, load_spec
    from experiments.suites import all_suites

    suites = all_suites()
    if args.experiment in suites:
        return _run_suite(args, suites[args.experiment](args.quick))
    if args.experiment.endswith((".json", ".toml")):
        try:
            spec = load_spec(args.experiment)
        except SpecError as e:
            return _error(e.args[0])
        if args.quick:
            return _error("--quick applies to catalogued experiments; a spec file says its "
                          "own size (use --seeds/--steps to change it)")
    elif args.experiment not in EXPERIMENTS:
        known = list(EXPERIMENTS) + list(suites)
        close = difflib.get_close_matches(args.experiment, known, n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        return _error(
            f"unknown experiment {args.experiment!r}.{hint} Known: {', '.join(known)}"
        )
    else:
        spec = EXPERIMENTS[args.experiment](args.quick)
    overrides = {}
    if args.seeds is not None:
        overrides["seeds"] = args.seeds
    if args.steps is not None:
        overrides["total_steps"] = args.steps
    if args.timeout is not None:
        overrides["timeout_s"] = args.timeout
    spec = dataclasses.replace(spec, **overrides)
    out = args.out if args.out is not None else Path("results") / spec.name
    try:  # every check before anything is created or compiled
        spec.validate()
        check_out_dir(out)
        if args.workers is not None and args.workers < 0:
            raise SpecError(f"--workers must be >= 0, got {args.workers}")
    except SpecError as e:
        return _error(e.args[0])
    print(spec_summary(spec), file=sys.stderr)
    try:
        out = run_experiment(spec, out, workers=args.workers, figures=not args.no_figure,
                             fresh=args.fresh)
    except RunnerError as e:
        return _error(str(e), code=1)
    _print_outputs(out)
    return 0


def _run_suite(args, suite) -> int:
    from experiments.runner import RunnerError, check_out_dir
    from experiments.spec import SpecError
    from experiments.suites import run_suite

    overrides = {k: v for k, v in (("seeds", args.seeds), ("total_steps", args.steps),
                                   ("timeout_s", args.timeout)) if v is not None}
    suite = suite.replace_all(**overrides)
    out = args.out if args.out is not None else Path("results") / suite.name
    try:
        suite.validate()
        check_out_dir(out)
    except (SpecError, ValueError) as e:
        return _error(e.args[0])
    print(f"{suite.name}: {len(suite.members)} members: "
          f"{', '.join(label for label, _ in suite.members)}", file=sys.stderr)
    try:
        out = run_suite(suite, out, workers=args.workers, fresh=args.fresh)
    except RunnerError as e:
        return _error(str(e), code=1)
    _print_outputs(out)
    return 0


def _print_outputs(out: Path) -> None:
    print(f"\nresults written to {out}/")
    names = ["results.csv", "manifest.json", "figure.png", "figure.pdf", "summary.csv"]
    for name in names + ["statistics.csv", "claims.csv", "dissociations.txt", "retention.csv"]:
        if (out / name).exists():
            print(f"  {out / name}")
    for text in ("dissociations.txt",):
        if (out / text).exists():
            print("\n" + (out / text).read_text().rstrip())
    claims = out / "claims.csv"
    if claims.exists():
        import pandas as pd

        from experiments.report import format_claims

        try:
            records = pd.read_csv(claims).to_dict("records")
        except pd.errors.EmptyDataError:  # a suite whose findings are not claims
            records = []
        if records:
            print("\n" + format_claims(records))
    summary = out / "summary.csv"
    if summary.exists():
        import pandas as pd

        df = pd.read_csv(summary)
        print("\nsummary (mean over seeds, 95% bootstrap CI):")
        for _, r in df.iterrows():
            print(
                f"  {r['measure']:<36} {r['condition']:<30} {r['estimate']:8.3f} "
                f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]  n={r['n_seeds']}"
            )


def cmd_figures(args) -> int:
    from experiments.figures import draw

    try:
        paths = draw(args.dir)
    except FileNotFoundError as e:
        return _error(str(e))
    for p in paths:
        print(p)
    return 0


def cmd_bench(args) -> int:
    from experiments.bench import run_bench
    from worlds.registry import check_world_id

    try:
        check_world_id(args.world)
    except KeyError as e:
        return _error(e.args[0])
    run_bench(args.world, quick=args.quick, json_path=args.json)
    return 0


def cmd_list(args) -> int:
    del args
    from affect.channels import CHANNELS
    from experiments.catalogue import EXPERIMENTS
    from worlds.registry import REGISTRY

    print("worlds:")
    for k, v in sorted(REGISTRY.items()):
        print(f"  {k:<24} {v.doc}")
    print("affect channels:")
    for k, v in sorted(CHANNELS.items()):
        print(f"  {k:<24} {v.doc}")
    print("experiments:")
    for k, v in EXPERIMENTS.items():
        print(f"  {k:<24} {(v.__doc__ or '').strip().splitlines()[0]}")
    from experiments.suites import all_suites

    for k, v in all_suites().items():
        print(f"  {k:<24} {(v.__doc__ or '').strip().splitlines()[0]} (suite)")
    return 0


def cmd_reproduce(args) -> int:
    from experiments.reproduce import CLAIMS_FILE, ClaimsError, reproduce
    from experiments.runner import RunnerError

    try:
        return reproduce(args.out, quick=args.quick, claims_file=args.claims or CLAIMS_FILE,
                         readme=args.readme,
                         only=args.only.split(",") if args.only else None,
                         fresh=args.fresh, workers=args.workers)
    except ClaimsError as e:
        return _error(e.args[0])
    except RunnerError as e:
        return _error(str(e), code=1)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import affect  # noqa: F401  (registers channels)
    import worlds  # noqa: F401  (registers worlds)

    handler = {"run": cmd_run, "figures": cmd_figures, "bench": cmd_bench, "list": cmd_list,
               "reproduce": cmd_reproduce}
    return handler[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
