"""The catalogued experiments (pinned specs). ``EXPERIMENTS[name](quick) -> spec``."""

from __future__ import annotations

from collections.abc import Callable

from affect.lesion import Lesion
from experiments.spec import ExperimentSpec

INTACT = Lesion("intact")
HUNGER_DEV = Lesion("hunger-lesion", {"hunger": 0.0}, onset="developmental")
HUNGER_ACQ = Lesion("hunger-lesion-acquired", {"hunger": 0.0}, onset="acquired")


def foraging(quick: bool = False) -> ExperimentSpec:
    """Does a built-in hunger drive make learning to survive faster?

    Intact vs hunger-lesioned agents on ``Foraging-v0``. The quick version (the README's
    first command) has 8 seeds and 1 M steps per run; the full one 32 seeds, 3 M steps,
    and an acquired lesion (trained intact, lesioned for the final evaluation).
    """
    if quick:
        return ExperimentSpec(
            name="foraging-quick",
            world="Foraging-v0",
            conditions=(INTACT, HUNGER_DEV),
            seeds=8,
            total_steps=1_000_000,
        )
    return ExperimentSpec(
        name="foraging",
        world="Foraging-v0",
        conditions=(INTACT, HUNGER_DEV, HUNGER_ACQ),
        seeds=32,
        total_steps=3_000_000,
    )


EXPERIMENTS: dict[str, Callable[[bool], ExperimentSpec]] = {"foraging": foraging}
