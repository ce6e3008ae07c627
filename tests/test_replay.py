"""Replay likelihood of the online agent: a replayed simulated session scores exactly the
choices the agent made, under every lesion; the race's approximation is close to the race."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from affect.channels import OUTPUTS
from affect.deliberation import DeliberationParams, deliberate
from affect.lesion import LesionData
from affect.networks import init_params
from affect.online import OnlineKnobs, make_session
from affect.policy import AgentConfig, input_dim, make_static
from affect.replay import choice_logprobs, make_replay, race_slopes
from experiments.fit.agent import igt_record
from worlds.registry import make

STEPS = 60


@pytest.fixture(scope="module")
def softmax_agent():
    world, params = make("IowaGambling-v0")
    params = params.replace(time_limit=STEPS)
    cfg = AgentConfig(decision="softmax", total_steps=STEPS)
    static = make_static(world, cfg)
    net = init_params(static.network, jax.random.PRNGKey(1), input_dim(static))
    return world, params, static, net


def _marker_lesion(static, gain):
    gains = np.ones((len(static.module.channels), len(OUTPUTS)), np.float32)
    gains[:, OUTPUTS.index("marker")] = gain
    return jnp.asarray(gains)


@pytest.mark.parametrize("marker_gain", [1.0, 0.0, 0.4])
def test_replay_scores_the_choices_the_agent_made(softmax_agent, marker_gain):
    world, params, static, net = softmax_agent
    gains = _marker_lesion(static, marker_gain)
    affect = static.module.default_params()
    # a felt loss other than the default: the replay must use the parameters it is given
    affect["frustration"] = affect["frustration"].replace(reward_scale=1.7)
    knobs = OnlineKnobs(jnp.float32(0.6), jnp.float32(2e-3))
    # tags, forgetting and valuation other than the defaults, passed to the replay too
    delib = DeliberationParams(marker_decay=0.7, marker_forget=0.2, value_shape=0.7,
                               marker_weight=0.9)
    session = make_session(static, params, static.module.default_params())
    logs = jax.jit(session)(jax.random.PRNGKey(4), net,
                            LesionData(gains, jnp.zeros((), bool)), knobs, affect, delib)
    # independently: the softmax the agent sampled from, from the logged preferences
    drive = np.asarray(logs["prefs"], np.float64) + delib.marker_weight * np.asarray(
        logs["bias"], np.float64)
    drive -= drive.max(1, keepdims=True)
    logp = drive - np.log(np.exp(drive).sum(1, keepdims=True))
    chosen = np.asarray(logs["deck"])
    expected = logp[np.arange(STEPS), chosen]
    assert len(set(chosen.tolist())) > 1  # a session that explores, not a constant
    trials = {"choice": logs["deck"], "gain": logs["gain"].astype(jnp.float32),
              "loss": -logs["loss"].astype(jnp.float32), "valid": jnp.ones(STEPS, bool)}
    replay = make_replay(static, static.module.default_params(), DeliberationParams())
    record = igt_record(world, params, trials)
    got = jax.jit(replay)(net, jnp.stack([gains, gains]), knobs, record, affect, delib)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(float(got.sum()), expected.sum(), rtol=1e-5)


def test_replay_is_not_blind_to_the_choices(softmax_agent):
    """Another participant's choices with the same outcomes score differently."""
    world, params, static, net = softmax_agent
    gains = jnp.ones((len(static.module.channels), len(OUTPUTS)), jnp.float32)
    replay = jax.jit(make_replay(static))
    knobs = OnlineKnobs.of(static.config)
    rng = np.random.default_rng(0)
    base = {"gain": jnp.full(STEPS, 100.0), "loss": jnp.asarray(
        -rng.choice([0.0, 250.0], STEPS)), "valid": jnp.ones(STEPS, bool)}
    a = replay(net, jnp.stack([gains, gains]), knobs,
               igt_record(world, params, {**base, "choice": jnp.zeros(STEPS, jnp.int32)}))
    b = replay(net, jnp.stack([gains, gains]), knobs,
               igt_record(world, params, {**base, "choice": jnp.asarray(
                   rng.integers(0, 4, STEPS), jnp.int32)}))
    assert abs(float(a.sum()) - float(b.sum())) > 1.0


def test_padding_changes_nothing(softmax_agent):
    world, params, static, net = softmax_agent
    gains = jnp.ones((len(static.module.channels), len(OUTPUTS)), jnp.float32)
    replay = make_replay(static)
    knobs = OnlineKnobs.of(static.config)
    rng = np.random.default_rng(1)
    trials = {"choice": jnp.asarray(rng.integers(0, 4, STEPS), jnp.int32),
              "gain": jnp.full(STEPS, 50.0), "loss": jnp.asarray(-rng.choice([0, 50.0], STEPS)),
              "valid": jnp.ones(STEPS, bool)}
    pad = 15
    fill = {"choice": -1, "gain": 0.0, "loss": 0.0, "valid": False}
    padded = {k: jnp.concatenate([v, jnp.full(pad, fill[k], v.dtype)]) for k, v in trials.items()}
    short = replay(net, jnp.stack([gains, gains]), knobs, igt_record(world, params, trials))
    long = replay(net, jnp.stack([gains, gains]), knobs, igt_record(world, params, padded))
    np.testing.assert_allclose(np.asarray(long[:STEPS]), np.asarray(short), rtol=1e-6)
    assert np.all(np.asarray(long[STEPS:]) == 0.0)


def test_race_approximation_is_close_to_the_race():
    """The calibrated logit approximation against the simulated race (4 options):
    choice probabilities within 0.06 (measured: 0.036 at most over 24 random drifts)."""
    delib = DeliberationParams()
    slopes = jnp.asarray(race_slopes(delib, 4, 60, configs=16, paths=500))
    assert np.all(np.diff(np.asarray(slopes)) < 0)  # urgency lowers the effective bound
    rng = np.random.default_rng(7)
    mask, zero = jnp.ones(4, bool), jnp.zeros(4)
    for u in (0.3, 0.8):
        v = jnp.asarray(rng.normal(0, 0.5, (4, 4)), jnp.float32)
        keys = jax.random.split(jax.random.PRNGKey(2), 8000)
        for vi in v:
            act = jax.vmap(lambda k, vi=vi, u=u: deliberate(k, vi, mask, zero, jnp.float32(u),
                                                            delib, 60).action)(keys)
            freq = np.bincount(np.asarray(act), minlength=4) / len(keys)
            p = np.exp(np.asarray(choice_logprobs("deliberate", vi, zero, mask,
                                                  jnp.float32(u), delib, slopes)))
            assert np.abs(freq - p).max() < 0.06, (u, freq, p)


def test_choice_logprobs_rejects_unknown_rules():
    with pytest.raises(ValueError, match="unknown decision rule"):
        choice_logprobs("greedy", jnp.zeros(2), jnp.zeros(2), jnp.ones(2, bool), 0.0,
                        DeliberationParams())
    with pytest.raises(ValueError, match="slopes"):
        choice_logprobs("deliberate", jnp.zeros(2), jnp.zeros(2), jnp.ones(2, bool), 0.0,
                        DeliberationParams())


def test_session_defaults_are_the_config(softmax_agent):
    """Passing the config's knobs explicitly changes nothing (the default path)."""
    world, params, static, net = softmax_agent
    session = jax.jit(make_session(static, params, static.module.default_params()))
    lesion = LesionData(jnp.ones((len(static.module.channels), len(OUTPUTS))),
                        jnp.zeros((), bool))
    a = session(jax.random.PRNGKey(0), net, lesion)
    b = session(jax.random.PRNGKey(0), net, lesion, OnlineKnobs.of(static.config))
    assert np.array_equal(np.asarray(a["deck"]), np.asarray(b["deck"]))
    assert dataclasses.is_dataclass(static.config)
