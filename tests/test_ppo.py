"""The agent: GAE by hand, the value prior at termination, learning, determinism."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import worlds
from affect import INTACT, Lesion
from affect.module import AffectOutput
from affect.networks import init_params
from affect.ppo import (
    AgentConfig,
    Transition,
    advantages,
    gae,
    init_agent_params,
    input_dim,
    make_static,
    make_train,
    policy_value,
)


# ---------------------------------------------------------------- GAE by hand
def test_gae_hand_computed_with_truncation_and_termination():
    # step 0 ordinary; step 1 truncated (bootstrap from the final observation's value 2.0);
    # step 2 ordinary; step 3 terminated (caller passes v_tp1 = 0 for the learned value).
    r = jnp.array([1.0, 1.0, 1.0, 1.0])
    v = jnp.array([0.5, 0.5, 0.5, 0.5])
    v_tp1 = jnp.array([0.5, 2.0, 0.5, 0.0])
    discount = jnp.full(4, 0.9)
    done = jnp.array([0.0, 1.0, 0.0, 1.0])
    adv, ret = gae(r, v, v_tp1, discount, done, lambda_=0.5)
    # deltas: 0.95, 2.3, 0.95, 0.5; traces stop after each done
    expected = np.array([0.95 + 0.45 * 2.3, 2.3, 0.95 + 0.45 * 0.5, 0.5])
    np.testing.assert_allclose(adv, expected, rtol=1e-6)
    np.testing.assert_allclose(ret, expected + 0.5, rtol=1e-6)


def test_gae_lambda_one_is_discounted_return_minus_value():
    r = jnp.array([1.0, 2.0, 3.0])
    v = jnp.array([0.1, 0.2, 0.3])
    v_tp1 = jnp.array([0.2, 0.3, 4.0])
    disc = jnp.full(3, 0.5)
    adv, _ = gae(r, v, v_tp1, disc, jnp.zeros(3), lambda_=1.0)
    g2 = 3.0 + 0.5 * 4.0
    g1 = 2.0 + 0.5 * g2
    g0 = 1.0 + 0.5 * g1
    np.testing.assert_allclose(adv, np.array([g0, g1, g2]) - np.array(v), rtol=1e-6)


def test_gae_jit_matches_no_jit_and_checks_shapes():
    k = jax.random.split(jax.random.PRNGKey(0), 4)
    args = [jax.random.normal(ki, (16,)) for ki in k]
    done = (jax.random.uniform(jax.random.PRNGKey(1), (16,)) < 0.2).astype(jnp.float32)
    a1 = gae(*args[:3], jnp.abs(args[3]), done, 0.9)
    a2 = jax.jit(gae, static_argnums=5)(*args[:3], jnp.abs(args[3]), done, 0.9)
    np.testing.assert_allclose(a1[0], a2[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="shapes differ"):
        gae(jnp.zeros(3), jnp.zeros(4), jnp.zeros(3), jnp.zeros(3), jnp.zeros(3), 0.9)


# ---------------------------------------------------------------- the prior in the critic
@pytest.fixture(scope="module")
def tiny():
    world, params = worlds.make("Foraging-v0")
    cfg = AgentConfig(num_envs=8, num_steps=16, total_steps=8 * 16 * 4, eval_envs=4)
    static = make_static(world, cfg)
    return world, params, cfg, static


def constant_critic(static, key, c):
    """Network params whose residual value is the constant ``c`` everywhere."""
    p = init_params(static.network, key, input_dim(static))
    p["params"]["v"]["kernel"] = jnp.zeros_like(p["params"]["v"]["kernel"])
    p["params"]["v"]["bias"] = jnp.full_like(p["params"]["v"]["bias"], c)
    return p


def test_termination_zeroes_the_learned_value_not_the_prior(tiny):
    _, _, cfg, static = tiny
    net = constant_critic(static, jax.random.PRNGKey(0), 3.0)
    t, n = 2, 1
    d = static.world.obs_shape[0]
    f = static.module.num_features
    z = jnp.zeros((t, n))
    traj = Transition(
        obs=jnp.zeros((t, n, d)), feelings=jnp.zeros((t, n, f)), temperature=jnp.ones((t, n)),
        action=jnp.zeros((t, n), jnp.int32), log_prob=z, marker=z,
        value=jnp.full((t, n), 1.0), reward=jnp.full((t, n), 0.5), discount=jnp.full((t, n), 0.9),
        terminated=jnp.array([[True], [False]]), done=jnp.array([[True], [True]]),
        next_obs=jnp.zeros((t, n, d)), next_feelings=jnp.zeros((t, n, f)),
        next_marker=jnp.full((t, n), -0.4), world_reward=z, felt_reward=z, energy=z,
        starved=jnp.zeros((t, n), bool), finished_return=z, finished_length=z,
        valid=jnp.ones((t, n), bool), extra={},
    )
    adv, _ = advantages(static, net, traj)
    # terminated: V(s') = Phi' = -0.4 ; truncated: V(s') = Phi' + U' = -0.4 + 3.0
    np.testing.assert_allclose(adv[:, 0], [0.5 + 0.9 * -0.4 - 1.0, 0.5 + 0.9 * 2.6 - 1.0],
                               rtol=1e-5)


def test_gain_zero_leaves_value_as_the_residual_and_base_temperature(tiny):
    _, _, cfg, static = tiny
    net = init_params(static.network, jax.random.PRNGKey(0), input_dim(static))
    obs = jnp.ones((3, static.world.obs_shape[0])) * 0.5
    aff = AffectOutput(
        feelings=jnp.zeros((3, static.module.num_features)), reward=jnp.zeros(3),
        marker=jnp.zeros(3), urgency=jnp.zeros(3), temperature=jnp.ones(3),
        discount=jnp.ones(3), tags=jnp.zeros((3, len(static.module.channels))),
    )
    logits, temp, value = policy_value(static, net, obs, aff)
    raw_logits, u = static.network.apply(net, jnp.concatenate([obs, aff.feelings], -1))
    np.testing.assert_array_equal(value, u)
    np.testing.assert_array_equal(logits, raw_logits / cfg.temperature)
    np.testing.assert_array_equal(temp, jnp.full(3, cfg.temperature))


# ---------------------------------------------------------------- training programs
@pytest.fixture(scope="module")
def tiny_train(tiny):
    world, params, cfg, static = tiny
    train = make_train(static, params, static.module.default_params())
    traces = []

    def counted(key, net, lesion):
        traces.append(1)
        return train(key, net, lesion)[1]

    fn = jax.jit(counted)
    net = init_params(static.network, jax.random.PRNGKey(1), input_dim(static))
    return fn, net, static, traces


def test_same_seed_same_numbers_and_one_compile_for_all_lesions(tiny_train):
    fn, net, static, traces = tiny_train
    names = static.module.channel_names
    m1 = fn(jax.random.PRNGKey(0), net, INTACT.to_data(names))
    m2 = fn(jax.random.PRNGKey(0), net, INTACT.to_data(names))
    for k in m1:
        np.testing.assert_array_equal(m1[k], m2[k], err_msg=k)
    gain_one = fn(jax.random.PRNGKey(0), net, Lesion("g1", {"hunger": 1.0}).to_data(names))
    for k in m1:
        np.testing.assert_array_equal(m1[k], gain_one[k], err_msg=k)
    lesioned = fn(jax.random.PRNGKey(0), net, Lesion("g0", {"hunger": 0.0}).to_data(names))
    fn(jax.random.PRNGKey(0), net,
       Lesion("acq", {"hunger": 0.0}, onset="acquired").to_data(names))
    assert len(traces) == 1  # every lesion condition ran in the same compiled program
    assert float(jnp.abs(lesioned["affect/felt_reward"]).sum()) == 0.0
    assert float(jnp.abs(m1["affect/felt_reward"]).sum()) > 0.0


def test_config_validation():
    with pytest.raises(ValueError, match="num_envs"):
        AgentConfig(num_envs=0).validate()
    with pytest.raises(ValueError, match="gamma"):
        AgentConfig(gamma=1.5).validate()
    with pytest.raises(ValueError, match="num_minibatches"):
        AgentConfig(num_envs=3, num_steps=3, num_minibatches=2).validate()
    with pytest.raises(ValueError, match="less than one update"):
        AgentConfig(total_steps=10).validate()


def test_multi_agent_foraging_trains_and_timed_multi_agent_worlds_are_refused():
    world = worlds.Foraging(num_agents=2)
    cfg = AgentConfig(num_envs=4, num_steps=8, total_steps=64)
    static = make_static(world, cfg)
    init = lambda k: init_params(static.network, k, input_dim(static))
    net = init_agent_params(static, init, jax.random.PRNGKey(0))  # one network per agent
    assert net["params"]["pi"]["bias"].shape == (2, world.num_actions)
    train = jax.jit(make_train(static, world.default_params(), static.module.default_params()))
    lesion = Lesion("intact").to_data(static.module.channel_names)
    _, metrics = train(jax.random.PRNGKey(1), net, lesion)
    assert metrics["losses/value"].shape == (cfg.num_updates,)
    assert np.all(np.isfinite(np.asarray(metrics["losses/value"])))
    assert 0.0 <= float(metrics["eval/survival"]) <= 1.0  # evaluation covers every agent
    with pytest.raises(ValueError, match="timed"):
        make_static(worlds.Choice(num_agents=2), AgentConfig())


def test_intact_agent_learns_to_survive():
    """A short run must learn: survival rises from near 0 to a measured threshold."""
    world, params = worlds.make("Foraging-v0")
    cfg = dataclasses.replace(AgentConfig(), total_steps=600_000)
    static = make_static(world, cfg)
    train = jax.jit(make_train(static, params, static.module.default_params()))
    net = init_params(static.network, jax.random.PRNGKey(1), input_dim(static))
    _, m = train(jax.random.PRNGKey(0), net, INTACT.to_data(static.module.channel_names))
    surv = np.asarray(m["charts/survival"])
    k = max(1, len(surv) // 10)
    early, late = np.nanmean(surv[:k]), np.nanmean(surv[-k:])
    assert early < 0.2, early  # a fresh agent starves
    assert late > 0.7, late
    assert float(m["eval/survival"]) > 0.7
