"""World contract, Foraging dynamics on hand-drawn maps, Gymnasium face."""

import chex
import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import SMALL_MAP
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import worlds
from worlds import Foraging, parse_layout
from worlds.foraging import EAT

UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3


def small_world(**params):
    world = Foraging(layout=SMALL_MAP)
    p = world.default_params().replace(**params)
    return world, p


# ---------------------------------------------------------------- layouts and registry
def test_layout_parses_walls_food_and_starts():
    layout = parse_layout(SMALL_MAP)
    assert layout.shape == (5, 5)
    np.testing.assert_array_equal(layout.food_spots, [[1, 1], [3, 3]])
    np.testing.assert_array_equal(layout.start_cells, [[1, 3]])
    assert layout.walls[2, 2] and not layout.walls[1, 2]


@pytest.mark.parametrize(
    "text, match",
    [
        ("###\n#F.\n###", "enclosed"),
        ("####\n#F.#\n#.#\n####", "row 2"),
        ("####\n#Fx#\n####", "unknown characters"),
        ("####\n#..#\n####", "no food"),
        ("", "empty"),
    ],
)
def test_bad_layouts_are_rejected(text, match):
    with pytest.raises(ValueError, match=match):
        parse_layout(text)


def test_unknown_world_id_suggests_close_matches():
    with pytest.raises(KeyError, match="Did you mean 'Foraging-v0'"):
        worlds.make("Foragin-v0")


def test_world_ids_must_be_versioned():
    with pytest.raises(ValueError, match="Name-vN"):
        worlds.register("foraging", Foraging)


def test_too_many_agents_for_the_map():
    with pytest.raises(ValueError, match="start cells"):
        Foraging(layout=SMALL_MAP, num_agents=2)


# ---------------------------------------------------------------- contract, every world
@pytest.mark.parametrize("world_id", worlds.registered())
def test_contract_shapes_and_dtypes(world_id, key):
    world, params = worlds.make(world_id)
    a = world.num_agents
    obs, state = jax.jit(world.reset)(key, params)
    assert obs.shape == (a, *world.obs_shape) and obs.dtype == jnp.float32
    action = jnp.zeros((a, *world.action_shape), jnp.int32)
    assert world.action_mask(state, params).shape == (a, world.num_actions)
    obs2, state2, reward, term, trunc, info = jax.jit(world.step)(key, state, action, params)
    assert obs2.shape == obs.shape
    assert reward.shape == (a,) and reward.dtype == jnp.float32
    assert term.shape == (a,) and term.dtype == jnp.bool_
    assert trunc.shape == (a,) and trunc.dtype == jnp.bool_
    assert info["final_observation"].shape == obs.shape
    assert info["signals"].energy.shape == (a,)
    assert state2.signals.energy.shape == (a,)


@pytest.mark.parametrize("world_id", worlds.registered())
def test_reset_and_step_compile_once(world_id):
    world, params = worlds.make(world_id)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def reset(key, params):
        return world.reset(key, params)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def step(key, state, action, params):
        return world.step(key, state, action, params)

    chex.clear_trace_counter()
    for i in range(3):
        # new keys and new *values* of every param: no retrace
        p = jax.tree_util.tree_map(
            lambda x, i=i: x * (1 + 0.01 * i) if jnp.issubdtype(jnp.asarray(x).dtype,
                                                                  jnp.floating) else x,
            params,
        ).replace(time_limit=100 + i)
        _, state = reset(jax.random.PRNGKey(i), p)
        for j in range(3):
            action = jnp.full((world.num_agents, *world.action_shape), j % 5, jnp.int32)
            _, state, *_ = step(jax.random.PRNGKey(10 * i + j), state, action, p)


def test_jit_and_no_jit_agree(key):
    world, params = worlds.make("Foraging-v0")
    obs, state = world.reset(key, params)
    obs_j, state_j = jax.jit(world.reset)(key, params)
    chex.assert_trees_all_close(obs, obs_j)
    step_j = jax.jit(world.step)
    for t in range(8):
        k = jax.random.fold_in(key, t)
        a = jnp.array([t % 5], jnp.int32)
        out = world.step(k, state, a, params)
        out_j = step_j(k, state_j, a, params)
        chex.assert_trees_all_close(out, out_j)
        state, state_j = out[1], out_j[1]


def test_same_key_same_numbers():
    world, params = worlds.make("Foraging-v0")

    def run(seed):
        key = jax.random.PRNGKey(seed)
        obs, state = world.reset(key, params)
        rewards = []
        for t in range(30):
            obs, state, r, *_ = world.step(jax.random.fold_in(key, t), state,
                                           jnp.array([t % 5]), params)
            rewards.append(float(r[0]))
        return np.asarray(obs), rewards

    o1, r1 = run(3)
    o2, r2 = run(3)
    np.testing.assert_array_equal(o1, o2)
    assert r1 == r2


# ---------------------------------------------------------------- Foraging dynamics by hand
def test_walls_block_and_metabolism_costs(key):
    world, p = small_world(metabolic_cost=0.1, initial_energy=0.5, respawn_prob=0.0)
    _, state = world.reset(key, p)
    assert state.pos.tolist() == [[1, 3]]  # the only start cell
    _, state, reward, term, trunc, info = world.step(key, state, jnp.array([UP]), p)
    assert state.pos.tolist() == [[1, 3]]  # wall above
    np.testing.assert_allclose(state.energy, [0.4], atol=1e-6)
    np.testing.assert_allclose(info["signals"].energy_prev, [0.5], atol=1e-6)
    np.testing.assert_allclose(reward, [p.alive_reward], atol=1e-6)
    assert not term[0] and not trunc[0]


def test_eating_restores_energy_and_consumes_food(key):
    world, p = small_world(
        metabolic_cost=0.1, food_energy=0.3, initial_energy=0.5, initial_food_prob=1.0,
        respawn_prob=0.0,
    )
    _, state = world.reset(key, p)
    _, state, *_ = world.step(key, state, jnp.array([DOWN]), p)  # (2, 3)
    _, state, *_ = world.step(key, state, jnp.array([DOWN]), p)  # (3, 3): food spot 1
    assert state.pos.tolist() == [[3, 3]]
    np.testing.assert_allclose(state.energy, [0.3], atol=1e-6)
    _, state, reward, term, _, info = world.step(key, state, jnp.array([EAT]), p)
    np.testing.assert_allclose(state.energy, [0.3 - 0.1 + 0.3], atol=1e-6)
    np.testing.assert_allclose(info["signals"].ate, [0.3], atol=1e-6)
    assert state.food.tolist() == [True, False]
    # eating again on an empty spot gives nothing
    _, state, *_ = world.step(key, state, jnp.array([EAT]), p)
    np.testing.assert_allclose(state.energy, [0.4], atol=1e-6)


def test_overeating_costs_in_the_abundant_variant(key):
    world = Foraging(layout=SMALL_MAP, variant="abundant")
    p = world.default_params().replace(
        metabolic_cost=0.0, initial_energy=0.8, food_energy=0.3, initial_food_prob=1.0,
        respawn_prob=0.0,
    )
    assert p.overeat_cost > 0
    _, state = world.reset(key, p)
    for a in (DOWN, DOWN):
        _, state, *_ = world.step(key, state, jnp.array([a]), p)
    _, state, reward, *_ , info = world.step(key, state, jnp.array([EAT]), p)
    excess = 0.8 + 0.3 - p.satiety
    np.testing.assert_allclose(info["signals"].overate, [excess], atol=1e-6)
    np.testing.assert_allclose(reward, [p.alive_reward - p.overeat_cost * excess], atol=1e-6)
    np.testing.assert_allclose(state.energy, [1.0], atol=1e-6)  # capped


def test_starvation_terminates_and_time_limit_truncates(key):
    world, p = small_world(metabolic_cost=0.25, initial_energy=0.5, respawn_prob=0.0)
    _, state = world.reset(key, p)
    _, state, r, term, trunc, info = world.step(key, state, jnp.array([LEFT]), p)
    assert not term[0]
    obs, state, r, term, trunc, info = world.step(key, state, jnp.array([LEFT]), p)
    assert bool(term[0]) and not bool(trunc[0])
    assert bool(info["signals"].starved[0]) and float(r[0]) == 0.0
    assert bool(info["done"])
    # auto-reset: a fresh body, and the pre-reset observation kept apart
    np.testing.assert_allclose(state.energy, [0.5])
    assert int(state.t) == 0
    assert float(info["final_observation"][0, -1]) == 0.0  # energy channel at death
    assert float(obs[0, -1]) == 0.5
    # time limit
    world, p = small_world(metabolic_cost=0.0, time_limit=3)
    _, state = world.reset(key, p)
    for _ in range(3):
        _, state, r, term, trunc, info = world.step(key, state, jnp.array([UP]), p)
    assert bool(trunc[0]) and not bool(term[0]) and bool(info["done"])
    np.testing.assert_allclose(r, [p.alive_reward], atol=1e-6)


def test_food_regrows_with_its_probability(key):
    world, p = small_world(initial_food_prob=0.0, respawn_prob=1.0)
    _, state = world.reset(key, p)
    assert state.food.tolist() == [False, False]
    _, state, *_ = world.step(key, state, jnp.array([UP]), p)
    assert state.food.tolist() == [True, True]
    world, p = small_world(initial_food_prob=0.0, respawn_prob=0.0)
    _, state = world.reset(key, p)
    for _ in range(10):
        _, state, *_ = world.step(key, state, jnp.array([UP]), p)
    assert state.food.tolist() == [False, False]


def test_multi_agent_contract_and_eating_ties(key):
    text = "#####\n#AFA#\n#####"
    world = Foraging(layout=text, num_agents=2)
    p = world.default_params().replace(initial_food_prob=1.0, respawn_prob=0.0,
                                        metabolic_cost=0.0, initial_energy=0.5)
    obs, state = world.reset(key, p)
    assert obs.shape == (2, *world.obs_shape)
    state = state.replace(pos=jnp.array([[1, 2], [1, 2]]))
    _, state, r, term, trunc, info = world.step(key, state, jnp.array([EAT, EAT]), p)
    np.testing.assert_allclose(info["signals"].ate, [p.food_energy, 0.0])  # lowest index wins


_WORLD, _PARAMS = worlds.make("Foraging-v0")
_STEP = jax.jit(_WORLD.step)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=60), st.integers(0, 2**16))
def test_body_invariants_under_any_actions(actions, seed):
    world, p, step = _WORLD, _PARAMS, _STEP
    key = jax.random.PRNGKey(seed)
    _, state = world.reset(key, p)
    walls = world.layout.walls
    for t, a in enumerate(actions):
        _, state, r, term, trunc, info = step(jax.random.fold_in(key, t), state,
                                              jnp.array([a]), p)
        e = float(state.energy[0])
        assert 0.0 <= e <= p.max_energy
        r_, c_ = (int(v) for v in state.pos[0])
        assert not walls[r_, c_]
        assert not (bool(term[0]) and bool(trunc[0]) and float(info["signals"].energy[0]) > 0)
        assert state.food.shape == (world.num_food_spots,)


# ---------------------------------------------------------------- Gymnasium face
def test_gymnasium_check_env_passes():
    env = gymnasium.make("affectlab/Foraging-v0")
    check_env(env.unwrapped)
    env = gymnasium.make("affectlab/ForagingAbundant-v0")
    check_env(env.unwrapped)


def test_gymnasium_types_and_rendering():
    env = gymnasium.make("affectlab/Foraging-v0", render_mode="ansi")
    obs, info = env.reset(seed=1)
    assert isinstance(obs, np.ndarray) and obs.dtype == np.float32
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert type(reward) is float and type(terminated) is bool and type(truncated) is bool
    assert isinstance(info["signals"]["energy"], float)
    text = env.render()
    assert "#" in text and "energy=" in text
    env = gymnasium.make("affectlab/Foraging-v0", render_mode="rgb_array")
    env.reset(seed=0)
    img = env.render()
    assert img.dtype == np.uint8 and img.shape == (9 * 16, 9 * 16, 3)


def test_gymnasium_rejects_bad_render_mode_and_actions():
    from worlds.gym_face import AffectlabGymEnv

    with pytest.raises(ValueError, match="render_mode"):
        AffectlabGymEnv("Foraging-v0", render_mode="rgb")
    env = gymnasium.make("affectlab/Foraging-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="not in"):
        env.step(7)


def test_signals_of_fills_the_rest_and_rejects_unknown_fields():
    from worlds.signals import Signals

    s = Signals.of(jnp.array([0.5, 0.2]), loss=jnp.array([1.0, 0.0]), starved=[False, True])
    np.testing.assert_allclose(s.energy_prev, [0.5, 0.2])
    np.testing.assert_array_equal(s.alive, [True, False])
    np.testing.assert_array_equal(s.hazard, [0.0, 0.0])
    assert s.missed.dtype == bool and s.loss.dtype == jnp.float32
    with pytest.raises(TypeError, match="no field"):
        Signals.of(0.5, fear=1.0)


def test_worlds_declare_their_measures():
    from worlds.measures import DEFAULT, HOMEOSTASIS, SUCCESS, SURVIVAL, Measure

    foraging, _ = worlds.make("Foraging-v0")
    assert SURVIVAL in foraging.measures and HOMEOSTASIS in foraging.measures
    assert SUCCESS not in foraging.measures  # no goal in Foraging
    detour, _ = worlds.make("Detour-v0")
    assert SUCCESS in detour.measures
    assert all(m in foraging.measures for m in DEFAULT)
    lake = worlds.from_gymnasium("FrozenLake-v1", lambda step: {}, measures=(*DEFAULT, SUCCESS))
    assert lake.measures == (*DEFAULT, SUCCESS)
    assert worlds.from_gymnasium("FrozenLake-v1", lambda step: {}).measures == DEFAULT
    with pytest.raises(TypeError, match="Measure"):
        worlds.from_gymnasium("FrozenLake-v1", lambda step: {}, measures=("survival",))
    assert Measure("x", "x").curve == ""
