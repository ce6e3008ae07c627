"""The ``foraging`` experiment: does a built-in hunger drive make learning to survive faster?

Intact vs hunger-lesioned agents on ``Foraging-v0``, trained with PPO. Its report is the
learning-curve report (:func:`experiments.tasks.base.curves_report`): survival, world
return and homeostatic deviation over training, with the final evaluation in
``summary.csv`` and ``statistics.csv``.
"""

from __future__ import annotations

from affect.lesion import Lesion
from experiments.spec import ExperimentSpec
from experiments.tasks.base import INTACT, Task, curves_report

HUNGER_DEV = Lesion("hunger-lesion", {"hunger": 0.0}, onset="developmental")
HUNGER_ACQ = Lesion("hunger-lesion-acquired", {"hunger": 0.0}, onset="acquired")


def spec(quick: bool = False) -> ExperimentSpec:
    """Does a built-in hunger drive make learning to survive faster?

    Intact vs hunger-lesioned agents on ``Foraging-v0``. The quick version (the README's
    first command) has 8 seeds and 1 M steps per run; the full one 36 seeds (the power
    table's need, from the quick run of 2026-12-02; 32 until then), 3 M steps, and an
    acquired lesion (trained intact, lesioned for the final evaluation).
    """
    if quick:
        return ExperimentSpec(name="foraging-quick", world="Foraging-v0",
                              conditions=(INTACT, HUNGER_DEV), seeds=8, total_steps=1_000_000)
    return ExperimentSpec(name="foraging", world="Foraging-v0",
                          conditions=(INTACT, HUNGER_DEV, HUNGER_ACQ), seeds=36,
                          total_steps=3_000_000)


TASK = Task("foraging", spec, curves_report)
