"""Multi-agent training (shared parameters, mixed populations) and the social measures."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import worlds
from affect import Lesion
from affect.ppo import AgentConfig, env_step, init_runner, input_dim, make_static, stream_gains
from experiments.spec import ExperimentSpec, SpecError
from worlds.commons import gini

CHANNELS = ("hunger", "frustration", "social")


def test_gini_by_hand():
    np.testing.assert_allclose(gini(jnp.array([1.0, 1.0, 1.0, 1.0])), 0.0, atol=1e-7)
    np.testing.assert_allclose(gini(jnp.array([0.0, 0.0, 0.0, 4.0])), 0.75, rtol=1e-6)
    # |1-3| counted twice over 2 * n^2 * mean = 2 * 4 * 2: 4 / 16
    np.testing.assert_allclose(gini(jnp.array([1.0, 3.0])), 0.25, rtol=1e-6)
    np.testing.assert_allclose(gini(jnp.zeros(3)), 0.0)


def test_a_lesion_carried_by_chosen_agents_only():
    names = CHANNELS
    data = Lesion("one", {"social": 0.0}, agents=(0, 2)).to_data(names)
    g = np.asarray(data.per_agent(data.gains, 4))
    assert g.shape == (4, 3, 5)
    assert np.all(g[[0, 2], 2] == 0.0) and np.all(g[[1, 3]] == 1.0)
    assert np.all(g[:, :2] == 1.0)  # hunger and frustration untouched everywhere
    everyone = Lesion("all", {"social": 0.0}).to_data(names)
    assert np.all(np.asarray(everyone.per_agent(everyone.gains, 4))[:, 2] == 0.0)


@pytest.fixture(scope="module")
def commons_static():
    world, params = worlds.make("Commons-v0", num_agents=3)
    cfg = AgentConfig(affect_channels=CHANNELS, shared_params=True, num_envs=2, num_steps=4,
                      total_steps=64, num_minibatches=2)
    return world, params, make_static(world, cfg)


def test_streams_are_world_major_and_gains_follow_the_agents(commons_static):
    world, params, static = commons_static
    lesion = Lesion("one", {"social": 0.0}, agents=(1,)).to_data(static.module.channel_names)
    gains = stream_gains(static, lesion, lesion.train_gains())
    assert gains.shape == (2 * 3, 3, 5)  # worlds x agents streams
    lesioned = np.asarray(gains[:, 2, 0]) == 0.0
    assert list(lesioned) == [False, True, False, False, True, False]
    net = static.network.init(jax.random.PRNGKey(0), jnp.zeros((input_dim(static),)))
    ap = static.module.default_params()
    runner = init_runner(static, params, ap, gains, jax.random.PRNGKey(1), net)
    assert runner.obs.shape == (6, world.obs_shape[0])
    # the lesioned stream's social feelings are exactly 0 (channel order: h, f, s)
    social = np.asarray(runner.aff.feelings[:, -2:])
    assert np.all(social[lesioned] == 0.0)
    runner, tr = jax.jit(lambda r: env_step(static, params, ap, gains, r, None))(runner)
    assert tr.action.shape == (6,) and bool(tr.valid.all())
    assert set(tr.extra) >= {"food_stock", "standing", "ate"}


def test_dead_agents_do_not_count_in_the_loss(commons_static):
    from affect.ppo import ppo_loss

    _, _, static = commons_static
    n, d = 4, input_dim(static)
    net = static.network.init(jax.random.PRNGKey(0), jnp.zeros((d,)))
    batch = jax.tree_util.tree_map(
        lambda x: x, _fake_batch(n, d, static.world.num_actions, valid=[True, True, False, False])
    )
    adv = jnp.array([1.0, -1.0, 50.0, -50.0])
    targets = jnp.zeros(n)
    loss, aux = ppo_loss(static, net, batch, adv, targets)
    only = jax.tree_util.tree_map(lambda x: x[:2], batch)
    loss2, _ = ppo_loss(static, net, only.replace(valid=jnp.ones(2, bool)), adv[:2], targets[:2])
    np.testing.assert_allclose(loss, loss2, rtol=1e-5)


def _fake_batch(n, d, a, valid):
    from affect.ppo import Transition

    z = jnp.zeros(n)
    return Transition(
        obs=jax.random.normal(jax.random.PRNGKey(2), (n, d)), feelings=jnp.zeros((n, 0)),
        temperature=jnp.ones(n), action=jnp.zeros(n, jnp.int32), log_prob=jnp.full(n, -2.0),
        value=z, marker=z, reward=z, discount=z, terminated=jnp.zeros(n, bool),
        done=jnp.zeros(n, bool), next_obs=jnp.zeros((n, d)), next_feelings=jnp.zeros((n, 0)),
        next_marker=z, world_reward=z, felt_reward=z, energy=z, starved=jnp.zeros(n, bool),
        finished_return=z, finished_length=jnp.zeros(n, jnp.int32),
        valid=jnp.asarray(valid), extra={},
    )


def test_commons_training_runs_mixed_populations_in_one_program(tmp_path):
    from experiments.runner import run_job

    spec = ExperimentSpec(
        name="soc", world="Commons-v0", seeds=1, total_steps=4096,
        agent=AgentConfig(affect_channels=CHANNELS, num_envs=8, num_steps=32),
        conditions=(Lesion("intact"), Lesion("social-lesion", {"social": 0.0}),
                    Lesion("one-lesioned", {"social": 0.0}, agents=(0,))),
    )
    out = run_job(spec, [0])
    m = out["metrics"]
    assert m["social/food_stock"].shape == (1, 3, 16)
    for k in ("social/gini_eaten", "social/standing_agent0", "charts/survival"):
        assert k in m
    # each agent's standing, and evaluation episodes of every agent under its own gains
    np.testing.assert_array_equal(m["social/standing/0"], m["social/standing_agent0"])
    others = np.mean([m[f"social/standing/{i}"] for i in (1, 2, 3)], axis=0)
    np.testing.assert_allclose(others, m["social/standing_others"], rtol=1e-5, atol=1e-6)
    assert m["eval/survival"].shape == (1, 3)
    assert np.all((m["eval/survival"] >= 0) & (m["eval/survival"] <= 1))
    assert np.all(m["eval/episode_length"] > 0)
    assert np.all((m["social/food_stock"] >= 0) & (m["social/food_stock"] <= 1))


def test_mixed_lesion_specs_with_unknown_agents_fail_before_compiling():
    base = dict(name="s", world="Commons-v0", seeds=1, total_steps=4096,
                agent=AgentConfig(affect_channels=CHANNELS))
    with pytest.raises(SpecError, match="unknown agent id 7"):
        ExperimentSpec(conditions=(Lesion("x", {"social": 0.0}, agents=(7,)),), **base).validate()
    with pytest.raises(SpecError, match="not an int"):
        ExperimentSpec(conditions=(Lesion("x", {"social": 0.0}, agents=("a",)),),
                       **base).validate()
    with pytest.raises(SpecError, match="refuse_below"):
        ExperimentSpec(conditions=(Lesion("intact"),), world_params={"refuse_below": -3.0},
                       **base).validate()
    ok = ExperimentSpec(conditions=(Lesion("x", {"social": 0.0}, agents=(3,)),), **base)
    assert ok.validate() is ok
    assert dataclasses.asdict(ok.agent)["affect_channels"] == CHANNELS


def test_social_experiment_writes_statistics_claims_and_figure(tmp_path):
    import pandas as pd

    from experiments.runner import run_experiment
    from experiments.tasks import social

    spec = dataclasses.replace(social.spec(True), seeds=2, total_steps=4096,
                               agent=AgentConfig(affect_channels=CHANNELS, num_envs=8))
    out = run_experiment(spec, tmp_path / "s", workers=0, progress=False)
    for name in ["results.csv", "manifest.json", "figure.png", "figure.pdf", "statistics.csv",
                 "claims.csv"]:
        assert (out / name).is_file(), name
    claims = pd.read_csv(out / "claims.csv")
    assert list(claims["id"]) == ["social-food", "social-welfare", "social-lone-standing"]


def test_social_claims_that_must_fail_do_fail():
    import pandas as pd

    from experiments.analysis.claims import check_experiment

    rows = []
    for cond in ("intact", "social-lesion", "one-lesioned"):
        for seed in range(8):
            for metric, v in [("late/social/food_stock", 0.4 + 0.01 * seed),
                              ("late/social/total_energy", 2.0 + 0.01 * seed),
                              ("late/social/standing_gap", 0.01 * (seed - 3.5))]:
                rows.append({"condition": cond, "seed": seed, "metric": metric, "value": v})
    claims = check_experiment(pd.DataFrame(rows), "social")
    assert len(claims) == 3 and not claims["passed"].any()  # no effect anywhere



def test_independent_parameters_give_every_agent_its_own_network():
    from affect.networks import init_params
    from affect.ppo import init_agent_params, make_train

    world, params = worlds.make("Commons-v0", num_agents=3)
    cfg = AgentConfig(affect_channels=CHANNELS, num_envs=4, num_steps=8, total_steps=64,
                      shared_params=False)
    static = make_static(world, cfg)
    init = lambda k: init_params(static.network, k, input_dim(static))  # noqa: E731
    net = init_agent_params(static, init, jax.random.PRNGKey(0))
    leaves = jax.tree_util.tree_leaves(net)
    assert all(x.shape[0] == 3 for x in leaves)
    assert not np.allclose(leaves[-1][0], leaves[-1][1])  # three different networks
    lesion = Lesion("one", {"social": 0.0}, agents=(0,)).to_data(static.module.channel_names)
    runner, metrics = jax.jit(make_train(static, params, static.module.default_params()))(
        jax.random.PRNGKey(1), net, lesion
    )
    after = jax.tree_util.tree_leaves(runner.params)
    assert all(a.shape == b.shape for a, b in zip(after, leaves, strict=True))
    assert all(np.any(np.asarray(a[i]) != np.asarray(b[i])) for i in range(3)
               for a, b in [(after[0], leaves[0])])  # every agent learned
    assert np.all(np.isfinite(np.asarray(metrics["losses/value"])))
    shared = make_static(world, dataclasses.replace(cfg, shared_params=True))
    assert jax.tree_util.tree_leaves(init_agent_params(shared, init, jax.random.PRNGKey(0)))[
        0].ndim == 1
