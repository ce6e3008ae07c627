"""affectlab's online agent as a model to fit (``--model agent``).

The agent is the one every experiment simulates (:func:`affect.online.make_session`:
the default :class:`~affect.policy.AgentConfig`, its affect channels and decision rule),
replayed on a participant's recorded choices (:mod:`affect.replay`). Its parameters:

* ``temperature``: the base decision temperature (``AgentConfig.temperature``);
* ``learning_rate``: the online step size (``AgentConfig.online_learning_rate``);
* ``felt_loss``: the weight of frustration's felt setback (``FrustrationParams.reward_scale``):
  how much a loss hurts beyond its money;
* ``marker_decay``: the retention of an option's affective tag each time it is chosen;
* ``marker_gain``: the lesion gain of every channel's marker output (1 intact, 0 a marker
  lesion): fitted, it says how much anticipatory marker a participant's choices show;
* ``marker_forget``: the share of every option's tag forgotten per decision;
* ``value_shape``: the curvature of the learner's value of world reward (in units of
  the reward spread; 1 linear, below 1 diminishing sensitivity).

Every participant starts from the same newborn networks (initialised from ``seed``), so
parameters are comparable across participants. Parameters not fitted keep the agent's
defaults (the values every world uses).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from affect.channels import OUTPUTS
from affect.deliberation import DeliberationParams
from affect.lesion import LesionData
from affect.networks import init_params
from affect.online import OnlineKnobs, make_session
from affect.policy import AgentConfig, input_dim, make_static
from affect.replay import Record, make_replay
from experiments.fit.models import Model, Param
from worlds.registry import make
from worlds.signals import Signals

AGENT_FREE = ("learning_rate", "marker_gain")
"""The parameters fitted by default: those that recover from 100-trial IGT sessions
(``affectlab recover igt``; see docs/fitting.md for the others)."""


def _params(cfg: AgentConfig, affect_defaults, delib) -> tuple[Param, ...]:
    felt = affect_defaults["frustration"].reward_scale if "frustration" in affect_defaults else 1.0
    return (
        Param("temperature", 0.05, 20.0, cfg.temperature, log=True,
              doc="base decision temperature"),
        Param("learning_rate", 1e-5, 0.1, cfg.online_learning_rate, log=True,
              doc="online step size of the value network"),
        Param("felt_loss", 0.0, 5.0, felt, doc="weight of frustration's felt setback"),
        Param("marker_decay", 0.0, 1.0, delib.marker_decay,
              doc="retention of an option's tag when chosen again"),
        Param("marker_gain", 0.0, 1.0, 1.0, doc="lesion gain of every channel's marker"),
        Param("marker_forget", 0.0, 1.0, delib.marker_forget,
              doc="share of every tag forgotten per decision"),
        Param("value_shape", 0.05, 2.0, delib.value_shape,
              doc="curvature of the value of world reward (1: linear)"),
    )


def igt_record(world, world_params, trials) -> Record:
    """One participant's IGT session as a :class:`~affect.replay.Record` (``trials``:
    ``choice``, ``gain``, ``loss`` (<= 0), ``valid`` ``(T,)``), with the reward and
    signals ``IowaGambling-v0`` gives for those outcomes."""
    obs0, state0 = world.reset(jax.random.PRNGKey(0), world_params)
    steps = trials["choice"].shape[0]
    scale = jnp.asarray(world_params.reward_scale, jnp.float32)
    lost = jnp.abs(trials["loss"]).astype(jnp.float32)
    net = trials["gain"].astype(jnp.float32) - lost
    valid = trials["valid"]
    obs = jnp.broadcast_to(obs0[0], (steps,) + obs0.shape[1:])
    last = jnp.arange(steps) == valid.sum() - 1
    signals = Signals.of(jnp.ones((steps,), jnp.float32), loss=scale * lost,
                         missed=trials["choice"] < 0)
    return Record(
        obs=obs, mask=jnp.broadcast_to(world.action_mask(state0, world_params)[0],
                                       (steps, world.num_actions)),
        action=trials["choice"], reward=scale * net, signals=signals, final_obs=obs,
        term=jnp.zeros((steps,), bool), done=last & valid, valid=valid,
        start=jax.tree_util.tree_map(lambda x: x[0], state0.signals),
    )


def agent_model(world_id: str = "IowaGambling-v0", config: AgentConfig | None = None,
                free=AGENT_FREE, seed: int = 0, delib: DeliberationParams | None = None
                ) -> Model:
    """The online agent in ``world_id`` as a :class:`~experiments.fit.models.Model`
    (``config`` and ``delib`` default to the model's own; another ``delib``, e.g.
    ``DeliberationParams(**affect.versions.V1)``'s constants, fits a variant)."""
    cfg = AgentConfig() if config is None else config
    world, world_params = make(world_id)
    static = make_static(world, cfg)
    affect_defaults = static.module.default_params()
    delib = DeliberationParams() if delib is None else delib
    replay = make_replay(static, affect_defaults, delib, seed=seed)
    net = init_params(static.network, jax.random.PRNGKey(seed), input_dim(static))
    marker_col = OUTPUTS.index("marker")
    n_ch = len(static.module.channels)

    def pieces(theta):
        knobs = OnlineKnobs(theta["temperature"], theta["learning_rate"])
        affect = dict(affect_defaults)
        if "frustration" in affect:
            affect["frustration"] = affect["frustration"].replace(reward_scale=theta["felt_loss"])
        gains = jnp.ones((n_ch, len(OUTPUTS)), jnp.float32).at[:, marker_col].set(
            theta["marker_gain"])
        dp = delib.replace(marker_decay=theta["marker_decay"],
                           marker_forget=theta["marker_forget"],
                           value_shape=theta["value_shape"])
        return knobs, affect, dp, gains

    def loglik(theta, trials):
        knobs, affect, dp, gains = pieces(theta)
        record = igt_record(world, world_params, trials)
        return replay(net, jnp.stack([gains, gains]), knobs, record, affect, dp)

    def simulate(key, theta, steps: int, task_params=None):
        knobs, affect, dp, gains = pieces(theta)
        wp = world_params if task_params is None else task_params
        session = make_session(make_static(world, dataclasses.replace(cfg, total_steps=steps)),
                               wp.replace(time_limit=steps), affect_defaults)
        lesion = LesionData(gains=gains, acquired=jnp.zeros((), bool))
        logs = session(key, net, lesion, knobs, affect, dp)
        return {"choice": logs["deck"], "gain": logs["gain"].astype(jnp.float32),
                "loss": -logs["loss"].astype(jnp.float32), "valid": logs["deck"] >= 0}

    params = _params(cfg, affect_defaults, delib)
    return Model("agent", params, tuple(free), loglik, simulate,
                 reference="affectlab's online agent (affect.online)")
