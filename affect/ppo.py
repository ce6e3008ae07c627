"""The agent: an actor-critic with an affect module, trained by PPO with GAE.

Schulman et al. (2017) PPO with clipped objective; Schulman et al. (2016) GAE. Written
as named module-level functions that tests call directly:

* :func:`gae` -- generalised advantage estimation for one trajectory (unbatched);
* :func:`collect` -- one rollout of ``num_steps`` in ``num_envs`` worlds;
* :func:`advantages` -- bootstrap values and GAE for a rollout;
* :func:`ppo_loss` and :func:`update` -- the PPO update;
* :func:`make_train` -- ``train(key, net_params, lesion) -> (state, metrics)``, pure, so
  ``jax.jit(jax.vmap(train))`` runs seeds x lesion conditions in one program;
* :func:`~affect.evaluate.make_evaluate` -- episodes with frozen parameters under the
  post-training gains (in :mod:`affect.evaluate`; the config, the static setup and the
  forward pass are in :mod:`affect.policy`, re-exported here).

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

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from affect.channels import LearningSignals
from affect.evaluate import make_evaluate
from affect.lesion import LesionData
from affect.measures import rollout_metrics, world_extra, world_metrics
from affect.module import AffectOutput, reset_where
from affect.policy import (
    OPTIMIZERS,
    AgentConfig,
    Static,
    apply_network,
    gains_axis,
    independent,
    init_agent_params,
    input_dim,
    make_optimizer,
    make_static,
    network_input,
    observe,
    policy_value,
    setpoint_of,
    squeeze_agent,
    stream_gains,
    tile_agent_gains,
)

# the config and the forward pass, re-exported: ``from affect.ppo import AgentConfig``
__all__ = ["OPTIMIZERS", "AgentConfig", "RunnerState", "Static", "Transition", "advantages",
           "apply_network", "collect", "env_step", "gae", "independent", "init_agent_params",
           "init_runner", "input_dim", "make_evaluate", "make_optimizer", "make_static",
           "make_train", "make_transition", "network_input", "observe", "policy_value",
           "ppo_loss", "rollout_metrics", "setpoint_of", "squeeze_agent", "stream_gains",
           "tile_agent_gains", "update", "world_extra", "world_metrics"]

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
    """What the training loop carries from one update to the next."""

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
    """One step of a rollout, every field with leading axes ``(T, N)`` once stacked."""

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
    valid = squeeze_agent(runner.env_state.signals.alive)  # the agent acts while alive
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
    sig_step = squeeze_agent(info["signals"])
    learning = LearningSignals(reward=reward, td_error=td_prev)
    aff_state, aff_tr = jax.vmap(module.step, (None, 0, 0, 0, gains_axis(gains)))(
        affect_params, runner.aff_state, sig_step, learning, gains
    )
    fresh_state, fresh = observe(static, affect_params, squeeze_agent(env_state.signals), gains)
    aff_state = jax.vmap(reset_where)(done, fresh_state, aff_state)
    aff_next = jax.vmap(reset_where)(done, fresh, aff_tr)
    ep_return = runner.ep_return + reward
    ep_length = runner.ep_length + 1
    transition = make_transition(
        cfg, runner, (action, log_prob, value, temperature), reward, aff_tr, sig_step,
        terminated, done, squeeze_agent(info["final_observation"]), ep_return, ep_length,
        valid, world_extra(world, info),
    )
    total_reward = transition.reward
    runner = runner.replace(
        env_state=env_state,
        obs=squeeze_agent(obs),
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


def init_runner(static: Static, world_params, affect_params, gains, key, net_params):
    """Reset ``num_envs`` worlds and the optimiser: the training state at step 0."""
    n_worlds = static.config.num_envs
    n = n_worlds * static.world.num_agents  # one stream per agent
    key, k_reset = jax.random.split(key)
    obs, env_state = jax.vmap(static.world.reset, (0, None))(
        jax.random.split(k_reset, n_worlds), world_params
    )
    aff_state, aff = observe(static, affect_params, squeeze_agent(env_state.signals), gains)
    zeros = jnp.zeros((n,), jnp.float32)
    return RunnerState(
        params=net_params,
        opt_state=(
            jax.vmap(static.optimizer.init)(net_params)
            if independent(static)
            else static.optimizer.init(net_params)
        ),
        env_state=env_state,
        obs=squeeze_agent(obs),
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
    setpoint = setpoint_of(affect_params)
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


