"""The benchmark's world rows time what a world computes, observations included."""

from functools import partial

import jax
import numpy as np
import pytest

import worlds
from experiments.tools.bench import random_rollout


@pytest.mark.parametrize("world_id", ["Foraging-v0", "Commons-v0"])
def test_the_timed_rollout_returns_the_observations_it_computes(world_id):
    world, params = worlds.make(world_id)
    key, n, horizon = jax.random.PRNGKey(3), 2, 4
    out = jax.jit(partial(random_rollout, world, params, n, horizon))(key)
    assert out["last_obs"].shape == (n, world.num_agents, *world.obs_shape)
    # the same steps by hand, one at a time: the returned view is the last one computed
    k_reset, k_run = jax.random.split(key)
    obs, state = jax.vmap(world.reset, (0, None))(jax.random.split(k_reset, n), params)
    first, total = obs, 0.0
    step = jax.jit(jax.vmap(world.step, (0, 0, 0, None)))
    for k in jax.random.split(k_run, horizon):
        k_act, k_step = jax.random.split(k)
        act = jax.random.randint(k_act, (n, world.num_agents), 0, world.num_actions)
        obs, state, reward, *_ = step(jax.random.split(k_step, n), state, act, params)
        total += float(reward.sum())
    np.testing.assert_array_equal(out["last_obs"], obs)
    assert float(out["reward_sum"]) == pytest.approx(total, rel=1e-5)
    assert not np.array_equal(obs, first)  # the view moved: it is not the reset's


def test_the_peer_row_keeps_the_peers_observations_and_reports_a_ratio():
    pytest.importorskip("xminigrid", reason="the bench extra (xminigrid) is not installed")
    from experiments.tools.bench import bench_peer, xminigrid_rollout, xminigrid_world

    out = jax.jit(partial(xminigrid_rollout, *xminigrid_world(), 4, 10))(jax.random.PRNGKey(0))
    assert out["last_obs"].shape == (4, 7, 7, 2)  # returned: XLA cannot drop the views
    rec = bench_peer("xminigrid", "Foraging-v0", num_envs=8, rounds=2)
    assert rec["ratio_min"] <= rec["ratio_median"] <= rec["ratio_max"]
    assert rec["ours_steps_per_s"] > 0 and rec["peer_steps_per_s"] > 0
    with pytest.raises(ValueError, match="unknown peer"):
        bench_peer("navix")


def test_an_experiments_wall_time_is_set_against_its_training_at_the_benchmarked_rate(tmp_path):
    from experiments.tools.bench import bench_experiment
    from tests.test_experiments import tiny_spec

    spec = tiny_spec(seeds=1)
    r = bench_experiment(spec, train_steps=8 * 16 * 2, repeats=1)
    assert r["steps"] == 1 * 2 * 8 * 16 * 3  # seeds x conditions x whole PPO batches
    rate = (r["rate_before"] + r["rate_after"]) / 2
    assert r["training_at_rate_s"] == pytest.approx(r["steps"] / rate)
    assert r["ratio"] == pytest.approx(r["wall_s"] / r["training_at_rate_s"])
    assert r["wall_s"] > 0


def test_bench_refuses_an_experiment_ppo_does_not_train(capsys):
    from experiments.cli import main

    assert main(["bench", "--experiment", "paralysis"]) == 2
    assert "PPO-trained" in capsys.readouterr().err
