"""The agent's static setup and forward pass, shared by every trainer.

* :class:`AgentConfig` -- the hyper-parameters (one config serves every world);
* :class:`Static` and :func:`make_static` -- what a compiled program closes over;
* :func:`policy_value` -- tempered logits, temperature and value ``V = Phi + U``;
* :func:`observe` -- the affect module's state and outputs for fresh bodies;
* gains per stream (:func:`stream_gains`, :func:`tile_agent_gains`) and one stream per
  agent (:func:`squeeze_agent`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import optax

from affect.channels import LearningSignals
from affect.hunger import HungerParams
from affect.lesion import LesionData
from affect.module import AffectModule, AffectOutput
from affect.networks import ActorCritic
from worlds.base import World

OPTIMIZERS = {
    "adam": lambda lr: optax.adam(lr, eps=1e-5),
    "rmsprop": lambda lr: optax.rmsprop(lr, eps=1e-5),
    "sgd": lambda lr: optax.sgd(lr),
}


@dataclass(frozen=True)
class AgentConfig:
    """Hyper-parameters of the agent. The same config serves every world."""

    num_envs: int = 64
    """Parallel worlds per training run."""
    num_steps: int = 32
    """Rollout length per update (steps per world)."""
    total_steps: int = 1_000_000
    """Environment steps of training (rounded down to whole updates)."""
    update_epochs: int = 2
    """Passes over each rollout."""
    num_minibatches: int = 2
    """Minibatches per epoch."""
    learning_rate: float = 2.5e-3
    """Adam step size (linearly annealed to 0 if ``anneal_lr``)."""
    anneal_lr: bool = True
    """Anneal the learning rate linearly over training."""
    gamma: float = 0.99
    """Base discount of PPO (the affect module may modulate it); the online mode is
    average-reward and does not discount."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip_eps: float = 0.2
    """PPO ratio and value clipping."""
    ent_coef: float = 0.01
    """Entropy bonus."""
    vf_coef: float = 0.5
    """Value-loss weight."""
    max_grad_norm: float = 0.5
    """Global gradient-norm clip."""
    hidden: tuple[int, ...] = (64, 64)
    """Widths of the actor and critic MLPs."""
    temperature: float = 1.0
    """Base policy temperature (the affect module may modulate it)."""
    eval_envs: int = 64
    """Worlds (one episode each) in the post-training evaluation."""
    affect_channels: tuple[str, ...] = field(default=("hunger", "frustration", "social"))
    """Affect channels of the agent (the social channel is silent in worlds without
    others: their ``regard`` and ``refused`` signals stay 0)."""
    shared_params: bool = False
    """In a multi-agent world, one network per agent, each trained on its own experience
    (False: every body has its own brain, so a lesioned agent learns its own policy), or
    one network for every agent (True: faster, but a lesioned agent then runs a policy
    shaped by the others' feelings)."""
    online_learning_rate: float = 5.7e-4
    """Adam step size of the online (one step, one update) mode: the median fitted to the
    527 healthy participants of the IGT calibration set (model v2; version 1 had 3e-4,
    lowered while watching the paralysis ratio). Learning noise in the action values
    grows with it, and the decision process reads such gaps as evidence."""
    online_avg_reward_step: float = 0.05
    """Step size of the running average reward in the online (differential) TD error."""
    online_optimizer: str = "adam"
    """Update rule of the online mode: ``"adam"`` (Adam's normalised steps) or ``"sgd"``
    (steps in proportion to the prediction error: the delta rule, Rescorla & Wagner
    1972, through the network), after global-norm clipping, at
    ``online_learning_rate``."""
    decision: str = "deliberate"
    """Decision rule of the online mode: ``"deliberate"`` (sequential sampling with
    urgency, :mod:`affect.deliberation`) or ``"softmax"`` (instant)."""
    max_ticks: int = 60
    """Deliberation budget per decision, in ticks (static)."""
    optimizer: str = "adam"
    """PPO's optimiser: ``"adam"``, ``"rmsprop"`` or ``"sgd"`` (after global-norm
    clipping, at ``learning_rate``)."""

    @property
    def batch_size(self) -> int:
        """Environment steps per update, ``num_envs * num_steps``."""
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        """Updates in a run: ``total_steps // batch_size`` (whole updates only)."""
        return self.total_steps // self.batch_size

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field for impossible settings."""
        positive_ints = [
            "num_envs",
            "num_steps",
            "total_steps",
            "update_epochs",
            "num_minibatches",
            "eval_envs",
            "max_ticks",
        ]
        for name in positive_ints:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"agent.{name} must be a positive int, got {v!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"agent.optimizer must be one of {tuple(OPTIMIZERS)}, got "
                             f"{self.optimizer!r}")
        if self.online_optimizer not in ("adam", "sgd"):
            raise ValueError(f"agent.online_optimizer must be 'adam' or 'sgd', got "
                             f"{self.online_optimizer!r}")
        if self.decision not in ("deliberate", "softmax"):
            raise ValueError(
                f"agent.decision must be 'deliberate' or 'softmax', got {self.decision!r}"
            )
        for name in [
            "learning_rate",
            "online_learning_rate",
            "online_avg_reward_step",
            "temperature",
            "max_grad_norm",
        ]:
            v = getattr(self, name)
            if not isinstance(v, int | float) or not v > 0:
                raise ValueError(f"agent.{name} must be a positive number, got {v!r}")
        for name in ["gamma", "gae_lambda"]:
            v = getattr(self, name)
            if not isinstance(v, int | float) or not 0 <= v <= 1:
                raise ValueError(f"agent.{name} must lie in [0, 1], got {v!r}")
        if self.batch_size % self.num_minibatches:
            raise ValueError(
                f"agent.num_minibatches={self.num_minibatches} must divide "
                f"num_envs*num_steps={self.batch_size}"
            )
        if self.num_updates < 1:
            raise ValueError(
                f"agent.total_steps={self.total_steps} is less than one update "
                f"(num_envs*num_steps={self.batch_size})"
            )
        if not self.hidden or any(not isinstance(h, int) or h <= 0 for h in self.hidden):
            raise ValueError(f"agent.hidden must be positive ints, got {self.hidden!r}")


@dataclass(frozen=True)
class Static:
    """What a compiled training program closes over (never traced)."""

    world: World
    network: ActorCritic
    module: AffectModule
    config: AgentConfig
    optimizer: Any


def network_input(obs: jnp.ndarray, feelings: jnp.ndarray) -> jnp.ndarray:
    """What the network sees: the flattened observation and the feelings, concatenated."""
    return jnp.concatenate([obs, feelings], axis=-1)


def independent(static: Static) -> bool:
    """Whether every agent of a multi-agent world has its own parameters."""
    return static.world.num_agents > 1 and not static.config.shared_params


def apply_network(static: Static, params, x: jnp.ndarray):
    """The network on streams ``x (..., N, D)`` (world-major: world 0's agents first).
    With independent parameters (``params`` with a leading agent axis) each agent's
    streams go through its own network."""
    if not independent(static):
        return static.network.apply(params, x)
    a = static.world.num_agents
    lead, n = x.shape[:-2], x.shape[-2]
    xa = x.reshape(lead + (n // a, a, x.shape[-1]))
    axis = len(lead) + 1
    logits, u = jax.vmap(static.network.apply, in_axes=(0, axis), out_axes=axis)(params, xa)
    return logits.reshape(lead + (n, logits.shape[-1])), u.reshape(lead + (n,))


def init_agent_params(static: Static, init, key):
    """Parameters for one run: ``init(key)``, or one set per agent (stacked) with
    independent parameters. Call outside any ``vmap`` (orthogonal init uses QR)."""
    if not independent(static):
        return init(key)
    sets = [init(k) for k in jax.random.split(key, static.world.num_agents)]
    return jax.tree_util.tree_map(lambda *x: jnp.stack(x), *sets)


def policy_value(static: Static, params, obs, aff: AffectOutput):
    """Tempered logits ``(..., A)``, total temperature ``(...)`` and value ``(...)``."""
    logits, u = apply_network(static, params, network_input(obs, aff.feelings))
    temperature = static.config.temperature * aff.temperature
    return logits / temperature[..., None], temperature, aff.marker + u


def squeeze_agent(tree):
    """``(worlds, agents, ...) -> (worlds * agents, ...)``: one stream per agent, world-major
    (for one agent this is ``x[:, 0]``)."""
    return jax.tree_util.tree_map(lambda x: x.reshape((-1,) + x.shape[2:]), tree)


def stream_gains(
    static: Static, lesion: LesionData, gains: jnp.ndarray, num_worlds: int | None = None
) -> jnp.ndarray:
    """Gains for every stream: ``(C, K)`` for one agent; ``(worlds * agents, C, K)`` in a
    multi-agent world, where only the agents that carry the lesion have its gains
    (``num_worlds`` defaults to ``config.num_envs``)."""
    a = static.world.num_agents
    if a == 1:
        return gains
    return tile_agent_gains(lesion.per_agent(gains, a), num_worlds or static.config.num_envs)


def tile_agent_gains(gains: jnp.ndarray, num_worlds: int) -> jnp.ndarray:
    """``(C, K)`` or per-agent ``(agents, C, K)`` gains -> per stream ``(worlds*agents, C, K)``
    (``(C, K)`` gains stay shared)."""
    if gains.ndim == 2:
        return gains
    return jnp.tile(gains, (num_worlds, 1, 1))


def gains_axis(gains: jnp.ndarray):
    """The vmap axis of ``gains``: 0 for per-stream gains ``(N, C, K)``, else ``None``."""
    return 0 if gains.ndim == 3 else None


def observe(static: Static, affect_params, signals, gains):
    """Affect state and outputs of fresh bodies (batched over worlds)."""
    module = static.module
    n = signals.energy.shape[0]
    state0 = jax.vmap(lambda _: module.init(affect_params))(jnp.arange(n))
    learning = jax.vmap(lambda _: LearningSignals.zeros())(jnp.arange(n))
    return jax.vmap(module.step, (None, 0, 0, 0, gains_axis(gains)))(
        affect_params, state0, signals, learning, gains
    )


def make_optimizer(config: AgentConfig):
    """The optimiser named by ``config.optimizer`` after global-norm gradient clipping, with
    the learning rate (linearly annealed when ``config.anneal_lr``)."""
    num_updates = config.num_updates
    steps_per_update = config.update_epochs * config.num_minibatches

    def schedule(count):
        frac = 1.0 - (count // steps_per_update) / num_updates
        return config.learning_rate * frac

    lr = schedule if config.anneal_lr else config.learning_rate
    return optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                       OPTIMIZERS[config.optimizer](lr))


def make_static(world: World, config: AgentConfig) -> Static:
    """Bundle the static parts of a training program."""
    if world.num_agents > 1 and world.timed:
        raise ValueError(f"{world.name}: multi-agent training of timed worlds is not supported")
    if len(world.obs_shape) != 1:
        raise ValueError(f"the agent expects flat observations, got shape {world.obs_shape}")
    module = AffectModule(config.affect_channels)
    network = ActorCritic(num_actions=world.num_actions, hidden=tuple(config.hidden))
    return Static(world, network, module, config, make_optimizer(config))


def input_dim(static: Static) -> int:
    """Size of the network input (observation plus feelings)."""
    return static.world.obs_shape[0] + static.module.num_features


def setpoint_of(affect_params) -> float:
    """The hunger set-point of ``affect_params`` (the default one without hunger)."""
    hunger = affect_params.get("hunger") if isinstance(affect_params, dict) else None
    return hunger.setpoint if hunger is not None else HungerParams().setpoint
