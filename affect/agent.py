"""A trained agent as an object: train it, save it, load it, act, evaluate it anywhere.

::

    from affect import Lesion
    from affect.agent import evaluate_agent, load_agent, save_agent, train_agent

    agent, metrics = train_agent("Foraging-v0", seed=0)            # intact, default config
    save_agent(agent, "agents/forager")                             # agent.json + params.msgpack
    agent = load_agent("agents/forager")
    evaluate_agent(agent, "ForagingAbundant-v0", Lesion("no-hunger", {"hunger": 0.0}))

The world may be a registered id or a world object (a JAX world or a
:func:`worlds.from_gymnasium` world). An agent can be evaluated in, or lesioned in, any
world whose observations have the size it was trained on.

Files are safe formats only: ``agent.json`` (the agent's config, channel parameters,
shapes, where it was trained, package versions) and ``params.msgpack`` (the network
parameters, Flax's msgpack serialisation of arrays; no pickle). ``affect_state`` (for
example an online participant's affective tags) is saved with the parameters when set.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from affect import host
from affect.channels import get_channel
from affect.evaluate import make_evaluate
from affect.host import make_host_train
from affect.lesion import Lesion, stack_lesions
from affect.networks import init_params
from affect.policy import (
    AgentConfig,
    init_agent_params,
    input_dim,
    make_static,
    observe,
    policy_value,
)
from affect.ppo import make_train
from affect.storage import atomic_write_bytes, versions
from worlds.base import World
from worlds.registry import make
from worlds.signals import Signals

FORMAT = "affectlab-agent/1"


@dataclass
class Agent:
    """A trained agent: its config, channel parameters and network parameters."""

    config: AgentConfig
    obs_dim: int
    num_actions: int
    params: Any
    affect_params: dict[str, Any]
    trained_on: str = ""
    affect_state: Any = None
    _static: Any = field(default=None, repr=False, compare=False)

    @property
    def channels(self) -> tuple[str, ...]:
        """The affect channels the agent feels, in order."""
        return tuple(self.config.affect_channels)

    def check_world(self, world) -> None:
        """Raise ``ValueError`` if ``world`` does not fit this agent's shapes."""
        dim = int(np.prod(world.obs_shape))
        if len(world.obs_shape) != 1 or dim != self.obs_dim:
            raise ValueError(
                f"this agent was trained on observations of size {self.obs_dim}"
                f"{f' ({self.trained_on})' if self.trained_on else ''}; {world.name} gives "
                f"observations of shape {world.obs_shape}. An agent's network fits one "
                "observation size: train a new agent for this world."
            )
        if world.num_actions != self.num_actions:
            raise ValueError(
                f"this agent chooses among {self.num_actions} actions; {world.name} has "
                f"{world.num_actions}"
            )

    def static(self, world):
        """The static setup (world shapes, network, module) the agent acts with."""
        self.check_world(world)
        return make_static(world, self.config)

    def act(self, key, obs, signals: Signals | None = None, lesion: Lesion | None = None):
        """Sample actions ``(N,)`` for observations ``(N, obs_dim)`` (or one ``(obs_dim,)``).

        The affect module feels ``signals`` (a batch of :class:`~worlds.signals.Signals`;
        default: bodies at rest with energy 1) from a fresh state, under ``lesion``'s
        post-training gains (default: intact). The same key and inputs give the same
        actions.
        """
        obs = jnp.asarray(obs, jnp.float32)
        single = obs.ndim == 1
        obs = obs[None] if single else obs
        if obs.ndim != 2 or obs.shape[1] != self.obs_dim:
            raise ValueError(
                f"act: observations must have shape (N, {self.obs_dim}), got {obs.shape}"
            )
        n = obs.shape[0]
        signals = Signals.at_rest(jnp.ones((n,))) if signals is None else signals
        action = _act(self, key, obs, signals, lesion or Lesion("intact"))
        return action[0] if single else action


def _shape_world(agent: Agent):
    """A stand-in world with the agent's shapes (for building its networks)."""
    class _Shapes(World):
        num_agents = 1
        obs_shape = (agent.obs_dim,)
        num_actions = agent.num_actions

        def default_params(self):
            return None

    return _Shapes()


def _act(agent: Agent, key, obs, signals, lesion: Lesion):
    if agent._static is None:
        agent._static = make_static(_shape_world(agent), agent.config)
    static = agent._static
    gains = lesion.to_data(static.module.channel_names).eval_gains()
    _, aff = observe(static, agent.affect_params, signals, gains)
    logits, _, _ = policy_value(static, agent.params, obs, aff)
    return jax.random.categorical(key, logits)


def _resolve(world):
    if isinstance(world, str):
        return world, *make(world)
    return world.name, world, world.default_params()


def train_agent(
    world, lesion: Lesion | None = None, seed: int = 0, config: AgentConfig | None = None
):
    """Train one agent (one seed, one lesion condition). Returns ``(agent, metrics)``.

    ``metrics`` has the runner's layout for one run: arrays ``(num_updates,)`` and
    ``eval/*`` scalars.
    """
    name, world, world_params = _resolve(world)
    config = config or AgentConfig()
    config.validate()
    static = make_static(world, config)
    affect_params = static.module.default_params()
    lesion = lesion or Lesion("intact")
    data = jax.tree_util.tree_map(
        lambda x: x[0], stack_lesions([lesion], static.module.channel_names)
    )
    k_init, k_train = jax.random.split(jax.random.PRNGKey(seed))
    init = partial(init_params, static.network, input_dim=input_dim(static))
    net = init_agent_params(static, init, k_init)
    if getattr(world, "host", False):
        train = make_host_train(static, affect_params)
        params, metrics = train(k_train, net, data)
    else:
        runner, metrics = jax.jit(make_train(static, world_params, affect_params))(
            k_train, net, data
        )
        params = runner.params
    metrics = {k: np.asarray(v) for k, v in metrics.items()}
    dim = static.world.obs_shape[0]
    agent = Agent(config, dim, world.num_actions, params, affect_params, name)
    return agent, metrics


def evaluate_agent(agent: Agent, world, lesion: Lesion | None = None, seed: int = 0,
                   episodes: int | None = None) -> dict[str, float]:
    """``eval/*`` measures of ``agent`` in ``world`` (one episode in each of ``episodes``
    worlds, default ``config.eval_envs``; frozen parameters) under ``lesion``'s
    post-training gains. Raises ``ValueError`` if the world's shapes do not fit."""
    if not isinstance(agent, Agent):
        raise TypeError(f"evaluate_agent(agent, world, ...): got {type(agent).__name__} first")
    _, world, world_params = _resolve(world)
    config = agent.config
    if episodes is not None:
        config = dataclasses.replace(config, eval_envs=episodes)
    agent.check_world(world)
    static = make_static(world, config)
    gains = (lesion or Lesion("intact")).to_data(static.module.channel_names).eval_gains()
    key = jax.random.PRNGKey(seed)
    if getattr(world, "host", False):
        return host.evaluate(static, world, agent.affect_params, key, agent.params,
                             jnp.asarray(gains))
    out = jax.jit(make_evaluate(static, world_params, agent.affect_params))(
        key, agent.params, gains
    )
    return {k: float(v) for k, v in out.items()}


# ----------------------------------------------------------------------------------------
# Saving and loading
# ----------------------------------------------------------------------------------------
def save_agent(agent: Agent, path) -> Path:
    """Write ``agent.json`` and ``params.msgpack`` into the folder ``path``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"save_agent: {path} exists and is not a folder")
    path.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": FORMAT,
        "config": dataclasses.asdict(agent.config),
        "obs_dim": agent.obs_dim,
        "num_actions": agent.num_actions,
        "affect_params": {
            name: _jsonable(dataclasses.asdict(p)) for name, p in agent.affect_params.items()
        },
        "trained_on": agent.trained_on,
        "has_affect_state": agent.affect_state is not None,
        "versions": versions(),
    }
    blob = {"params": agent.params}
    if agent.affect_state is not None:
        blob["affect_state"] = agent.affect_state
    data = serialization.msgpack_serialize(serialization.to_state_dict(blob))
    atomic_write_bytes(path / "params.msgpack", data)
    atomic_write_bytes(path / "agent.json", json.dumps(meta, indent=2).encode())
    return path


def load_agent(path) -> Agent:
    """Read an agent written by :func:`save_agent` (checks format and shapes)."""
    path = Path(path)
    meta_path, blob_path = path / "agent.json", path / "params.msgpack"
    for p in (meta_path, blob_path):
        if not p.is_file():
            raise FileNotFoundError(f"load_agent: {p} not found (is {path} a saved agent?)")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"load_agent: {path} has format {meta.get('format')!r}, not {FORMAT!r}")
    cfg = dict(meta["config"])
    for name in ("hidden", "affect_channels"):
        cfg[name] = tuple(cfg[name])
    config = AgentConfig(**cfg)
    affect_params = {
        name: get_channel(name).default_params(**_from_json(fields))
        for name, fields in meta["affect_params"].items()
    }
    agent = Agent(config, int(meta["obs_dim"]), int(meta["num_actions"]), None, affect_params,
                  meta.get("trained_on", ""))
    static = make_static(_shape_world(agent), config)
    template = init_params(static.network, jax.random.PRNGKey(0), input_dim(static))
    raw = serialization.msgpack_restore(blob_path.read_bytes())
    try:
        params = serialization.from_state_dict(template, raw["params"])
        for a, b in zip(jax.tree_util.tree_leaves(template), jax.tree_util.tree_leaves(params),
                        strict=True):
            if np.shape(a) != np.shape(b):
                raise ValueError(f"parameter of shape {np.shape(b)} where {np.shape(a)} fits")
    except (KeyError, ValueError) as e:
        raise ValueError(
            f"load_agent: {blob_path} does not fit the agent in agent.json: {e}"
        ) from None
    agent.params = jax.tree_util.tree_map(jnp.asarray, params)
    if meta.get("has_affect_state"):
        agent.affect_state = jax.tree_util.tree_map(jnp.asarray, raw["affect_state"])
    return agent


def _jsonable(d: dict) -> dict:
    return {k: np.asarray(v).tolist() if not isinstance(v, int | float | bool | str) else v
            for k, v in d.items()}


def _from_json(d: dict) -> dict:
    return {k: jnp.asarray(v, jnp.float32) if isinstance(v, list) else v for k, v in d.items()}

