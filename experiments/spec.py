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


def _hint(key, known) -> str:
    import difflib

    close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def json_ready(obj):
    import json

    return json.loads(json.dumps(obj))


def load_spec(path) -> ExperimentSpec:
    """A validated spec from a ``.json`` or ``.toml`` file (see :meth:`ExperimentSpec.from_dict`).
    Raises :class:`SpecError` for an unreadable file or a malformed spec."""
    import json
    import tomllib
    from pathlib import Path

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise SpecError(f"spec file {path}: {e.strerror or e}") from None
    try:
        if path.suffix == ".toml":
            d = tomllib.loads(text)
        elif path.suffix == ".json":
            d = json.loads(text)
        else:
            raise SpecError(f"spec file {path}: use a .json or .toml file")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        raise SpecError(f"spec file {path} is not valid {path.suffix[1:].upper()}: {e}") from None
    return ExperimentSpec.from_dict(d).validate()


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
        shifts: PPO only: ``{name: {"world": id, "world_params": {...}, "obs_noise": sd}}``
            (each key optional; the world defaults to the spec's): after training the
            frozen agent is also evaluated under each shift, giving ``shift/<name>/*``.
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
    shifts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def agent_config(self) -> AgentConfig:
        return dataclasses.replace(self.agent, total_steps=self.total_steps)

    def make_world(self):
        """``(world, world_params)``: the spec's world with its parameter overrides."""
        from worlds.registry import make

        world, params = make(self.world)
        return world, params.replace(**self.world_params)

    def seed_list(self) -> list[int]:
        return list(range(self.seed_offset, self.seed_offset + self.seeds))

    def validate(self) -> ExperimentSpec:
        """Check every field; raise :class:`SpecError` naming the first bad one."""
        if not isinstance(self.name, str) or not self.name.replace("-", "").isalnum():
            raise SpecError(f"spec.name must be letters, digits and '-', got {self.name!r}")
        if not isinstance(self.world, str):
            raise SpecError(f"spec.world must be a registered world id (a string such as "
                            f"'Foraging-v0'), got {self.world!r}")
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
        self._validate_shifts(world)
        return self

    def _validate_shifts(self, world) -> None:
        from worlds.registry import make

        if not isinstance(self.shifts, dict):
            raise SpecError("spec.shifts must be a dict {name: {world, world_params, obs_noise}}")
        if self.shifts and self.trainer != "ppo":
            raise SpecError("spec.shifts: evaluation under shifts needs trainer='ppo'")
        for name, shift in self.shifts.items():
            where = f"spec.shifts[{name!r}]"
            if not isinstance(name, str) or not name.replace("-", "").isalnum():
                raise SpecError(f"{where}: names must be letters, digits and '-'")
            if not isinstance(shift, dict) or set(shift) - {"world", "world_params",
                                                             "obs_noise"}:
                raise SpecError(f"{where} must be a dict with keys world, world_params, "
                                f"obs_noise, got {shift!r}")
            wid = shift.get("world", self.world)
            if not isinstance(wid, str):
                raise SpecError(f"{where}.world must be a world id, got {wid!r}")
            try:
                other, defaults = make(wid)
            except KeyError as e:
                raise SpecError(f"{where}.world: {e.args[0]}") from None
            if getattr(other, "host", False) or getattr(world, "host", False):
                raise SpecError(f"{where}: shifts need JAX worlds")
            same = (other.obs_shape == world.obs_shape and other.num_actions == world.num_actions
                    and other.num_agents == world.num_agents)
            if not same:
                raise SpecError(
                    f"{where}.world: {wid} does not fit an agent trained on {self.world} "
                    f"(obs {other.obs_shape} vs {world.obs_shape}, actions {other.num_actions} "
                    f"vs {world.num_actions}, agents {other.num_agents} vs {world.num_agents})")
            params = shift.get("world_params", {})
            known = {f.name for f in dataclasses.fields(defaults)}
            if not isinstance(params, dict):
                raise SpecError(f"{where}.world_params must be a dict")
            for key, value in params.items():
                if key not in known:
                    raise SpecError(f"{where}.world_params: {wid} has no parameter {key!r}")
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise SpecError(f"{where}.world_params.{key} must be a number, got "
                                    f"{value!r}")
            noise = shift.get("obs_noise", 0.0)
            if isinstance(noise, bool) or not isinstance(noise, int | float) or not noise >= 0:
                raise SpecError(f"{where}.obs_noise must be a number >= 0, got {noise!r}")

    @classmethod
    def from_dict(cls, d: Any) -> ExperimentSpec:
        """The spec a dict describes (the inverse of :meth:`to_dict`; ``seeds`` may be a
        count or a list of consecutive seeds; ``agent`` holds only the fields it changes).
        Raises :class:`SpecError` naming a missing, unknown or mistyped field; call
        :meth:`validate` for the rest."""
        if not isinstance(d, dict):
            raise SpecError(f"a spec must be a table of fields, got {type(d).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        known = set(fields)
        for key in d:
            if key not in known:
                raise SpecError(f"spec.{key}: unknown field.{_hint(key, known)} "
                                f"Fields: {', '.join(fields)}")
        for name in ("name", "world", "conditions", "seeds", "total_steps"):
            if name not in d:
                raise SpecError(f"spec.{name} is missing: a spec needs name, world, "
                                "conditions, seeds and total_steps")
        kw = dict(d)
        seeds = kw["seeds"]
        if isinstance(seeds, list):
            if (not seeds or not all(isinstance(x, int) and not isinstance(x, bool)
                                     for x in seeds)
                    or seeds != list(range(seeds[0], seeds[0] + len(seeds)))):
                raise SpecError(f"spec.seeds must be a count or a list of consecutive ints, "
                                f"got {seeds!r}")
            kw["seeds"], kw["seed_offset"] = len(seeds), seeds[0]
        conds = kw["conditions"]
        if not isinstance(conds, list | tuple):
            raise SpecError(f"spec.conditions must be a list of lesion tables, got {conds!r}")
        lesions = []
        for i, c in enumerate(conds):
            if isinstance(c, str):
                c = {"name": c}
            if not isinstance(c, dict):
                raise SpecError(f"spec.conditions[{i}] must be a table with name, gains, onset "
                                f"(and agents), got {c!r}")
            extra = set(c) - {"name", "gains", "onset", "agents"}
            if extra:
                raise SpecError(f"spec.conditions[{i}]: unknown field(s) {sorted(extra)}; a "
                                "condition has name, gains, onset and agents")
            if "name" not in c:
                raise SpecError(f"spec.conditions[{i}].name is missing")
            agents = c.get("agents")
            if isinstance(agents, list):
                agents = tuple(agents)
            lesions.append(Lesion(c["name"], c.get("gains", {}), c.get("onset", "developmental"),
                                  agents))
        kw["conditions"] = tuple(lesions)
        agent = kw.get("agent", {})
        if isinstance(agent, dict):
            a_fields = {f.name for f in dataclasses.fields(AgentConfig)}
            for key in agent:
                if key not in a_fields:
                    raise SpecError(f"spec.agent.{key}: unknown field.{_hint(key, a_fields)}")
            agent = {k: tuple(v) if isinstance(v, list) else v for k, v in agent.items()}
            agent.pop("total_steps", None)  # taken from the spec
            kw["agent"] = AgentConfig(**agent)
        elif not isinstance(agent, AgentConfig):
            raise SpecError(f"spec.agent must be a table of agent fields, got {agent!r}")
        return cls(**kw)

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
            **({"shifts": json_ready(self.shifts)} if self.shifts else {}),
        }
