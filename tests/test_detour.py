"""Detour-v0 step by step on its map, the loop measures, and the loops report."""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from gymnasium.utils.env_checker import check_env

import worlds
from worlds.detour import Detour

UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3


@pytest.fixture(scope="module")
def detour():
    world, params = worlds.make("Detour-v0")
    step = jax.jit(world.step)
    return world, params, step


def run(detour, actions):
    world, params, step = detour
    _, state = world.reset(jax.random.PRNGKey(0), params)
    out = []
    for a in actions:
        obs, state, reward, term, trunc, info = step(jax.random.PRNGKey(1), state,
                                                     jnp.array([a]), params)
        out.append((state, float(reward[0]), bool(term[0]), info))
    return out


def test_map_start_and_observation(detour):
    world, params, _ = detour
    obs, state = world.reset(jax.random.PRNGKey(0), params)
    assert obs.shape == (1, 49)
    assert tuple(np.asarray(state.pos[0])) == (5, 5)
    o = np.asarray(obs[0])
    assert list(o[-4:-2]) == [-1.0, 0.0]  # the goal is straight up
    walls = o[:45].reshape(3, 3, 5)[..., 0]
    assert walls[0].tolist() == [1.0, 0.0, 1.0]  # the pocket opens above the start


def test_deceptive_gradient_levers_and_goal(detour):
    p = detour[1]
    # into the pocket: distance 4 -> 3 -> 2, the gradient pays
    steps = run(detour, [UP, UP])
    assert [r for _, r, _, _ in steps] == pytest.approx([p.gradient_scale] * 2)
    # left onto lever L (distance 2 -> 3), fixing it pays; back right, then lever R
    steps = run(detour, [UP, UP, LEFT, RIGHT, RIGHT])
    rewards = [r for _, r, _, _ in steps]
    assert rewards[2] == pytest.approx(-p.gradient_scale + p.lever_reward)
    assert rewards[3] == pytest.approx(p.gradient_scale)
    assert rewards[4] == pytest.approx(-p.gradient_scale + p.lever_reward)
    assert int(steps[2][0].lever) == 1 and int(steps[4][0].lever) == 2  # R broke L
    # the detour: left 4, up 4, right 4 reaches the goal and terminates
    path = [LEFT] * 4 + [UP] * 4 + [RIGHT] * 4
    steps = run(detour, path)
    assert [t for _, _, t, _ in steps] == [False] * 11 + [True]
    assert bool(steps[-1][3]["success"])
    total = sum(r for _, r, _, _ in steps)  # the gradient telescopes: 4 * scale, + goal
    assert total == pytest.approx(4 * p.gradient_scale + p.goal_reward)


def test_repeats_and_loop_measures(detour):
    p = detour[1]
    steps = run(detour, [UP, UP] + [LEFT, RIGHT] * 8)
    missed = [bool(s.signals.missed[0]) for s, _, _, _ in steps]
    assert missed[:3] == [False, False, False]  # new cells
    assert all(missed[3:])  # back and forth: every step returns to a recent cell
    runs = [int(s.run) for s, _, _, _ in steps]
    assert runs[3:6] == [1, 2, 3]
    looped = [bool(s.looped) for s, _, _, _ in steps]
    assert looped.index(True) == 3 + p.loop_steps - 1
    # bumping into a wall is a repeat too
    steps = run(detour, [DOWN])
    assert bool(steps[0][0].signals.missed[0])


def test_episode_measures_reach_the_training_metrics(detour):
    world, params, _ = detour
    extra = world.step_extra({"done": jnp.array([[True], [True], [False]])[:, 0],
                              "success": jnp.array([True, False, False]),
                              "looped": jnp.array([False, True, True]),
                              "caught": jnp.array([0, 40, 12]),
                              "escaped": jnp.array([False, False, False])})
    stacked = {k: v[None] for k, v in extra.items()}  # (T=1, W=3)
    m = world.summarize_rollout(stacked)
    assert float(m["detour/loop_rate"]) == pytest.approx(0.5)  # of the 2 ended episodes
    assert float(m["detour/success"]) == pytest.approx(0.5)
    assert float(m["detour/caught_steps"]) == pytest.approx(20.0)


def test_bad_maps_and_params():
    with pytest.raises(ValueError, match="exactly one 'G'"):
        Detour("#####\n#S.L#\n#R..#\n#####")
    world, params = worlds.make("Detour-v0")
    with pytest.raises(ValueError, match="cycle_window"):
        world.check_params(params.replace(cycle_window=20))


def test_gymnasium_face_passes_check_env():
    import gymnasium

    env = gymnasium.make("affectlab/Detour-v0")
    check_env(env.unwrapped)
    assert env.action_space.n == 4


def test_loops_claims_that_must_fail_do_fail():
    from experiments.analysis.claims import check_experiment

    def loop_claim(rows):
        claims = check_experiment(pd.DataFrame(rows), "loops")
        return bool(claims.set_index("id").loc["loops-frustration", "passed"])

    assert not loop_claim([{"condition": c, "seed": s, "metric": "late/detour/loop_rate",
                            "value": v} for c in ("intact", "frustration-lesion")
                           for s, v in enumerate([0.0, 0.5] * 4)])
    assert loop_claim([{"condition": c, "seed": s, "metric": "late/detour/loop_rate",
                        "value": 0.0 if c == "intact" else 1.0}
                       for c in ("intact", "frustration-lesion") for s in range(8)])



def test_loops_experiment_writes_its_outputs(tmp_path):
    import dataclasses

    from experiments.runner import run_experiment
    from experiments.tasks import loops

    spec = dataclasses.replace(loops.spec(True), seeds=2, total_steps=8192)
    out = run_experiment(spec, tmp_path / "l", workers=0, progress=False)
    for name in ["figure.png", "statistics.csv", "claims.csv", "results.csv"]:
        assert (out / name).is_file()
    stats = pd.read_csv(out / "statistics.csv")
    assert "late/detour/loop_rate" in set(stats["metric"])
