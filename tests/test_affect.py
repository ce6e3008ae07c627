"""Affect channels, composition and lesions: hand-computed values and exact removal."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from affect import CHANNELS, OUTPUTS, AffectModule, ChannelOutput, LearningSignals, Lesion
from affect.hunger import HungerParams, drive, drive_reduction
from affect.hunger import step as hunger_step
from worlds.signals import Signals


def one_agent_signals(energy_prev, energy):
    return Signals.of(jnp.float32(energy), energy_prev=energy_prev)


# ---------------------------------------------------------------- hunger, by hand
@pytest.mark.parametrize(
    "params, energy, expected",
    [
        (HungerParams(setpoint=1.0, n=4.0, m=2.0), 0.5, 0.25),  # |1-0.5|^2
        (HungerParams(setpoint=1.0, n=4.0, m=2.0), 0.2, 0.64),
        (HungerParams(setpoint=1.0, n=3.0, m=2.0), 0.75, 0.125),  # 0.25^1.5
        (HungerParams(setpoint=0.8, n=4.0, m=2.0), 1.0, 0.04),  # above the set-point
        (HungerParams(setpoint=0.8, n=2.0, m=2.0), 0.8, 0.0),
    ],
)
def test_drive_hand_values(params, energy, expected):
    np.testing.assert_allclose(drive(params, jnp.float32(energy)), expected, rtol=1e-5)


def test_drive_reduction_hand_values():
    p = HungerParams(setpoint=1.0, n=4.0, m=2.0)
    np.testing.assert_allclose(drive_reduction(p, 0.2, 0.5), 0.64 - 0.25, rtol=1e-5)  # eating
    np.testing.assert_allclose(drive_reduction(p, 0.5, 0.48), 0.25 - 0.2704, rtol=1e-4)
    p = HungerParams(setpoint=0.8, n=4.0, m=2.0)
    np.testing.assert_allclose(drive_reduction(p, 0.7, 1.0), 0.01 - 0.04, rtol=1e-4)  # overshoot


def test_hunger_outputs_by_hand():
    p = HungerParams(setpoint=1.0, n=4.0, m=2.0, reward_scale=2.0, marker_scale=3.0,
                     temperature_sensitivity=0.5, discount_sensitivity=0.1)
    _, out = hunger_step(p, (), one_agent_signals(0.2, 0.5), LearningSignals.zeros())
    np.testing.assert_allclose(out.feelings, [0.25, 0.39], rtol=1e-5)  # D/D(0)=0.25/1
    np.testing.assert_allclose(out.reward, 2.0 * 0.39, rtol=1e-5)
    np.testing.assert_allclose(out.marker, -3.0 * 0.25, rtol=1e-5)
    np.testing.assert_allclose(out.urgency, 0.25, rtol=1e-5)
    np.testing.assert_allclose(out.log_temperature, -0.125, rtol=1e-5)
    np.testing.assert_allclose(out.log_discount, np.log(1 - 0.025), rtol=1e-5)


@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_every_channel_fits_the_signature(name):
    ch = CHANNELS[name]
    params = ch.default_params()
    state = ch.init(params)
    new_state, out = jax.jit(ch.step)(params, state, one_agent_signals(0.4, 0.3),
                                      LearningSignals.zeros())
    assert isinstance(out, ChannelOutput)
    assert out.feelings.shape == (ch.num_features,)
    for field in ("reward", "marker", "urgency", "log_temperature", "log_discount"):
        assert getattr(out, field).shape == ()
    assert 0.0 <= float(out.urgency) <= 1.0
    assert jax.tree_util.tree_structure(new_state) == jax.tree_util.tree_structure(state)


# ---------------------------------------------------------------- composition and lesions
def compose_once(lesion: Lesion, energy_prev=0.3, energy=0.25):
    module = AffectModule(("hunger",))
    p = module.default_params()
    p["hunger"] = p["hunger"].replace(discount_sensitivity=0.2)  # make every output non-trivial
    gains = lesion.to_data(module.channel_names).gains
    _, out = module.step(p, module.init(p), one_agent_signals(energy_prev, energy),
                         LearningSignals.zeros(), gains)
    return out


def test_gain_zero_removes_every_output_exactly():
    out = compose_once(Lesion("x", {"hunger": 0.0}))
    assert np.all(np.asarray(out.feelings) == 0.0)
    assert float(out.reward) == 0.0 and float(out.marker) == 0.0
    assert float(out.urgency) == 0.0
    assert float(out.temperature) == 1.0 and float(out.discount) == 1.0


def test_gain_one_is_the_intact_module():
    intact = compose_once(Lesion("intact"))
    one = compose_once(Lesion("x", {"hunger": 1.0}))
    for a, b in zip(jax.tree_util.tree_leaves(intact), jax.tree_util.tree_leaves(one),
                    strict=True):
        np.testing.assert_array_equal(a, b)
    # and the intact outputs are the channel's own
    p = HungerParams(discount_sensitivity=0.2)
    _, raw = hunger_step(p, (), one_agent_signals(0.3, 0.25), LearningSignals.zeros())
    np.testing.assert_array_equal(intact.feelings, raw.feelings)
    np.testing.assert_allclose(intact.temperature, np.exp(raw.log_temperature))
    np.testing.assert_allclose(intact.discount, np.exp(raw.log_discount), rtol=1e-6)
    assert float(intact.reward) != 0.0 and float(intact.marker) != 0.0


def test_graded_and_output_specific_lesions():
    intact = compose_once(Lesion("intact"))
    half = compose_once(Lesion("half", {"hunger": 0.5}))
    np.testing.assert_allclose(half.reward, 0.5 * intact.reward, rtol=1e-6)
    np.testing.assert_allclose(half.feelings, 0.5 * intact.feelings, rtol=1e-6)
    marker_only = compose_once(Lesion("vm", {"hunger": {"marker": 0.0}}))
    assert float(marker_only.marker) == 0.0
    assert float(marker_only.reward) == float(intact.reward)  # the feeling stays
    np.testing.assert_array_equal(marker_only.feelings, intact.feelings)


def test_lesion_conditions_are_data_and_vmap_together():
    module = AffectModule(("hunger",))
    p = module.default_params()
    lesions = [Lesion("a"), Lesion("b", {"hunger": 0.0}), Lesion("c", {"hunger": 0.25})]
    gains = jnp.stack([les.to_data(module.channel_names).gains for les in lesions])
    sig = one_agent_signals(0.3, 0.25)
    _, out = jax.vmap(module.step, (None, None, None, None, 0))(
        p, module.init(p), sig, LearningSignals.zeros(), gains
    )
    assert out.reward.shape == (3,)
    np.testing.assert_allclose(out.reward, np.array([1.0, 0.0, 0.25]) * float(out.reward[0]),
                               rtol=1e-6)


def test_onsets():
    module = AffectModule(("hunger",))
    dev = Lesion("d", {"hunger": 0.0}).to_data(module.channel_names)
    acq = Lesion("a", {"hunger": 0.0}, onset="acquired").to_data(module.channel_names)
    assert np.all(np.asarray(dev.train_gains()) == 0) and np.all(np.asarray(dev.eval_gains()) == 0)
    assert np.all(np.asarray(acq.train_gains()) == 1) and np.all(np.asarray(acq.eval_gains()) == 0)
    assert np.asarray(dev.gains).shape == (1, len(OUTPUTS))


@pytest.mark.parametrize(
    "lesion, error, match",
    [
        (Lesion("x", {"hungre": 0.0}), KeyError, "Did you mean 'hunger'"),
        (Lesion("x", {"hunger": 1.5}), ValueError, r"\[0, 1\]"),
        (Lesion("x", {"hunger": -0.1}), ValueError, r"\[0, 1\]"),
        (Lesion("x", {"hunger": float("nan")}), ValueError, r"\[0, 1\]"),
        (Lesion("x", {"hunger": "0"}), TypeError, "number"),
        (Lesion("x", {"hunger": {"mood": 0.0}}), KeyError, "no output 'mood'"),
        (Lesion("x", {"hunger": 0.0}, onset="adult"), ValueError, "unknown onset"),
        (Lesion("x", {"hunger": 0.0}, onset="acquird"), ValueError, "Did you mean 'acquired'"),
    ],
)
def test_bad_lesions_get_clear_errors(lesion, error, match):
    with pytest.raises(error, match=match):
        lesion.to_data(("hunger",))


def test_unknown_channel_in_module():
    with pytest.raises(KeyError, match="unknown affect channel 'hungry'"):
        AffectModule(("hungry",))
