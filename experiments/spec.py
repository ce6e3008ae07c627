"""Experiment specs: declarative, validated before anything compiles.

An :class:`ExperimentSpec` names a world, the agent's hyper-parameters, the lesion
conditions, the seeds and the training length. :meth:`ExperimentSpec.validate` raises
a :class:`SpecError` naming the offending field; the runner calls it before it creates
any file or compiles anything.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from affect.channels import get_channel
from affect.lesion import Lesion
from affect.ppo import AgentConfig
from worlds.registry import check_world_id

TRAINERS = ("ppo", "online")


class SpecError(ValueError):
    """A malformed experiment spec (the message names the field)."""


@dataclass(frozen=True)
class ExperimentSpec:
    """A lesion experiment.

    Attributes:
        name: experiment name (used in run names and output folders).
        world: registered world id, e.g. ``"Foraging-v0"``.
        conditions: lesion conditions; names must be unique.
        seeds: number of seeds; seeds are ``seed_offset .. seed_offset + seeds - 1``.
        total_steps: environment steps of training per run.
        agent: agent hyper-parameters (``total_steps`` is taken from the spec).
        world_params: overrides of the world's default params (task parameters only).
        seed_offset: first seed.
        timeout_s: wall-clock limit for one job (a group of runs compiled together).
        trainer: ``"ppo"`` (batched PPO, :mod:`affect.ppo`) or ``"online"`` (one session
            per run, updated every step, :mod:`affect.online`).
        test_steps: online only: the last ``test_steps`` steps form the test phase, where
            the measures are taken and an acquired lesion is in force.
    """

    name: str
    world: str
    conditions: tuple[Lesion, ...]
    seeds: int
    total_steps: int
    agent: AgentConfig = field(default_factory=AgentConfig)
    world_params: dict[str, Any] = field(default_factory=dict)
    seed_offset: int = 0
    timeout_s: float = 900.0
    trainer: str = "ppo"
    test_steps: int = 0

    def agent_config(self) -> AgentConfig:
        return dataclasses.replace(self.agent, total_steps=self.total_steps)

    def seed_list(self) -> list[int]:
        return list(range(self.seed_offset, self.seed_offset + self.seeds))

    def validate(self) -> ExperimentSpec:
        """Check every field; raise :class:`SpecError` naming the first bad one."""
        if not isinstance(self.name, str) or not self.name.replace("-", "").isalnum():
            raise SpecError(f"spec.name must be letters, digits and '-', got {self.name!r}")
        try:
            check_world_id(self.world)
        except KeyError as e:
            raise SpecError(f"spec.world: {e.args[0]}") from None
        for fname in ("seeds", "total_steps"):
            v = getattr(self, fname)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise SpecError(f"spec.{fname} must be a positive int, got {v!r}")
        if (
            isinstance(self.seed_offset, bool)
            or not isinstance(self.seed_offset, int)
            or (self.seed_offset < 0)
        ):
            raise SpecError(f"spec.seed_offset must be an int >= 0, got {self.seed_offset!r}")
        if not isinstance(self.timeout_s, int | float) or not self.timeout_s > 0:
            raise SpecError(f"spec.timeout_s must be a positive number, got {self.timeout_s!r}")
        if self.trainer not in TRAINERS:
            raise SpecError(f"spec.trainer must be one of {TRAINERS}, got {self.trainer!r}")
        if isinstance(self.test_steps, bool) or not isinstance(self.test_steps, int):
            raise SpecError(f"spec.test_steps must be an int, got {self.test_steps!r}")
        if not 0 <= self.test_steps < self.total_steps:
            raise SpecError(
                f"spec.test_steps must lie in [0, total_steps={self.total_steps}), "
                f"got {self.test_steps}"
            )
        if not isinstance(self.agent, AgentConfig):
            raise SpecError(f"spec.agent must be an AgentConfig, got {type(self.agent).__name__}")
        for name in self.agent.affect_channels:
            try:
                get_channel(name)
            except KeyError as e:
                raise SpecError(f"spec.agent.affect_channels: {e.args[0]}") from None
        if self.trainer == "online":
            from experiments.analyses import has_analysis
            from worlds.registry import make as _make

            world = _make(self.world)[0]
            if world.num_agents != 1:
                raise SpecError(
                    f"spec.trainer='online' needs a single-agent world, not {self.world}"
                )
            if not has_analysis(world):
                raise SpecError(
                    f"spec.trainer='online': sessions in {self.world} have no analysis yet "
                    "(supported: Choice-v0, IowaGambling-v0)"
                )
        try:
            cfg = self.agent_config()
            if self.trainer == "online":  # batch fields do not apply to one-step updates
                cfg = dataclasses.replace(cfg, num_envs=1, num_steps=1, num_minibatches=1)
            cfg.validate()
        except ValueError as e:
            raise SpecError(f"spec.{e}") from None
        if not self.conditions:
            raise SpecError("spec.conditions must name at least one lesion condition")
        names = []
        for i, lesion in enumerate(self.conditions):
            if not isinstance(lesion, Lesion):
                raise SpecError(f"spec.conditions[{i}] must be a Lesion, got {lesion!r}")
            try:
                lesion.validate(tuple(self.agent.affect_channels))
            except (KeyError, ValueError, TypeError) as e:
                msg = e.args[0] if e.args else str(e)
                raise SpecError(f"spec.conditions[{i}]: {msg}") from None
            names.append(lesion.name)
        if len(set(names)) != len(names):
            raise SpecError(f"spec.conditions: names must be unique, got {names}")
        if not isinstance(self.world_params, dict):
            raise SpecError("spec.world_params must be a dict of parameter overrides")
        from worlds.registry import make

        world, defaults = make(self.world)
        for i, lesion in enumerate(self.conditions):
            try:
                lesion.check_agents(world.num_agents)
            except (ValueError, TypeError) as e:
                raise SpecError(f"spec.conditions[{i}]: {e.args[0]}") from None
        known = {f.name for f in dataclasses.fields(defaults)}
        for key, value in self.world_params.items():
            if key not in known:
                raise SpecError(
                    f"spec.world_params: {self.world} has no parameter {key!r}; "
                    f"known: {', '.join(sorted(known))}"
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SpecError(f"spec.world_params.{key} must be a number, got {value!r}")
        check = getattr(world, "check_params", None)
        if check is not None:
            try:
                check(defaults.replace(**self.world_params))
            except ValueError as e:
                raise SpecError(f"spec.world_params: {e.args[0]}") from None
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (for the manifest)."""
        return {
            "name": self.name,
            "world": self.world,
            "conditions": [
                {
                    "name": c.name,
                    "gains": dict(c.gains),
                    "onset": c.onset,
                    **({"agents": list(c.agents)} if c.agents is not None else {}),
                }
                for c in self.conditions
            ],
            "seeds": self.seed_list(),
            "total_steps": self.total_steps,
            "agent": dataclasses.asdict(self.agent_config()),
            "world_params": dict(self.world_params),
            "timeout_s": self.timeout_s,
            "trainer": self.trainer,
            "test_steps": self.test_steps,
        }
