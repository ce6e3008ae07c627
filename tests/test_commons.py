"""Commons-v0 on hand-drawn maps, value by value; the social channel; the PettingZoo face."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import worlds
from affect import LearningSignals
from affect.social import SocialParams
from affect.social import step as social_step
from worlds.commons import EAT, SHARE, TAKE, Commons, CommonsState
from worlds.signals import Signals

MAP = """
#####
#A.F#
#A.F#
#A..#
#####
"""
STAY = 0  # "up" into a wall: the agent stays put (row 1 agents)


def world_and_state(pos, energy, standing=None, food=None, **params):
    """A Commons on MAP with agents at ``pos`` (row, col) and a hand-set body."""
    n = len(pos)
    world = Commons(layout=MAP, num_agents=n, view_radius=2)
    p = world.default_params().replace(metabolic_cost=0.0, **params)
    state = CommonsState(
        pos=jnp.asarray(pos, jnp.int32),
        energy=jnp.asarray(energy, jnp.float32),
        alive=jnp.ones((n,), bool),
        food=jnp.asarray(food if food is not None else [False, False], bool),
        standing=jnp.asarray(standing if standing is not None else [0.0] * n, jnp.float32),
        t=jnp.zeros((), jnp.int32),
        signals=Signals.at_rest(jnp.asarray(energy, jnp.float32)),
    )
    return world, p, state


def step(world, state, actions, p, key=0):
    return world.step_env(jax.random.PRNGKey(key), state, jnp.asarray(actions), p)


# row 1 agents pressing "up" hit the wall and stay; (1,1) and (1,2) are adjacent
def test_share_moves_energy_exactly_and_raises_seen_standing():
    world, p, s = world_and_state([(1, 1), (1, 2)], [0.6, 0.3])
    _, new, _, _, _, info = step(world, s, [SHARE, STAY], p)
    np.testing.assert_allclose(new.energy, [0.4, 0.5], rtol=1e-6)  # 0.2 moved
    np.testing.assert_allclose(float(new.energy.sum()), 0.9, rtol=1e-6)
    np.testing.assert_allclose(info["shared"], [0.2, 0.0], rtol=1e-6)
    np.testing.assert_allclose(new.standing, [0.2, 0.0], rtol=1e-6)  # the receiver saw it
    assert bool(new.signals.seen[0]) and not bool(new.signals.seen[1])
    np.testing.assert_allclose(new.signals.regard, [0.2, 0.0], rtol=1e-6)


def test_share_is_capped_by_the_receivers_room_and_the_givers_energy():
    world, p, s = world_and_state([(1, 1), (1, 2)], [0.1, 0.95])
    _, new, *_ = step(world, s, [SHARE, SHARE], p)
    # order is random, but each share is capped: conservation holds either way
    np.testing.assert_allclose(float(new.energy.sum()), 1.05, rtol=1e-6)
    assert float(new.energy.max()) <= 1.0 + 1e-6


def test_take_moves_energy_lowers_standing_and_is_felt_as_a_loss():
    world, p, s = world_and_state([(1, 1), (1, 2), (3, 1)], [0.3, 0.7, 0.9])
    _, new, _, _, _, info = step(world, s, [TAKE, STAY, 3], p)  # agent 2 walks into a wall
    # agent 0's only neighbour is agent 1 (agent 2 is two rows down): it takes 0.2
    np.testing.assert_allclose(new.energy, [0.5, 0.5, 0.9], rtol=1e-6)
    np.testing.assert_allclose(info["took"], [0.2, 0.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(new.signals.loss, [0.0, 0.2, 0.0], rtol=1e-6)
    np.testing.assert_allclose(new.standing, [-0.2, 0.0, 0.0], rtol=1e-6)


def test_unseen_acts_leave_standing_alone():
    world, p, s = world_and_state([(1, 1), (1, 2)], [0.6, 0.3])
    world.view_radius = 0  # nobody can see anything (the test's own world)
    _, new, *_ = step(world, s, [SHARE, STAY], p)
    np.testing.assert_allclose(new.standing, [0.0, 0.0])
    np.testing.assert_allclose(new.energy, [0.4, 0.5], rtol=1e-6)


def test_society_refuses_shares_to_agents_in_bad_standing_unless_rules_are_off():
    world, p, s = world_and_state([(1, 1), (1, 2)], [0.6, 0.3], standing=[0.0, -0.5])
    _, new, _, _, _, info = step(world, s, [SHARE, STAY], p)
    np.testing.assert_allclose(new.energy, [0.6, 0.3], rtol=1e-6)
    assert list(np.asarray(info["refused"])) == [False, True]
    assert bool(new.signals.missed[1])
    _, off, *_ = step(world, s, [SHARE, STAY], p.replace(rules=0.0))
    np.testing.assert_allclose(off.energy, [0.4, 0.5], rtol=1e-6)


def test_agents_in_bad_standing_are_kept_from_food_while_a_good_agent_watches():
    # agent 0 stands on the food spot (1, 3); agent 1 (good standing) is in view
    world, p, s = world_and_state([(1, 3), (2, 1)], [0.5, 0.5], standing=[-0.8, 0.0],
                                  food=[True, False])
    _, new, _, _, _, info = step(world, s, [EAT, 3], p)
    np.testing.assert_allclose(new.energy, [0.5, 0.5], rtol=1e-6)
    assert bool(info["excluded"][0]) and bool(new.food[0])
    _, off, _, _, _, info_off = step(world, s, [EAT, 3], p.replace(rules=0.0))
    np.testing.assert_allclose(off.energy, [0.8, 0.5], rtol=1e-6)
    assert not bool(off.food[0]) and not bool(info_off["excluded"][0])


def test_regrowth_needs_food_nearby():
    # spots (1,3) and (2,3) are neighbours: with rate 1, an empty spot next to food
    # regrows surely; with no food anywhere nothing ever regrows (the commons collapses)
    world, p, s = world_and_state([(3, 1), (3, 2)], [0.5, 0.5], food=[True, False],
                                  regrowth_rate=1.0)
    _, new, *_ = step(world, s, [3, 3], p)
    assert list(np.asarray(new.food)) == [True, True]
    _, empty = world_and_state([(3, 1), (3, 2)], [0.5, 0.5], food=[False, False])[1:]
    for k in range(20):
        _, after, *_ = step(world, empty, [3, 3], p, key=k)
        assert not bool(after.food.any())


def test_energy_is_conserved_under_random_shares_and_takes():
    world, p, s = world_and_state([(1, 1), (1, 2), (2, 1)], [0.3, 0.6, 0.9])
    stepper = jax.jit(world.step_env)
    total = float(s.energy.sum())
    for k in range(50):
        acts = jax.random.choice(jax.random.PRNGKey(k), jnp.array([SHARE, TAKE, 0]), (3,))
        _, s, *_ = stepper(jax.random.PRNGKey(100 + k), s, acts, p)
        np.testing.assert_allclose(float(s.energy.sum()), total, rtol=1e-5)
        assert float(s.energy.min()) >= 0.0 and float(s.energy.max()) <= 1.0 + 1e-6


def test_commons_is_deterministic_and_reports_food_stock():
    world, p = worlds.make("Commons-v0", num_agents=8)
    run = jax.jit(lambda k: world.step(k, world.reset(k, p)[1], jnp.full((8,), EAT), p))
    a, b = run(jax.random.PRNGKey(3)), run(jax.random.PRNGKey(3))
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)
    assert 0 <= int(a[-1]["food_stock"]) <= world.num_food_spots


@pytest.mark.parametrize(
    "kwargs, match",
    [({"num_agents": 40}, "num_agents must lie"), ({"num_agents": 1}, "num_agents must lie"),
     ({"num_agents": 5, "layout": MAP}, "start cells")],
)
def test_commons_rejects_impossible_populations(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Commons(**kwargs)


@pytest.mark.parametrize(
    "field, value", [("refuse_below", 1.5), ("exclude_below", -2.0), ("rules", 0.5)]
)
def test_commons_rejects_rules_out_of_range(field, value):
    world, p = worlds.make("Commons-v0")
    with pytest.raises(ValueError, match=field):
        world.check_params(p.replace(**{field: value}))


# ------------------------------------------------------------ the social channel, by hand
def test_social_channel_feels_standing_pride_shame_and_refusal():
    p = SocialParams()
    learn = LearningSignals.zeros()
    s, out = social_step(p, jnp.float32(0.0), Signals.of(1.0, regard=0.5), learn)
    np.testing.assert_allclose(s, 0.1, rtol=1e-6)  # 0.8 * 0 + 0.2 * 0.5
    np.testing.assert_allclose(out.reward, 0.1, rtol=1e-6)  # pride: the rise
    np.testing.assert_allclose(out.marker, 0.1, rtol=1e-6)
    np.testing.assert_allclose(out.feelings, [0.1, 0.1], rtol=1e-6)
    s2, out2 = social_step(p, s, Signals.of(1.0, regard=-1.0, refused=True), learn)
    np.testing.assert_allclose(s2, 0.8 * 0.1 - 0.2, rtol=1e-6)
    np.testing.assert_allclose(out2.reward, (s2 - 0.1) - 0.2, rtol=1e-6)  # shame + sting
    assert float(out2.urgency) == 0.0


def test_social_lesion_removes_the_channel_exactly():
    from affect import AffectModule, Lesion

    module = AffectModule(("hunger", "social"))
    params = module.default_params()
    sig = Signals.of(0.5, regard=0.8, refused=True)
    gains = Lesion("no-social", {"social": 0.0}).to_data(module.channel_names).gains
    _, out = module.step(params, module.init(params), sig, LearningSignals.zeros(), gains)
    _, hunger_only = AffectModule(("hunger",)).step(
        {"hunger": params["hunger"]}, (module.init(params)[0],), sig, LearningSignals.zeros(),
        jnp.ones((1, gains.shape[1]))
    )
    np.testing.assert_array_equal(out.feelings[2:], [0.0, 0.0])
    np.testing.assert_allclose(out.reward, hunger_only.reward)
    np.testing.assert_allclose(out.marker, hunger_only.marker)


# ------------------------------------------------------------ PettingZoo face
def test_pettingzoo_parallel_api():
    from pettingzoo.test import parallel_api_test

    from worlds.pettingzoo_face import parallel_env

    parallel_api_test(parallel_env("Commons-v0", num_agents=3), num_cycles=250)


def test_pettingzoo_face_removes_starved_agents_and_reports_signals():
    from worlds.pettingzoo_face import parallel_env

    env = parallel_env("Commons-v0", num_agents=2)
    env.params = env.params.replace(initial_energy=0.03, metabolic_cost=0.02)
    obs, infos = env.reset(seed=1)
    assert set(obs) == {"agent_0", "agent_1"} and "regard" in infos["agent_0"]
    _, _, term, _, _ = env.step({"agent_0": 0, "agent_1": 0})
    assert not any(term.values())
    _, _, term, _, _ = env.step({"agent_0": 0, "agent_1": 0})
    assert all(term.values()) and env.agents == []
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})
