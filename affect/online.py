"""Online learning: the same agent, updated after every step (one participant, one session).

For short trial-based tasks (``Choice-v0``, the Iowa Gambling Task) a participant must
learn within one session. This mode uses the same networks, affect module and lesions
as :mod:`affect.ppo`. The policy head's outputs are read as *action values* ``q(s, .)``
and learned by a one-step *differential* (average-reward) TD rule for continuing tasks
(Sutton & Barto 2018, sec. 10.3), the reinforcement-learning drift-diffusion model of
Pedersen, Frank & Biele (2017) with a state-value baseline:

    target  = r + r_felt - r_bar + Phi(s') + (1 - terminated) * U(s')
    delta   = target - (Phi(s) + U(s))              (state value V = Phi + U)
    delta_q = target - (Phi(s) + q(s, a))           (the chosen action's value)
    r_bar  <- r_bar + online_avg_reward_step * delta
    sigma2 <- sigma2 + online_avg_reward_step * ((r + r_felt - r_bar)^2 - sigma2)
    loss    = vf_coef * 0.5 * delta^2 + chosen * 0.5 * delta_q^2

with one Adam step per transition (``gamma`` is not used: with gamma = 0.99 the returns
are ~70 and a critic updated one sample at a time cannot reach them within a session).

Decisions come from :func:`affect.deliberation.deliberate` (or
:func:`~affect.deliberation.instant`) with preferences ``q / (sigma * T)``: action
values in units of the running reward spread ``sigma`` (range adaptation of value
coding, Padoa-Schioppa 2009; it makes one set of decision constants serve worlds whose
rewards differ in scale) and divided by the affect-modulated temperature ``T``. The
urgency and the marker bias (also in units of ``sigma``) come from the affect module.

Why action values rather than a policy-gradient actor: a softmax actor has no reason to
bring the preferences of two equally good options together (its gradient vanishes once
it is indifferent enough), so it kept arbitrary gaps of ~0.6 nats between equal items
and the decision process read them as evidence. Action values regress to the same
target for equal options; what remains is learning noise, which grows with the step
size ``online_learning_rate``.

A decision that times out in a timed world is "no response": nothing is chosen, so no
action value is updated and no option is tagged.

Affective tags: after each choice, every channel's felt outcome is added to the chosen
option's tag (leaky, :func:`affect.deliberation.update_markers`); the decision reads them
through the marker gains (:func:`affect.module.marker_bias`).

Lesions: gains switch from ``train_gains`` to ``eval_gains`` at ``onset_step`` (the start
of the test phase), so an acquired lesion removes the module's outputs mid-session while
the learned networks and tags stay.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import struct

from affect.channels import LearningSignals
from affect.deliberation import DeliberationParams, deliberate, instant, update_markers
from affect.lesion import LesionData
from affect.module import AffectOutput, marker_bias, reset_where
from affect.policy import Static, network_input


@struct.dataclass
class OnlineState:
    """What an online session carries from one trial to the next (network, optimiser, affect and
    world state)."""

    params: object
    opt_state: object
    env_state: object
    obs: jnp.ndarray  # (D,) f32, one agent
    aff_state: object
    aff: AffectOutput
    markers: jnp.ndarray  # (C, K) f32 affective tags per channel and option
    avg_reward: jnp.ndarray  # () f32 running average reward (differential TD)
    reward_var: jnp.ndarray  # () f32 running variance of the reward about avg_reward
    td_prev: jnp.ndarray  # () f32 last TD error
    key: jax.Array


@struct.dataclass
class OnlineKnobs:
    """The online learner's numbers that a fit may vary per participant (traced leaves,
    not static config): a simulation takes them from the config (:meth:`of`)."""

    temperature: jnp.ndarray  # () base decision temperature (``config.temperature``)
    learning_rate: jnp.ndarray  # () Adam step size (``config.online_learning_rate``)

    @classmethod
    def of(cls, config) -> OnlineKnobs:
        """The knobs a config sets."""
        return cls(jnp.asarray(config.temperature, jnp.float32),
                   jnp.asarray(config.online_learning_rate, jnp.float32))


def online_optimizer(config):
    """The optimiser of online sessions (one update per step), without its step size:
    Adam's direction; :func:`learn` scales it by ``-knobs.learning_rate`` (exactly what
    ``optax.adam(lr)`` does, with the step size a traced number a fit can vary).
    ``eps_root`` (1e-20, below float32 resolution of any second moment above ~1e-13)
    keeps the derivative of the square root finite where a weight has had no gradient
    yet, so a fit can differentiate through the learning."""
    if config.online_optimizer == "sgd":
        return optax.clip_by_global_norm(config.max_grad_norm)
    return optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm),
        optax.scale_by_adam(eps=1e-5, eps_root=1e-20),
    )


def _one(tree):
    return jax.tree_util.tree_map(lambda x: x[0], tree)


def td_loss(static: Static, params, batch):
    """One-step TD loss for one transition (see module docstring); returns
    ``(loss, (delta_v, delta_q))``."""
    cfg = static.config
    obs, feelings, marker, action, chosen, target = batch
    q, u = static.network.apply(params, network_input(obs, feelings))
    delta_v = target - (marker + u)
    delta_q = target - (marker + q[action])
    loss = cfg.vf_coef * 0.5 * delta_v**2 + chosen * 0.5 * delta_q**2
    return loss, (delta_v, delta_q)


def fresh_affect(static: Static, affect_params, signals, gains):
    """Affect state and outputs of a body that has just appeared (one agent; ``signals``
    its scalar :class:`~worlds.signals.Signals`)."""
    module = static.module
    state0 = module.init(affect_params)
    return module.step(affect_params, state0, signals, LearningSignals.zeros(), gains)


def _offered_spread(x: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    """Max minus min of ``x`` over the offered options."""
    return jnp.where(mask, x, -jnp.inf).max() - jnp.where(mask, x, jnp.inf).min()


class Decision(NamedTuple):
    """One decision of an online step and what it was made from (one agent)."""

    dec: Any  # the decision process's output (action, ticks, timed_out)
    q: jnp.ndarray  # (A,) action values
    prefs: jnp.ndarray  # (A,) values in reward-spread units, tempered
    bias: jnp.ndarray  # (A,) marker bias in the same units
    scale: jnp.ndarray  # () the reward spread the values are read in
    mask: jnp.ndarray  # (A,) bool, options on offer
    chosen: jnp.ndarray  # () bool, a response was given
    act: jnp.ndarray  # the world action ((1,) or (1, 2) for a timed world)
    urgency: jnp.ndarray  # () the urgency the decision was made under (urgency_of)


def read_options(static: Static, knobs: OnlineKnobs, gains_t, state):
    """The values ``q``, tempered preferences and marker bias of every option (both in
    units of the reward spread), and that spread: what a decision is made from."""
    q, _ = static.network.apply(state.params, network_input(state.obs, state.aff.feelings))
    # values in units of the reward spread (range adaptation), tempered by affect
    scale = jnp.sqrt(state.reward_var) + _EPS
    temperature = knobs.temperature * state.aff.temperature
    prefs = q / (scale * temperature)
    bias = marker_bias(state.markers, gains_t) / scale
    return q, prefs, bias, scale


def urgency_of(delib, state, scale) -> jnp.ndarray:
    """The urgency a decision is made under: the opportunity cost of time, ``time_cost``
    times the reward rate in units of the reward spread (clipped to ``[0, 1]``), which
    every agent has (Drugowitsch et al. 2012; Tajima, Drugowitsch & Pouget 2016: when
    time spent deciding forgoes reward, the optimal bound collapses faster the richer the
    environment), plus the affect module's urgency on top; clipped to ``[0, 1]``."""
    rate = jnp.clip(state.avg_reward / scale, 0.0, 1.0)
    return jnp.clip(delib.time_cost * rate + state.aff.urgency, 0.0, 1.0)


def decide(static: Static, world_params, delib, knobs, gains_t, state, key) -> Decision:
    """Read the values, bias them by the markers and decide (deliberately or at once)."""
    world, cfg = static.world, static.config
    mask = world.action_mask(state.env_state, world_params)[0]
    q, prefs, bias, scale = read_options(static, knobs, gains_t, state)
    urgency = urgency_of(delib, state, scale)
    if cfg.decision == "deliberate":
        dec = deliberate(key, prefs, mask, bias, urgency, delib, cfg.max_ticks)
    else:
        dec = instant(key, prefs + delib.marker_weight * bias, mask)
    if world.timed:  # a timeout is no response
        chosen = ~dec.timed_out
        act = jnp.stack([jnp.where(chosen, dec.action, world.num_actions), dec.ticks])[None]
    else:
        chosen = jnp.ones((), bool)
        act = dec.action[None]
    return Decision(dec, q, prefs, bias, scale, mask, chosen, act, urgency)


def subjective(reward, scale, shape):
    """The learner's value of a world reward: ``scale * sign(x) * |x| ** shape`` with
    ``x = reward / scale``, the reward in units of the running reward spread (range
    adaptation). ``shape < 1`` is diminishing sensitivity (Kahneman & Tversky 1979; the
    utility of the Prospect Valence Learning models fitted to the IGT, Ahn et al. 2008):
    a loss ten times as large is valued less than ten times as bad, in any world whatever
    its reward units. ``shape = 1`` is the reward itself."""
    x = reward / scale
    ax = jnp.abs(x)
    safe = jnp.where(ax > 0, ax, 1.0)  # a finite gradient in shape at a zero reward
    curved = scale * jnp.sign(x) * jnp.where(ax > 0, safe**shape, 0.0)
    return jnp.where(shape == 1.0, reward, curved)


def learn(static: Static, optimizer, knobs, state, action, chosen, reward, term, aff_tr,
          final_obs, value_shape=1.0):
    """One TD step (average-reward, differential) on the step just taken: returns
    ``(params, opt_state, delta, delta_q, avg_reward, reward_var)``."""
    cfg = static.config
    # bootstrap target (no gradient through it), then one Adam step
    _, u_next = static.network.apply(state.params, network_input(final_obs, aff_tr.feelings))
    v_next = aff_tr.marker + jnp.where(term, 0.0, u_next)
    value = subjective(reward, jnp.sqrt(state.reward_var) + _EPS, value_shape)
    target = value + aff_tr.reward - state.avg_reward + v_next
    batch = (state.obs, state.aff.feelings, state.aff.marker, action,
             chosen.astype(jnp.float32), jax.lax.stop_gradient(target))
    grads, (delta, delta_q) = jax.grad(partial(td_loss, static), has_aux=True)(
        state.params, batch
    )
    step_size = cfg.online_avg_reward_step
    avg_reward = state.avg_reward + step_size * delta
    surprise = (value + aff_tr.reward - state.avg_reward) ** 2
    reward_var = state.reward_var + step_size * (surprise - state.reward_var)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    updates = jax.tree_util.tree_map(lambda u: -knobs.learning_rate * u, updates)
    return (optax.apply_updates(state.params, updates), opt_state, delta, delta_q, avg_reward,
            reward_var)


class Outcome(NamedTuple):
    """What a world returned for one agent's step (or what a record says it returned)."""

    obs: jnp.ndarray  # (D,) the observation now (a new episode's first one after a done)
    reward: jnp.ndarray  # () extrinsic reward
    term: jnp.ndarray  # () bool, the episode ended in a terminal state
    done: jnp.ndarray  # () bool, the episode ended (terminated or truncated)
    signals: object  # the body and events of the step (scalar Signals)
    final_obs: jnp.ndarray  # (D,) the observation the step reached (before any reset)
    start_signals: object  # the body a new episode starts with (used where ``done``)


def after_choice(static: Static, optimizer, affect_params, delib, knobs, gains_t, state,
                 action, chosen, out: Outcome, env_state, key):
    """Feel the outcome, learn from it and tag the chosen option; a new episode starts
    with a fresh affect state while networks and tags persist. Returns ``(state,
    felt, td_error, q_error)``: the next :class:`OnlineState`, the composed affect of
    the step, and the TD errors of the update."""
    learning = LearningSignals(reward=out.reward, td_error=state.td_prev)
    aff_state, aff_tr = static.module.step(affect_params, state.aff_state, out.signals,
                                           learning, gains_t)
    params, opt_state, delta, delta_q, avg_reward, reward_var = learn(
        static, optimizer, knobs, state, action, chosen, out.reward, out.term, aff_tr,
        out.final_obs, delib.value_shape)
    markers = jax.vmap(update_markers, (0, None, None, 0, None, None, None))(
        state.markers, action, chosen, aff_tr.tags, delib.marker_decay, delib.marker_rate,
        delib.marker_forget)
    fresh_state, fresh = fresh_affect(static, affect_params, out.start_signals, gains_t)
    new = OnlineState(
        params=params,
        opt_state=opt_state,
        env_state=env_state,
        obs=out.obs,
        aff_state=reset_where(out.done, fresh_state, aff_state),
        aff=reset_where(out.done, fresh, aff_tr),
        markers=markers,
        avg_reward=avg_reward,
        reward_var=reward_var,
        td_prev=delta,
        key=key,
    )
    return new, aff_tr, delta, delta_q


def online_step(
    static: Static, optimizer, world_params, affect_params, delib, knobs, onset, gains, state, t
):
    """Decide, act, feel and learn for one step. Returns ``(state, log)``."""
    gains_t = jnp.where(t < onset, gains[0], gains[1])
    key, k_dec, k_env = jax.random.split(state.key, 3)
    d = decide(static, world_params, delib, knobs, gains_t, state, k_dec)
    obs, env_state, reward, term, _, info = static.world.step(k_env, state.env_state, d.act,
                                                              world_params)
    sig = _one(info["signals"])
    out = Outcome(obs[0], reward[0], term[0], info["done"], sig, info["final_observation"][0],
                  _one(env_state.signals))
    new, aff_tr, delta, delta_q = after_choice(
        static, optimizer, affect_params, delib, knobs, gains_t, state, d.dec.action,
        d.chosen, out, env_state, key)
    log = {
        "action": d.dec.action,
        "ticks": d.dec.ticks,
        "timed_out": d.dec.timed_out,
        "reward": out.reward,
        "felt_reward": aff_tr.reward,
        "energy": sig.energy,
        "starved": sig.starved,
        "urgency": d.urgency,
        "bias_spread": _offered_spread(d.bias, d.mask),
        "marker_chosen": d.bias[d.dec.action] * d.scale,
        "q": d.q,
        "prefs": d.prefs,
        "bias": d.bias,
        "pref_spread": _offered_spread(d.prefs, d.mask),
        "td_error": delta,
        "q_error": jnp.where(d.chosen, delta_q, 0.0),
        "reward_scale": d.scale,
        "done": out.done,
        **{k: v[0] for k, v in info.items() if k not in _BASE_INFO},
    }
    return new, log


def first_state(static: Static, optimizer, affect_params, net_params, obs, env_state, signals,
                gains, key) -> OnlineState:
    """The state before a session's first decision: fresh networks' optimiser, a body that
    has just appeared (scalar ``signals``), no tags, a unit reward spread."""
    aff_state, aff = fresh_affect(static, affect_params, signals, gains)
    return OnlineState(
        params=net_params,
        opt_state=optimizer.init(net_params),
        env_state=env_state,
        obs=obs,
        aff_state=aff_state,
        aff=aff,
        markers=jnp.zeros((len(static.module.channels), static.world.num_actions), jnp.float32),
        avg_reward=jnp.zeros((), jnp.float32),
        reward_var=jnp.ones((), jnp.float32),
        td_prev=jnp.zeros((), jnp.float32),
        key=key,
    )


def make_session(static: Static, world_params, affect_params, delib=None, onset_step=None):
    """Return ``session(key, net_params, lesion, knobs=None, affect=None,
    deliberation=None) -> logs`` of ``config.total_steps`` steps (``knobs``:
    :class:`OnlineKnobs`, default the config's; ``affect`` and ``deliberation`` override
    the affect parameters and :class:`~affect.deliberation.DeliberationParams` the
    session was made with: traced numbers a fit or a sweep varies).

    ``logs`` maps names to ``(T,)`` arrays, one entry per step: ``action``, ``ticks``,
    ``timed_out``, ``reward``, ``felt_reward``, ``energy``, ``starved``, ``urgency``,
    ``bias_spread`` and ``pref_spread`` (max minus min marker bias and preference over
    the offered options), ``marker_chosen`` (the marker bias of the option about to be
    chosen, before the choice, in felt-reward units: the analogue of an anticipatory
    skin-conductance response), ``q (T, K)`` (the action values before the choice),
    ``prefs (T, K)`` and ``bias (T, K)`` (the tempered preferences and the marker bias
    the decision read, in units of the reward spread),
    ``td_error``, ``q_error`` (0 when nothing was chosen),
    ``reward_scale`` (``sigma`` used for the decision),
    ``done``, and every per-step ``info`` entry of the world (for ``Choice-v0``:
    ``offered``, ``equal``, ``chosen``, ``ticks``, ``value``), agent axis removed. The
    lesion's ``eval_gains`` apply from ``onset_step`` on (default: never).
    """
    world, cfg = static.world, static.config
    if world.num_agents != 1:
        raise ValueError(
            f"online mode handles single-agent worlds; {world.name} has {world.num_agents}"
        )
    delib = DeliberationParams() if delib is None else delib
    steps = cfg.total_steps
    onset = steps if onset_step is None else onset_step
    if isinstance(onset, bool) or not isinstance(onset, int) or not 0 <= onset <= steps:
        raise ValueError(f"onset_step must be an int in [0, {steps}], got {onset_step!r}")
    optimizer = online_optimizer(cfg)

    def session(key, net_params, lesion: LesionData, knobs: OnlineKnobs | None = None,
                affect=None, deliberation=None):
        knobs = OnlineKnobs.of(cfg) if knobs is None else knobs
        aff_p = affect_params if affect is None else affect
        dp = delib if deliberation is None else deliberation
        gains = (lesion.train_gains(), lesion.eval_gains())
        key, k_reset = jax.random.split(key)
        obs, env_state = world.reset(k_reset, world_params)
        state = first_state(static, optimizer, aff_p, net_params, obs[0], env_state,
                            _one(env_state.signals), gains[0], key)
        step = partial(online_step, static, optimizer, world_params, aff_p, dp, knobs, onset,
                       gains)
        _, logs = jax.lax.scan(step, state, jnp.arange(steps))
        return logs

    return session


_BASE_INFO = ("final_observation", "signals", "done")
_EPS = 1e-3  # floor of the reward scale (a world with constant reward)
