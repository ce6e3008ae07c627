"""What a world's experiments measure: declared by the world, drawn by the reports.

A :class:`Measure` names a quantity of an experiment in a world, its training curve
metric (per update) and its evaluation metric (once per run), and which direction is
better. Every world has :data:`EPISODE_RETURN` and :data:`WORLD_REWARD`; a world adds
what applies to it (``Foraging-v0``: survival and the homeostatic deviation; a goal
world: success). A measure that does not apply to a world is not declared, so its
figure has no panel for it and its summary no row (a world without a body death has no
survival panel, not a flat 1.0).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    """One measure of an experiment.

    Attributes:
        name: short name (``affectlab figures DIR --measures NAME,...`` selects by it).
        label: what it is, in words (axis labels, summary rows).
        curve: its training-curve metric (``charts/*``, ``affect/*``), or ``""``.
        final: its evaluation metric (``eval/*``), or ``""``.
        higher_is_better: which direction is better.
    """

    name: str
    label: str
    curve: str = ""
    final: str = ""
    higher_is_better: bool = True


EPISODE_RETURN = Measure("episode_return", "episode return (world reward)",
                         "charts/episode_return", "eval/episode_return")
WORLD_REWARD = Measure("world_reward", "world reward per step", "charts/world_reward")
SURVIVAL = Measure("survival", "survival rate", "charts/survival", "eval/survival")
HOMEOSTASIS = Measure("homeostatic_deviation", "|energy - set-point|",
                      "affect/homeostatic_deviation", "eval/homeostatic_deviation",
                      higher_is_better=False)
SUCCESS = Measure("success", "episodes ending at the goal", "", "eval/success")
DEFAULT = (EPISODE_RETURN, WORLD_REWARD)
