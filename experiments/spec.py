"""Experiment specs: declarative, validated before anything compiles.

An :class:`ExperimentSpec` names a world, the agent's hyper-parameters, the lesion
conditions, the seeds and the training length. :meth:`ExperimentSpec.validate` raises
a :class:`SpecError` naming the offending field; the runner calls it before it creates
any file or compiles anything.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from affect.channels import get_channel
from affect.deliberation import DeliberationParams
from affect.lesion import Lesion
from affect.ppo import AgentConfig
from affect.versions import MODEL_VERSION
from worlds.registry import check_world_id, make

TRAINERS = ("ppo", "online")


class SpecError(ValueError):
    """A malformed experiment spec (the message names the field)."""


def _hint(key, known) -> str:
    close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def json_ready(obj):
    """``obj`` as JSON would give it back (tuples become lists, keys strings)."""
    return json.loads(json.dumps(obj))


def load_spec(path) -> ExperimentSpec:
    """A validated spec from a ``.json`` or ``.toml`` file (see :meth:`ExperimentSpec.from_dict`).
    Raises :class:`SpecError` for an unreadable file or a malformed spec."""
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


# Seeds 0 .. CONFIRMATORY_SEEDS - 1 are the development range (every run made while the
# model and the claims were shaped); from CONFIRMATORY_SEEDS on, the confirmatory range.
CONFIRMATORY_SEEDS = 100_000


def confirmatory(spec: ExperimentSpec) -> ExperimentSpec:
    """``spec`` moved to the confirmatory seed range: the same number of seeds, starting
    at :data:`CONFIRMATORY_SEEDS` plus the spec's own offset within its range."""
    if spec.seed_range() == "confirmatory":
        return spec
    return dataclasses.replace(spec, seed_offset=CONFIRMATORY_SEEDS + spec.seed_offset)


@dataclass(frozen=True)
class ExperimentSpec:
    """A lesion experiment.

    Attributes:
        name: experiment name (used in run names and output folders).
        world: registered world id, e.g. ``"Foraging-v0"``, or ``"module:function"``
            naming a user's world (:mod:`worlds.registry`; rebuilt in worker processes).
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
        deliberation: online only: overrides of the decision process's and the affective
            tags' constants (:class:`~affect.deliberation.DeliberationParams`; an
            ablation varies them, the model's defaults are the frozen ones). An online
            spec's dict also records the model version (``"model"``), so a run of
            another version is never resumed into, nor read back as this one's.
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
    deliberation: dict[str, float] = field(default_factory=dict)

    def deliberation_params(self) -> DeliberationParams:
        """The decision process's constants: the model's defaults with the spec's
        overrides."""
        return DeliberationParams(**self.deliberation)

    def agent_config(self) -> AgentConfig:
        """The agent's hyper-parameters with the spec's ``total_steps``."""
        return dataclasses.replace(self.agent, total_steps=self.total_steps)

    def make_world(self):
        """``(world, world_params)``: the spec's world with its parameter overrides, built
        once per spec object (and rebuilt in a worker process, which gets the spec
        without it)."""
        built = self.__dict__.get("_built")
        if built is None:
            world, params = make(self.world)
            built = (world, params.replace(**self.world_params))
            object.__setattr__(self, "_built", built)
        return built

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the built world (a worker process builds its own)."""
        state = dict(self.__dict__)
        state.pop("_built", None)
        return state

    def trainer_config(self) -> AgentConfig:
        """:meth:`agent_config` as the trainer uses it: an online session has one world
        and updates every step, so its batch fields are 1."""
        cfg = self.agent_config()
        if self.trainer == "online":
            cfg = dataclasses.replace(cfg, num_envs=1, num_steps=1, num_minibatches=1)
        return cfg

    def seed_list(self) -> list[int]:
        """The seeds, ``seed_offset .. seed_offset + seeds - 1``."""
        return list(range(self.seed_offset, self.seed_offset + self.seeds))

    def steps_per_run(self) -> int:
        """Environment steps each run trains: ``total_steps`` for the online trainer, PPO's
        whole batches (``num_updates x batch_size``, rounded down) for PPO."""
        if self.trainer == "online":
            return self.total_steps
        cfg = self.agent_config()
        return cfg.num_updates * cfg.batch_size

    def work(self) -> int:
        """Environment steps of all its runs, seeds x conditions x steps: what its wall
        time scales with (the estimate's and a suite's running order's measure)."""
        return self.seeds * len(self.conditions) * self.total_steps

    def seed_range(self) -> str:
        """``"development"`` (seeds below :data:`CONFIRMATORY_SEEDS`: the seeds claims and
        settings may be shaped on) or ``"confirmatory"`` (from it on: fresh seeds that
        ``affectlab reproduce`` runs; see :func:`confirmatory`)."""
        return "confirmatory" if self.seed_offset >= CONFIRMATORY_SEEDS else "development"

    def validate(self) -> ExperimentSpec:
        """Check every field; raise :class:`SpecError` naming the first bad one. Returns
        the spec, so ``spec = ExperimentSpec(...).validate()`` reads naturally."""
        _check_name(self.name)
        world, defaults = _check_world(self.world)
        _check_sizes(self)
        _check_agent(self)
        _check_conditions(self.conditions, self.agent.affect_channels, world.num_agents)
        _check_world_params(self.world, self.world_params, world, defaults)
        object.__setattr__(self, "_built", (world, defaults.replace(**self.world_params)))
        _check_shifts(self, world)
        _check_deliberation(self)
        if self.trainer == "online" and world.num_agents != 1:
            raise SpecError(f"spec.trainer='online' needs a single-agent world, not {self.world}")
        return self

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
        d = dict(d)
        model = d.pop("model", MODEL_VERSION)
        if model != MODEL_VERSION:
            raise SpecError(f"spec.model: written for model v{model}; this affectlab "
                            f"simulates model v{MODEL_VERSION} (docs/model.md)")
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
        kw["conditions"] = _lesions_from(kw["conditions"])
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
            **({"deliberation": dict(self.deliberation)} if self.deliberation else {}),
            **({"model": MODEL_VERSION} if self.trainer == "online" else {}),
        }


# ------------------------------------------------------------------ validation, field by field
def _positive_int(v) -> bool:
    return not isinstance(v, bool) and isinstance(v, int) and v > 0


def _is_number(v) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | float)


def _check_name(name) -> None:
    if not isinstance(name, str) or not name.replace("-", "").isalnum():
        raise SpecError(f"spec.name must be letters, digits and '-', got {name!r}")


def _check_world(world_id):
    if not isinstance(world_id, str):
        raise SpecError(f"spec.world must be a registered world id (a string such as "
                        f"'Foraging-v0') or 'module:function', got {world_id!r}")
    try:
        check_world_id(world_id)
    except KeyError as e:
        raise SpecError(f"spec.world: {e.args[0]}") from None
    return make(world_id)


def _check_sizes(spec: ExperimentSpec) -> None:
    for fname in ("seeds", "total_steps"):
        v = getattr(spec, fname)
        if not _positive_int(v):
            raise SpecError(f"spec.{fname} must be a positive int, got {v!r}")
    off = spec.seed_offset
    if isinstance(off, bool) or not isinstance(off, int) or off < 0:
        raise SpecError(f"spec.seed_offset must be an int >= 0, got {off!r}")
    if off < CONFIRMATORY_SEEDS < off + spec.seeds:
        raise SpecError(f"spec seeds {off}..{off + spec.seeds - 1} straddle the development "
                        f"and confirmatory ranges (confirmatory seeds start at "
                        f"{CONFIRMATORY_SEEDS}): use seeds from one range only")
    if not _is_number(spec.timeout_s) or not spec.timeout_s > 0:
        raise SpecError(f"spec.timeout_s must be a positive number, got {spec.timeout_s!r}")
    if spec.trainer not in TRAINERS:
        raise SpecError(f"spec.trainer must be one of {TRAINERS}, got {spec.trainer!r}")
    if isinstance(spec.test_steps, bool) or not isinstance(spec.test_steps, int):
        raise SpecError(f"spec.test_steps must be an int, got {spec.test_steps!r}")
    if not 0 <= spec.test_steps < spec.total_steps:
        raise SpecError(f"spec.test_steps must lie in [0, total_steps={spec.total_steps}), "
                        f"got {spec.test_steps}")


def _check_agent(spec: ExperimentSpec) -> None:
    if not isinstance(spec.agent, AgentConfig):
        raise SpecError(f"spec.agent must be an AgentConfig, got {type(spec.agent).__name__}")
    for name in spec.agent.affect_channels:
        try:
            get_channel(name)
        except KeyError as e:
            raise SpecError(f"spec.agent.affect_channels: {e.args[0]}") from None
    try:
        spec.trainer_config().validate()
    except ValueError as e:
        raise SpecError(f"spec.{e}") from None


def _check_conditions(conditions, channels, num_agents: int) -> None:
    if not conditions:
        raise SpecError("spec.conditions must name at least one lesion condition")
    names = []
    for i, lesion in enumerate(conditions):
        if not isinstance(lesion, Lesion):
            raise SpecError(f"spec.conditions[{i}] must be a Lesion, got {lesion!r}")
        try:
            lesion.validate(tuple(channels))
            lesion.check_agents(num_agents)
        except (KeyError, ValueError, TypeError) as e:
            msg = e.args[0] if e.args else str(e)
            raise SpecError(f"spec.conditions[{i}]: {msg}") from None
        names.append(lesion.name)
    if len(set(names)) != len(names):
        raise SpecError(f"spec.conditions: names must be unique, got {names}")


def _check_param_overrides(where: str, owner: str, overrides, defaults) -> None:
    """Number overrides of the fields of ``defaults`` (a dataclass or its type)."""
    if not isinstance(overrides, dict):
        raise SpecError(f"{where} must be a dict of parameter overrides")
    known = {f.name for f in dataclasses.fields(defaults)}
    for key, value in overrides.items():
        if key not in known:
            raise SpecError(f"{where}: {owner} has no parameter {key!r}.{_hint(key, known)} "
                            f"Known: {', '.join(sorted(known))}")
        if not _is_number(value):
            raise SpecError(f"{where}.{key} must be a number, got {value!r}")


def _check_world_params(world_id: str, overrides, world, defaults) -> None:
    _check_param_overrides("spec.world_params", world_id, overrides, defaults)
    check = getattr(world, "check_params", None)
    if check is not None:
        try:
            check(defaults.replace(**overrides))
        except ValueError as e:
            raise SpecError(f"spec.world_params: {e.args[0]}") from None


def _check_deliberation(spec: ExperimentSpec) -> None:
    _check_param_overrides("spec.deliberation", "DeliberationParams", spec.deliberation,
                           DeliberationParams)
    if spec.deliberation and spec.trainer != "online":
        raise SpecError("spec.deliberation: only the online trainer deliberates "
                        "(trainer='online')")


def _check_shifts(spec: ExperimentSpec, world) -> None:
    if not isinstance(spec.shifts, dict):
        raise SpecError("spec.shifts must be a dict {name: {world, world_params, obs_noise}}")
    if spec.shifts and spec.trainer != "ppo":
        raise SpecError("spec.shifts: evaluation under shifts needs trainer='ppo'")
    for name, shift in spec.shifts.items():
        _check_shift(f"spec.shifts[{name!r}]", name, shift, spec.world, world)


def _check_shift(where: str, name, shift, world_id: str, world) -> None:
    if not isinstance(name, str) or not name.replace("-", "").isalnum():
        raise SpecError(f"{where}: names must be letters, digits and '-'")
    if not isinstance(shift, dict) or set(shift) - {"world", "world_params", "obs_noise"}:
        raise SpecError(f"{where} must be a dict with keys world, world_params, "
                        f"obs_noise, got {shift!r}")
    wid = shift.get("world", world_id)
    if not isinstance(wid, str):
        raise SpecError(f"{where}.world must be a world id, got {wid!r}")
    try:
        other, defaults = make(wid)
    except KeyError as e:
        raise SpecError(f"{where}.world: {e.args[0]}") from None
    if getattr(other, "host", False) or getattr(world, "host", False):
        raise SpecError(f"{where}: shifts need JAX worlds")
    if (other.obs_shape, other.num_actions, other.num_agents) != (
            world.obs_shape, world.num_actions, world.num_agents):
        raise SpecError(
            f"{where}.world: {wid} does not fit an agent trained on {world_id} "
            f"(obs {other.obs_shape} vs {world.obs_shape}, actions {other.num_actions} "
            f"vs {world.num_actions}, agents {other.num_agents} vs {world.num_agents})")
    params = shift.get("world_params", {})
    if not isinstance(params, dict):
        raise SpecError(f"{where}.world_params must be a dict")
    _check_param_overrides(f"{where}.world_params", wid, params, defaults)
    noise = shift.get("obs_noise", 0.0)
    if not _is_number(noise) or not noise >= 0:
        raise SpecError(f"{where}.obs_noise must be a number >= 0, got {noise!r}")


def _lesions_from(conds) -> tuple[Lesion, ...]:
    """Lesions from a spec file's ``conditions`` (names or tables)."""
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
    return tuple(lesions)
