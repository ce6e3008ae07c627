"""The agent: an actor-critic with an affect module, trained by PPO with GAE.

Schulman et al. (2017) PPO with clipped objective; Schulman et al. (2016) GAE. Written
as named module-level functions that tests call directly:

* :func:`gae` -- generalised advantage estimation for one trajectory (unbatched);
* :func:`collect` -- one rollout of ``num_steps`` in ``num_envs`` worlds;
* :func:`advantages` -- bootstrap values and GAE for a rollout;
* :func:`ppo_loss` and :func:`update` -- the PPO update;
* :func:`make_train` -- ``train(key, net_params, lesion) -> (state, metrics)``, pure, so
  ``jax.jit(jax.vmap(train))`` runs seeds x lesion conditions in one program;
* :func:`make_evaluate` -- episodes with frozen parameters under the post-training gains.

Values: ``V(s) = Phi(s) + U(s)`` where ``Phi`` is the affect module's value prior and
``U`` the learned residual (critic). With a prior in the critic, the TD error holds the
potential-based shaping term ``gamma*Phi(s') - Phi(s)`` (Ng et al. 1999; Wiewiora 2003),
so the prior acts as shaping and as critic initialisation at once. The prior is a
function of the body, which persists at termination: termination zeroes the learned
``U(s')``, not ``Phi(s')`` (otherwise a negative prior would make death a relief).
Truncation (time limit) bootstraps through ``V(final_observation)``.

Rewards: the agent learns from ``r = r_world + r_felt`` where ``r_felt`` is the affect
module's felt reward. Lesions scale the affect outputs, never the learner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from affect.channels import LearningSignals
from affect.hunger import HungerParams
from affect.lesion import LesionData
from affect.module import AffectModule, AffectOutput, reset_where
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
    online_learning_rate: float = 3e-4
    """Adam step size of the online (one step, one update) mode. Learning noise in the
    action values grows with it (at 1e-3 equal options kept gaps of ~0.2 reward units,
    at 3e-4 ~0.1), and the decision process reads such gaps as evidence."""
    online_avg_reward_step: float = 0.05
    """Step size of the running average reward in the online (differential) TD error."""
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
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
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


# --------------------------------------------------------------------------------------
# Advantage estimation (unbatched; vmap at the call site)
# --------------------------------------------------------------------------------------
def gae(
    r_t: jnp.ndarray,
    v_t: jnp.ndarray,
    v_tp1: jnp.ndarray,
    discount_t: jnp.ndarray,
    done_t: jnp.ndarray,
    lambda_: float,
) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Generalised advantage estimation for one trajectory (Schulman et al. 2016).

    Args:
        r_t: ``(T,)`` reward of step ``t``.
        v_t: ``(T,)`` value of the state acted in at step ``t``.
        v_tp1: ``(T,)`` value of the state the step reached, *before* any reset: already
            without the learned part where the episode terminated, and the bootstrap
            value of the final observation where it was truncated.
        discount_t: ``(T,)`` discount ``gamma`` applied to ``v_tp1``.
        done_t: ``(T,)`` 1 where an episode ended at step ``t`` (terminated or
            truncated): the next entry belongs to a new episode, so the trace stops.
        lambda_: GAE lambda.

    Returns:
        ``(advantages, returns)``, both ``(T,)``, with ``returns = advantages + v_t``.
    """
    shape = r_t.shape
    if not (v_t.shape == v_tp1.shape == discount_t.shape == done_t.shape == shape):
        raise ValueError(
            f"gae: shapes differ r_t{r_t.shape} v_t{v_t.shape} v_tp1{v_tp1.shape} "
            f"discount_t{discount_t.shape} done_t{done_t.shape}"
        )
    delta = r_t + discount_t * v_tp1 - v_t
    trace = discount_t * lambda_ * (1.0 - done_t)

    def body(carry, xs):
        d, c = xs
        adv = d + c * carry
        return adv, adv

    _, adv = jax.lax.scan(body, jnp.zeros((), delta.dtype), (delta, trace), reverse=True)
    return adv, adv + v_t


# --------------------------------------------------------------------------------------
# State carried through training
# --------------------------------------------------------------------------------------
@struct.dataclass
class RunnerState:
    params: Any
    opt_state: Any
    env_state: Any  # world state, batched (N,)
    obs: jnp.ndarray  # (N, D) f32
    aff_state: Any  # affect channel states, batched (N,)
    aff: AffectOutput  # affect outputs for the current observation, batched (N,)
    ep_return: jnp.ndarray  # (N,) extrinsic return so far
    ep_length: jnp.ndarray  # (N,) int32
    prev_value: jnp.ndarray  # (N,) value of the previous decision (for the TD signal)
    prev_reward: jnp.ndarray  # (N,) reward of the previous step
    prev_done: jnp.ndarray  # (N,) bool
    key: jax.Array


@struct.dataclass
class Transition:
    obs: jnp.ndarray  # (N, D)
    feelings: jnp.ndarray  # (N, F)
    temperature: jnp.ndarray  # (N,) total temperature used to act
    action: jnp.ndarray  # (N,) int32
    log_prob: jnp.ndarray  # (N,)
    value: jnp.ndarray  # (N,) Phi + U
    marker: jnp.ndarray  # (N,) Phi of the state acted in
    reward: jnp.ndarray  # (N,) world + felt reward
    discount: jnp.ndarray  # (N,) modulated gamma
    terminated: jnp.ndarray  # (N,) bool
    done: jnp.ndarray  # (N,) bool
    next_obs: jnp.ndarray  # (N, D) pre-reset observation
    next_feelings: jnp.ndarray  # (N, F) feelings of the pre-reset state
    next_marker: jnp.ndarray  # (N,) Phi of the pre-reset state
    # for metrics only
    world_reward: jnp.ndarray  # (N,)
    felt_reward: jnp.ndarray  # (N,)
    energy: jnp.ndarray  # (N,)
    starved: jnp.ndarray  # (N,) bool
    finished_return: jnp.ndarray  # (N,) extrinsic return of an episode that ended here
    finished_length: jnp.ndarray  # (N,)
    valid: jnp.ndarray  # (N,) bool, the agent was alive to act (multi-agent worlds)
    extra: dict  # per-world step measures from ``world.step_extra(info)`` ({} if none)


@dataclass(frozen=True)
class Static:
    """What a compiled training program closes over (never traced)."""

    world: World
    network: ActorCritic
    module: AffectModule
    config: AgentConfig
    optimizer: Any


def network_input(obs: jnp.ndarray, feelings: jnp.ndarray) -> jnp.ndarray:
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


def _squeeze_agent(tree):
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


def _gains_axis(gains: jnp.ndarray):
    return 0 if gains.ndim == 3 else None


def observe(static: Static, affect_params, signals, gains):
    """Affect state and outputs of fresh bodies (batched over worlds)."""
    module = static.module
    n = signals.energy.shape[0]
    state0 = jax.vmap(lambda _: module.init(affect_params))(jnp.arange(n))
    learning = jax.vmap(lambda _: LearningSignals.zeros())(jnp.arange(n))
    return jax.vmap(module.step, (None, 0, 0, 0, _gains_axis(gains)))(
        affect_params, state0, signals, learning, gains
    )


def make_transition(
    cfg, runner, decision, reward, aff_tr, sig, terminated, done, next_obs, ep_return, ep_length,
    valid=None, extra=None,
) -> Transition:
    """The :class:`Transition` of one step in every world (JAX and host-run worlds alike).

    ``decision`` is ``(action, log_prob, value, temperature)`` of the step; ``reward`` the
    world's; ``aff_tr`` the affect outputs of the transition; ``sig`` its signals;
    ``ep_return``/``ep_length`` the episode's totals including this step; ``valid``
    whether the agent was alive to act (default: all).
    """
    action, log_prob, value, temperature = decision
    valid = jnp.ones(action.shape, bool) if valid is None else valid
    return Transition(
        obs=runner.obs,
        feelings=runner.aff.feelings,
        temperature=temperature,
        action=action,
        log_prob=log_prob,
        value=value,
        marker=runner.aff.marker,
        reward=reward + aff_tr.reward,
        discount=cfg.gamma * runner.aff.discount,
        terminated=terminated,
        done=done,
        next_obs=next_obs,
        next_feelings=aff_tr.feelings,
        next_marker=aff_tr.marker,
        world_reward=reward,
        felt_reward=aff_tr.reward,
        energy=sig.energy,
        starved=sig.starved,
        finished_return=jnp.where(done, ep_return, 0.0),
        finished_length=jnp.where(done, ep_length, 0),
        valid=valid,
        extra={} if extra is None else extra,
    )


def env_step(static: Static, world_params, affect_params, gains, runner: RunnerState, _):
    """One step in every world: act, step the world, feel. Returns ``(runner, Transition)``."""
    world, module, cfg = static.world, static.module, static.config
    key, k_act, k_step = jax.random.split(runner.key, 3)
    n = runner.obs.shape[0]  # streams: worlds x agents
    n_agents = world.num_agents
    n_worlds = n // n_agents
    valid = _squeeze_agent(runner.env_state.signals.alive)  # the agent acts while alive
    logits, temperature, value = policy_value(static, runner.params, runner.obs, runner.aff)
    action = jax.random.categorical(k_act, logits)
    log_prob = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], -1)[:, 0]
    # The most recent TD error the agent can compute (of the previous transition).
    td_prev = (
        runner.prev_reward
        + cfg.gamma * jnp.where(runner.prev_done, 0.0, value)
        - (runner.prev_value)
    )
    obs, env_state, reward, terminated, truncated, info = jax.vmap(world.step, (0, 0, 0, None))(
        jax.random.split(k_step, n_worlds),
        runner.env_state,
        action.reshape(n_worlds, n_agents),
        world_params,
    )
    reward, terminated = reward.reshape(n), terminated.reshape(n)
    done = jnp.repeat(info["done"], n_agents)
    if n_agents > 1:  # an agent's own episode ends when it dies
        done = done | (terminated & valid)
    sig_step = _squeeze_agent(info["signals"])
    learning = LearningSignals(reward=reward, td_error=td_prev)
    aff_state, aff_tr = jax.vmap(module.step, (None, 0, 0, 0, _gains_axis(gains)))(
        affect_params, runner.aff_state, sig_step, learning, gains
    )
    fresh_state, fresh = observe(static, affect_params, _squeeze_agent(env_state.signals), gains)
    aff_state = jax.vmap(reset_where)(done, fresh_state, aff_state)
    aff_next = jax.vmap(reset_where)(done, fresh, aff_tr)
    ep_return = runner.ep_return + reward
    ep_length = runner.ep_length + 1
    transition = make_transition(
        cfg, runner, (action, log_prob, value, temperature), reward, aff_tr, sig_step,
        terminated, done, _squeeze_agent(info["final_observation"]), ep_return, ep_length,
        valid, world_extra(world, info),
    )
    total_reward = transition.reward
    runner = runner.replace(
        env_state=env_state,
        obs=_squeeze_agent(obs),
        aff_state=aff_state,
        aff=aff_next,
        ep_return=jnp.where(done, 0.0, ep_return),
        ep_length=jnp.where(done, 0, ep_length),
        prev_value=value,
        prev_reward=total_reward,
        prev_done=done,
        key=key,
    )
    return runner, transition


def collect(static: Static, world_params, affect_params, gains, runner: RunnerState):
    """Roll out ``num_steps`` in every world. Returns ``(runner, Transition (T, N, ...))``."""
    step = partial(env_step, static, world_params, affect_params, gains)
    return jax.lax.scan(step, runner, None, length=static.config.num_steps)


def advantages(static: Static, params, traj: Transition):
    """Bootstrap values of the reached states and GAE, ``(T, N)`` each."""
    _, u_next = apply_network(static, params, network_input(traj.next_obs, traj.next_feelings))
    v_tp1 = traj.next_marker + jnp.where(traj.terminated, 0.0, u_next)
    gae_fn = jax.vmap(partial(gae, lambda_=static.config.gae_lambda), in_axes=1, out_axes=1)
    return gae_fn(traj.reward, traj.value, v_tp1, traj.discount, traj.done.astype(jnp.float32))


def ppo_loss(static: Static, params, batch: Transition, adv, targets):
    """Clipped PPO loss for a minibatch. Returns ``(loss, aux dict)``."""
    cfg = static.config
    logits, u = static.network.apply(params, network_input(batch.obs, batch.feelings))
    logits = logits / batch.temperature[:, None]
    log_pi = jax.nn.log_softmax(logits)
    log_prob = jnp.take_along_axis(log_pi, batch.action[:, None], -1)[:, 0]
    value = batch.marker + u
    v_clipped = batch.value + jnp.clip(value - batch.value, -cfg.clip_eps, cfg.clip_eps)
    if static.world.num_agents > 1:  # dead agents' steps do not count
        w = batch.valid.astype(jnp.float32)
        mean = lambda x: (x * w).sum() / jnp.maximum(w.sum(), 1.0)  # noqa: E731
        adv_mean = mean(adv)
        adv_std = jnp.sqrt(mean((adv - adv_mean) ** 2))
    else:
        mean = jnp.mean
        adv_mean, adv_std = adv.mean(), adv.std()
    value_loss = 0.5 * mean(jnp.maximum((value - targets) ** 2, (v_clipped - targets) ** 2))
    ratio = jnp.exp(log_prob - batch.log_prob)
    norm_adv = (adv - adv_mean) / (adv_std + 1e-8)
    clipped = jnp.clip(ratio, 1 - cfg.clip_eps, 1 + cfg.clip_eps) * norm_adv
    policy_loss = -mean(jnp.minimum(ratio * norm_adv, clipped))
    entropy = mean(-(jnp.exp(log_pi) * log_pi).sum(-1))
    loss = policy_loss + cfg.vf_coef * value_loss - cfg.ent_coef * entropy
    approx_kl = mean((ratio - 1) - jnp.log(ratio))
    return loss, {
        "losses/policy": policy_loss,
        "losses/value": value_loss,
        "losses/entropy": entropy,
        "losses/approx_kl": approx_kl,
    }


def update(static: Static, runner: RunnerState, traj: Transition, adv, targets):
    """``update_epochs`` passes of minibatch PPO over one rollout (with independent
    parameters: every agent's own pass over its own steps, ``vmap``-ed over agents)."""
    cfg = static.config
    traj = traj.replace(extra={})  # per-world measures are not learned from
    if not independent(static):
        batch_size = cfg.batch_size * static.world.num_agents  # every agent's steps
        key, k_perm = jax.random.split(runner.key)
        params, opt_state, aux = _ppo_passes(
            static, runner.params, runner.opt_state, traj, adv, targets, k_perm, batch_size
        )
        return runner.replace(params=params, opt_state=opt_state, key=key), aux
    a = static.world.num_agents
    t, n = adv.shape

    def per_agent(x):  # (T, worlds * agents, ...) -> (agents, T, worlds, ...)
        return jnp.moveaxis(x.reshape((t, n // a, a) + x.shape[2:]), 2, 0)

    keys = jax.random.split(runner.key, a + 1)
    params, opt_state, aux = jax.vmap(
        lambda p, o, tr, ad, tg, k: _ppo_passes(static, p, o, tr, ad, tg, k, cfg.batch_size)
    )(
        runner.params,
        runner.opt_state,
        jax.tree_util.tree_map(per_agent, traj),
        per_agent(adv),
        per_agent(targets),
        keys[1:],
    )
    aux = jax.tree_util.tree_map(jnp.mean, aux)
    return runner.replace(params=params, opt_state=opt_state, key=keys[0]), aux


def _ppo_passes(static: Static, params, opt_state, traj, adv, targets, key, batch_size):
    cfg = static.config
    flat = jax.tree_util.tree_map(lambda x: x.reshape((batch_size,) + x.shape[2:]), traj)
    adv, targets = adv.reshape(batch_size), targets.reshape(batch_size)
    grad_fn = jax.value_and_grad(partial(ppo_loss, static), has_aux=True)

    def minibatch(carry, idx):
        params, opt_state = carry
        mb = jax.tree_util.tree_map(lambda x: x[idx], flat)
        (_, aux), grads = grad_fn(params, mb, adv[idx], targets[idx])
        updates, opt_state = static.optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), aux

    def epoch(carry, key):
        perm = jax.random.permutation(key, batch_size).reshape(cfg.num_minibatches, -1)
        return jax.lax.scan(minibatch, carry, perm)

    (params, opt_state), aux = jax.lax.scan(
        epoch, (params, opt_state), jax.random.split(key, cfg.update_epochs)
    )
    return params, opt_state, jax.tree_util.tree_map(jnp.mean, aux)


def rollout_metrics(traj: Transition, setpoint: float) -> dict[str, jnp.ndarray]:
    """Scalar metrics of one rollout (NaN where no episode finished)."""
    n_done = traj.done.sum()
    mean_done = lambda x: jnp.where(n_done > 0, x.sum() / jnp.maximum(n_done, 1), jnp.nan)
    alive = ~traj.starved
    return {
        "charts/episode_return": mean_done(traj.finished_return),
        "charts/episode_length": mean_done(traj.finished_length.astype(jnp.float32)),
        # survived: not terminated, or terminated alive and not starving (a goal reached)
        "charts/survival": mean_done(
            (traj.done & (~traj.terminated | (traj.valid & ~traj.starved))).astype(jnp.float32)
        ),
        "affect/homeostatic_deviation": (jnp.abs(traj.energy - setpoint) * alive).sum()
        / jnp.maximum(alive.sum(), 1),
        "affect/felt_reward": traj.felt_reward.mean(),
        "charts/world_reward": traj.world_reward.mean(),
    }


def world_extra(world, info) -> dict:
    """The world's own per-step measures (``world.step_extra(info)``), or ``{}``."""
    fn = getattr(world, "step_extra", None)
    return {} if fn is None else fn(info)


def world_metrics(world, traj: Transition) -> dict:
    """The world's own rollout measures (``world.summarize_rollout(extra)``), or ``{}``."""
    fn = getattr(world, "summarize_rollout", None)
    return {} if fn is None or not traj.extra else fn(traj.extra)


def make_optimizer(config: AgentConfig):
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
    return static.world.obs_shape[0] + static.module.num_features


def _setpoint(affect_params) -> float:
    hunger = affect_params.get("hunger") if isinstance(affect_params, dict) else None
    return hunger.setpoint if hunger is not None else HungerParams().setpoint


def init_runner(static: Static, world_params, affect_params, gains, key, net_params):
    """Reset ``num_envs`` worlds and the optimiser: the training state at step 0."""
    n_worlds = static.config.num_envs
    n = n_worlds * static.world.num_agents  # one stream per agent
    key, k_reset = jax.random.split(key)
    obs, env_state = jax.vmap(static.world.reset, (0, None))(
        jax.random.split(k_reset, n_worlds), world_params
    )
    aff_state, aff = observe(static, affect_params, _squeeze_agent(env_state.signals), gains)
    zeros = jnp.zeros((n,), jnp.float32)
    return RunnerState(
        params=net_params,
        opt_state=(
            jax.vmap(static.optimizer.init)(net_params)
            if independent(static)
            else static.optimizer.init(net_params)
        ),
        env_state=env_state,
        obs=_squeeze_agent(obs),
        aff_state=aff_state,
        aff=aff,
        ep_return=zeros,
        ep_length=jnp.zeros((n,), jnp.int32),
        prev_value=zeros,
        prev_reward=zeros,
        prev_done=jnp.ones((n,), bool),
        key=key,
    )


def make_train(static: Static, world_params, affect_params, shifts=()):
    """Return ``train(key, net_params, lesion) -> (RunnerState, metrics)``.

    ``metrics`` maps names to ``(num_updates,)`` arrays (one value per update), plus
    ``eval/*`` scalars from :func:`make_evaluate` under the post-training gains. The
    function is pure: ``jax.jit(jax.vmap(train))`` runs many seeds and lesion conditions
    in one program. Initialise ``net_params`` per seed outside the vmap.

    ``shifts``: ``(name, static, world_params, obs_noise)`` tuples: after training, the
    frozen agent is also evaluated in each (another world of the same shapes, other task
    parameters, noisy observations), giving ``shift/<name>/*`` scalars. No training
    happens there.
    """
    setpoint = _setpoint(affect_params)
    evaluate = make_evaluate(static, world_params, affect_params)
    shifted = [(name, make_evaluate(st, wp, affect_params, obs_noise))
               for name, st, wp, obs_noise in shifts]

    def train(key: jax.Array, net_params, lesion: LesionData):
        gains = stream_gains(static, lesion, lesion.train_gains())
        key, k_run, k_eval = jax.random.split(key, 3)
        runner = init_runner(static, world_params, affect_params, gains, k_run, net_params)

        def one_update(runner, _):
            runner, traj = collect(static, world_params, affect_params, gains, runner)
            adv, targets = advantages(static, runner.params, traj)
            runner, losses = update(static, runner, traj, adv, targets)
            metrics = {**rollout_metrics(traj, setpoint), **world_metrics(static.world, traj)}
            return runner, {**metrics, **losses}

        runner, metrics = jax.lax.scan(one_update, runner, None, length=static.config.num_updates)
        eval_gains = lesion.eval_gains()
        if static.world.num_agents > 1:
            eval_gains = lesion.per_agent(eval_gains, static.world.num_agents)
        metrics.update(evaluate(k_eval, runner.params, eval_gains))
        for i, (name, ev) in enumerate(shifted):
            out = ev(jax.random.fold_in(k_eval, i + 1), runner.params, eval_gains)
            metrics.update({f"shift/{name}/{k[5:]}": v for k, v in out.items()})
        return runner, metrics

    return train


def make_evaluate(static: Static, world_params, affect_params, obs_noise: float = 0.0):
    """Return ``evaluate(key, net_params, gains) -> dict`` of ``eval/*`` scalars.

    ``obs_noise``: standard deviation of Gaussian noise added to what the agent sees
    (its observation, not the world state or the body signals).

    Runs one episode in each of ``eval_envs`` worlds (up to the world's time limit) with
    the stochastic policy and frozen parameters; only each world's first episode counts.
    ``gains`` are ``(C, K)`` (every agent) or per agent ``(agents, C, K)``. In a
    multi-agent world every agent is one stream: its episode ends when it dies or the
    world ends, and the ``eval/*`` measures are means over agents and worlds.
    """
    cfg = static.config
    n = cfg.eval_envs
    n_agents = static.world.num_agents
    m = n * n_agents  # streams
    horizon = int(world_params.time_limit)
    setpoint = _setpoint(affect_params)

    def evaluate(key, net_params, gains):
        gains = tile_agent_gains(gains, n)
        key, k_reset = jax.random.split(key)
        obs, env_state = jax.vmap(static.world.reset, (0, None))(
            jax.random.split(k_reset, n), world_params
        )
        aff_state, aff = observe(static, affect_params, _squeeze_agent(env_state.signals), gains)

        def step(carry, k):
            obs, env_state, aff_state, aff, active, ret, length, starved, success, dev = carry
            k_act, k_step = jax.random.split(k)
            if obs_noise:
                obs = obs + obs_noise * jax.random.normal(jax.random.fold_in(k, 7), obs.shape)
            logits, _, _ = policy_value(static, net_params, obs, aff)
            action = jax.random.categorical(k_act, logits)
            obs, env_state, reward, term, trunc, info = jax.vmap(
                static.world.step, (0, 0, 0, None)
            )(jax.random.split(k_step, n), env_state, action.reshape(n, n_agents), world_params)
            reward, term = reward.reshape(m), term.reshape(m)
            sig = _squeeze_agent(info["signals"])
            learning = LearningSignals(reward=reward, td_error=jnp.zeros((m,)))
            aff_state, aff_tr = jax.vmap(static.module.step, (None, 0, 0, 0, _gains_axis(gains)))(
                affect_params, aff_state, sig, learning, gains
            )
            ret = ret + active * reward
            length = length + active
            starved = starved | (active & term & sig.starved)
            success = success | (active & term & ~sig.starved)
            dev = dev + active * jnp.abs(sig.energy - setpoint) * ~sig.starved
            active = active & ~jnp.repeat(info["done"], n_agents)
            if n_agents > 1:  # an agent's episode ends when it dies
                active = active & ~term
            return (
                _squeeze_agent(obs),
                env_state,
                aff_state,
                aff_tr,
                active,
                ret,
                length,
                starved,
                success,
                dev,
            ), None

        zeros = jnp.zeros((m,), jnp.float32)
        carry = (
            _squeeze_agent(obs),
            env_state,
            aff_state,
            aff,
            jnp.ones((m,), bool),
            zeros,
            zeros,
            jnp.zeros((m,), bool),
            jnp.zeros((m,), bool),
            zeros,
        )
        carry, _ = jax.lax.scan(step, carry, jax.random.split(key, horizon))
        _, _, _, _, _, ret, length, starved, success, dev = carry
        return {
            "eval/episode_return": ret.mean(),
            "eval/survival": 1.0 - starved.mean(),
            # episodes that reached a terminal state other than starvation (a goal)
            "eval/success": success.mean(),
            "eval/episode_length": length.mean(),
            "eval/homeostatic_deviation": (dev / jnp.maximum(length, 1)).mean(),
        }

    return evaluate
