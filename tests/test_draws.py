"""One random draw per call (``worlds.draws``) and one view per auto-reset step."""

import collections
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import worlds
from worlds.draws import distinct, distinct_uniforms, pick, shuffle

RANDOM_PRIMITIVES = ("random_bits", "random_split", "random_fold_in", "threefry2x32")


def _random_calls(closed) -> collections.Counter:
    """Call sites of random primitives in a jaxpr, nested jaxprs included (a shared
    sub-jaxpr counts once per call)."""
    found: collections.Counter = collections.Counter()

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            if eqn.primitive.name in RANDOM_PRIMITIVES:
                found[eqn.primitive.name] += 1
            for value in eqn.params.values():
                for sub in value if isinstance(value, (list, tuple)) else [value]:
                    inner = getattr(sub, "jaxpr", sub)
                    if hasattr(inner, "eqns"):
                        walk(inner)

    walk(closed.jaxpr)
    return found


def _world(world_id):
    world, params = worlds.make(world_id)
    key = jax.random.PRNGKey(0)
    _, state = world.reset(key, params)
    action = jnp.zeros((world.num_agents, *world.action_shape), jnp.int32)
    return world, params, key, state, action


@pytest.mark.parametrize("world_id", worlds.registered())
def test_builtin_worlds_draw_once_per_call(world_id):
    world, params, key, state, action = _world(world_id)
    reset = _random_calls(jax.make_jaxpr(lambda k: world.reset_env(k, params))(key))
    step = _random_calls(jax.make_jaxpr(lambda k: world.step_env(k, state, action, params))(key))
    assert sum(reset.values()) <= 1 and sum(step.values()) <= 1, (reset, step)
    # the auto-reset step adds one split: at most three hashes per step in all
    auto = _random_calls(jax.make_jaxpr(lambda k: world.step(k, state, action, params))(key))
    assert sum(auto.values()) <= 3, auto


def test_the_draw_counter_sees_a_second_draw():
    def two(k):
        return jax.random.uniform(k, (3,)) + jax.random.uniform(jax.random.fold_in(k, 1), (3,))

    assert sum(_random_calls(jax.make_jaxpr(two)(jax.random.PRNGKey(0))).values()) == 3


@pytest.mark.parametrize("world_id", worlds.registered())
def test_auto_reset_observation_is_the_view_of_the_state_kept(world_id):
    world, params, key, state, _ = _world(world_id)
    if hasattr(params, "time_limit"):
        params = params.replace(time_limit=3)
    step = jax.jit(world.step)
    resets = 0
    for i in range(8):
        k_act, k_step = jax.random.split(jax.random.fold_in(key, i))
        action = jax.random.randint(
            k_act, (world.num_agents, *world.action_shape), 0, world.num_actions
        )
        key_env = jax.random.split(k_step)[0]  # what ``step`` hands ``step_env``
        expected_final = world.step_env(key_env, state, action, params)[0]
        obs, state, *_, info = step(k_step, state, action, params)
        np.testing.assert_allclose(obs, world.observe(state, params), atol=1e-6)
        np.testing.assert_allclose(info["final_observation"], expected_final, atol=1e-6)
        resets += int(info["done"])
    assert resets >= 1 or not hasattr(params, "time_limit")


def test_pick_is_uniform_and_in_range():
    u = jax.random.uniform(jax.random.PRNGKey(0), (60_000,))
    idx = np.asarray(pick(u, 6))
    assert idx.min() == 0 and idx.max() == 5
    counts = np.bincount(idx, minlength=6)
    # chi-square with 5 degrees of freedom: 20.5 is its 0.999 quantile
    assert ((counts - 10_000) ** 2 / 10_000).sum() < 20.5
    assert int(pick(jnp.float32(1.0 - 2**-24), 3)) == 2


def test_shuffle_gives_every_permutation_equally_often():
    keys = jax.random.split(jax.random.PRNGKey(1), 24_000)
    perms = np.asarray(jax.vmap(lambda k: shuffle(jax.random.uniform(k, (3,))))(keys))
    counts = collections.Counter(map(tuple, perms))
    assert set(counts) == set(itertools.permutations(range(3)))
    assert sum((c - 4000) ** 2 / 4000 for c in counts.values()) < 20.5


@pytest.mark.parametrize("n, k", [(40, 1), (40, 3), (5, 5)])
def test_distinct_picks_are_distinct_and_uniform(n, k):
    m = distinct_uniforms(n, k)
    keys = jax.random.split(jax.random.PRNGKey(2), 20_000)
    picks = np.asarray(jax.vmap(lambda key: distinct(jax.random.uniform(key, (m,)), n, k))(keys))
    assert picks.shape == (20_000, k) and picks.min() >= 0 and picks.max() < n
    assert all(len(set(row)) == k for row in picks[:2000])
    first = np.bincount(picks[:, 0], minlength=n) / len(picks)
    np.testing.assert_allclose(first, 1 / n, atol=5 * np.sqrt(1 / n / len(picks)))
