"""A lesion experiment from a script: graded hunger lesions on Foraging-v0.

Intact agents, half-strength hunger, no hunger, and the marker (value prior) alone
removed, all in one compiled program; then the summary (means with 95% t intervals, and
each lesion minus intact, paired over seeds; no interval below 4 seeds).

    python examples/lesion_experiment.py --quick --out results/graded-hunger

The part between the ``readme`` markers is the README's example (a test checks that they
are the same) and is included in the docs.
"""

# --8<-- [start:readme]
import dataclasses

from affect import Lesion
from experiments.runner import run_experiment
from experiments.spec import ExperimentSpec

spec = ExperimentSpec(
    name="graded-hunger", world="Foraging-v0", seeds=16, total_steps=1_000_000,
    conditions=(Lesion("intact"), Lesion("hunger-0.5", {"hunger": 0.5}),
                Lesion("hunger-0", {"hunger": 0.0}),
                Lesion("no-hunger-prior", {"hunger": {"marker": 0.0}})),
)


def run(out="results/graded-hunger", fresh=False, **sizes):
    """Run ``spec`` into ``out``: results, figure, statistics (``sizes``: e.g. ``seeds=2``;
    a finished run of the same spec is kept unless ``fresh``)."""
    return run_experiment(dataclasses.replace(spec, **sizes), out, fresh=fresh)
# --8<-- [end:readme]


def main(argv=None):
    import argparse

    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="results/graded-hunger")
    args = parser.parse_args(argv)
    out = run(args.out, **({"seeds": 2, "total_steps": 16_384} if args.quick else {}))
    summary = pd.read_csv(out / "summary.csv")
    print(summary.to_string(index=False))


if __name__ == "__main__":
    main()
