"""Regenerate a figure (and its summary or statistics) from a results folder alone.

Figures only read ``results.csv`` (and ``manifest.json``), so a figure can be redrawn,
or restyled, without re-running anything:

    python examples/regenerate_figure.py results/foraging-quick
    affectlab figures results/foraging-quick          # the same, from the shell

With ``--demo DIR`` it first writes a tiny experiment into DIR, then redraws it.
"""

import argparse
from pathlib import Path

from affect import Lesion
from experiments.runner import run_experiment
from experiments.spec import ExperimentSpec
from experiments.tasks import report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", help="a results folder")
    parser.add_argument("--demo", metavar="DIR", help="write a tiny experiment here first")
    args = parser.parse_args(argv)
    if args.demo:
        spec = ExperimentSpec(
            name="demo", world="Foraging-v0", seeds=2, total_steps=8_192,
            conditions=(Lesion("intact"), Lesion("hunger-lesion", {"hunger": 0.0})),
        )
        results = run_experiment(spec, args.demo, figures=False)
    elif args.results:
        results = Path(args.results)
    else:
        parser.error("give a results folder or --demo DIR")
    (results / "figure.png").unlink(missing_ok=True)
    for path in report(results):
        print(path)


if __name__ == "__main__":
    main()
