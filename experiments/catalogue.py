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


def lesion_set(channels: tuple[str, ...]) -> tuple[Lesion, ...]:
    """Intact, full lesion, each single-channel lesion and the marker-only ("vmpfc")
    lesion, each with developmental and acquired onset."""
    full = {c: 0.0 for c in channels}
    kinds = [("full-lesion", full)]
    kinds += [(f"{c}-lesion", {c: 0.0}) for c in channels]
    kinds += [("vmpfc-lesion", {c: {"marker": 0.0} for c in channels})]
    out = [INTACT]
    for onset, suffix in (("developmental", ""), ("acquired", "-acquired")):
        out += [Lesion(name + suffix, gains, onset=onset) for name, gains in kinds]
    return tuple(out)


def paralysis(quick: bool = False) -> ExperimentSpec:
    """Does removing affect produce indecision on close choices?

    ``Choice-v0`` (pairwise trials, half of them between equal-value items), one
    online session per participant: a learning phase, then a test phase where the
    measures are taken and acquired lesions are in force. Conditions: see
    :func:`lesion_set`. Quick: 32 seeds, 600 + 600 trials; full: 64 seeds, 1000 + 1000.
    """
    from affect.ppo import AgentConfig

    channels = AgentConfig().affect_channels
    n, seeds = (1200, 32) if quick else (2000, 64)
    return ExperimentSpec(
        name="paralysis-quick" if quick else "paralysis",
        world="Choice-v0",
        conditions=lesion_set(channels),
        seeds=seeds,
        total_steps=n,
        test_steps=n // 2,
        trainer="online",
    )


def gambling(quick: bool = False) -> ExperimentSpec:
    """Do affective markers steer choices away from decks with delayed losses?

    ``IowaGambling-v0``: one 100-trial session per simulated participant, learning
    online from the first card. Conditions: see :func:`lesion_set`; an acquired lesion
    takes effect after block 2 (trial 40), so blocks 3-5 are the test phase. Quick: 100
    participants per condition; full: 400.
    """
    from affect.ppo import AgentConfig

    channels = AgentConfig().affect_channels
    return ExperimentSpec(
        name="gambling-quick" if quick else "gambling",
        world="IowaGambling-v0",
        conditions=lesion_set(channels),
        seeds=100 if quick else 400,
        total_steps=100,
        test_steps=60,
        trainer="online",
    )


def social(quick: bool = False) -> ExperimentSpec:
    """Does felt standing keep a commons alive?

    ``Commons-v0`` (4 agents, society rules on) with the default agent (every agent has
    its own network, so a developmentally lesioned agent learns its own policy rather
    than running one shaped by the feeling agents): all intact, all social-lesioned, and
    one social-lesioned agent (agent 0) among intact ones. Quick: 16 seeds, 295k steps;
    full: 32, 2M.
    """
    return ExperimentSpec(
        name="social-quick" if quick else "social",
        world="Commons-v0",
        conditions=(
            INTACT,
            Lesion("social-lesion", {"social": 0.0}),
            Lesion("one-lesioned", {"social": 0.0}, agents=(0,)),
        ),
        seeds=16 if quick else 32,
        total_steps=294_912 if quick else 2_000_000,
    )


def loops(quick: bool = False) -> ExperimentSpec:
    """Does frustration break oscillation between two failing plans?

    ``Detour-v0``: the goal lies behind a wall, the reward gradient points into a pocket
    with two levers that undo each other. Intact agents vs frustration-lesioned, hunger-
    lesioned (a control: the body still tires) and fully lesioned ones; loop rate,
    success and time caught over the last quarter of training. Quick: 16 seeds, 300k
    steps; full: 64 seeds, 1M.
    """
    from affect.ppo import AgentConfig

    full = {c: 0.0 for c in AgentConfig().affect_channels}
    return ExperimentSpec(
        name="loops-quick" if quick else "loops",
        world="Detour-v0",
        conditions=(
            INTACT,
            Lesion("frustration-lesion", {"frustration": 0.0}),
            Lesion("hunger-lesion", {"hunger": 0.0}),
            Lesion("full-lesion", full),
        ),
        seeds=16 if quick else 64,
        total_steps=300_000 if quick else 1_000_000,
    )


EXPERIMENTS: dict[str, Callable[[bool], ExperimentSpec]] = {
    "foraging": foraging,
    "paralysis": paralysis,
    "gambling": gambling,
    "social": social,
    "loops": loops,
}
