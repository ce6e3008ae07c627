"""The Iowa Gambling Task: the schedule card by card, the world, the somatic marker, the
measures on hand-made sessions, and the ``gambling`` experiment end to end."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import worlds
from affect import LearningSignals, Lesion
from affect.frustration import FrustrationParams
from affect.frustration import step as frustration_step
from experiments.tasks.gambling import (
    anticipatory_markers,
    deck_proportions,
    knowing_doing,
    net_scores,
    session_measures,
)
from worlds.signals import Signals

# Bechara et al. (1994), Fig. 1, written as {card number (1-based): loss in dollars}, an
# independent transcription of the table in worlds/iowa.py.
LOSS_CARDS = {
    "A": {3: 150, 5: 300, 7: 200, 9: 250, 10: 350, 12: 350, 14: 250, 15: 200, 17: 300,
          18: 150, 22: 300, 24: 350, 26: 200, 27: 250, 28: 150, 31: 350, 32: 200, 33: 250,
          37: 150, 38: 300},
    "B": {9: 1250, 14: 1250, 21: 1250, 32: 1250},
    "C": {3: 50, 5: 50, 7: 50, 9: 50, 10: 50, 12: 25, 13: 75, 17: 25, 18: 75, 20: 50,
          24: 50, 25: 25, 26: 50, 29: 75, 30: 50, 34: 25, 35: 25, 37: 75, 39: 50, 40: 75},
    "D": {10: 250, 20: 250, 29: 250, 35: 250},
}
GAIN = {"A": 100, "B": 100, "C": 50, "D": 50}


def draw_deck(world, params, deck: int, n: int):
    """Draw ``n`` cards from one deck through the world; return per-card info."""
    _, state = world.reset(jax.random.PRNGKey(0), params)
    step = jax.jit(world.step_env)
    rows = []
    for t in range(n):
        _, state, reward, term, trunc, info = step(
            jax.random.PRNGKey(t), state, jnp.array([deck]), params
        )
        rows.append({k: np.asarray(v)[0] for k, v in info.items()} | {"reward": float(reward[0])})
    return rows, state


# ------------------------------------------------------------ the schedule
@pytest.mark.parametrize("deck", range(4))
def test_schedule_card_by_card(deck):
    world, p = worlds.make("IowaGambling-v0")
    p = p.replace(time_limit=1000)  # no truncation while one deck is drawn dry
    name = "ABCD"[deck]
    rows, state = draw_deck(world, p, deck, 40)
    for i, row in enumerate(rows, start=1):
        want_loss = LOSS_CARDS[name].get(i, 0)
        assert int(row["gain"]) == GAIN[name], (name, i)
        assert int(row["loss"]) == want_loss, (name, i)
        assert int(row["card"]) == i - 1 and int(row["deck"]) == deck
        np.testing.assert_allclose(row["reward"], 0.01 * (GAIN[name] - want_loss), rtol=1e-6)
        assert bool(row["good"]) == (name in "CD")
    nets = np.array([int(r["net"]) for r in rows]).reshape(4, 10).sum(1)
    want = -250 if name in "AB" else 250
    np.testing.assert_array_equal(nets, [want] * 4)  # every block of 10 cards
    n_losses = [sum(int(r["loss"]) > 0 for r in rows[i : i + 10]) for i in range(0, 40, 10)]
    assert n_losses == [5 if name in "AC" else 1] * 4
    # the 41st draw starts the sequence again; the deck stays on offer
    assert bool(world.action_mask(state)[0, deck])
    again, _ = draw_deck(world, p, deck, 50)
    assert [int(r["loss"]) for r in again[40:]] == [int(r["loss"]) for r in rows[:10]]
    assert int(again[40]["card"]) == 0
    _, _, r, *_, info = world.step_env(jax.random.PRNGKey(99), state, jnp.array([7]), p)
    assert float(r[0]) == 0.0 and int(info["deck"][0]) == -1  # no such deck: a miss


def test_losses_are_reported_apart_and_the_session_ends_after_100_trials():
    world, p = worlds.make("IowaGambling-v0")
    _, state = world.reset(jax.random.PRNGKey(0), p)
    truncs = []
    for t in range(100):
        _, state, _, term, trunc, info = world.step_env(
            jax.random.PRNGKey(t), state, jnp.array([1]), p
        )
        truncs.append(bool(trunc[0]))
        assert not bool(term[0])
        if t == 8:  # B's ninth card: +100 and -1250, the loss also as a signal
            assert int(info["gain"][0]) == 100 and int(info["loss"][0]) == 1250
            np.testing.assert_allclose(state.signals.loss[0], 12.5)
    assert truncs == [False] * 99 + [True]
    assert float(state.signals.energy[0]) == 1.0  # a sated participant


def test_iowa_gymnasium_face_passes_check_env():
    import gymnasium

    env = gymnasium.make("affectlab/IowaGambling-v0")
    check_env(env.unwrapped)
    assert env.action_space.n == 4


def test_iowa_rejects_bad_agent_counts():
    from worlds.iowa import IowaGambling

    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="num_agents"):
            IowaGambling(num_agents=bad)


# ------------------------------------------------------------ frustration on losses
def _loss_signals(loss):
    return Signals.of(jnp.float32(1.0), loss=loss)


def test_frustration_on_a_hand_made_sequence_of_losses():
    p = FrustrationParams()
    learn = LearningSignals(reward=jnp.float32(0), td_error=jnp.float32(0))
    f = jnp.float32(0.0)
    want_f = 0.0
    for loss in (0.0, 1.5, 0.0, 12.5, 0.25, 0.0):
        f, out = frustration_step(p, f, _loss_signals(loss), learn)
        stall = min(loss, 1.0)  # the mood saturates
        want_f = 0.8 * want_f + 0.2 * stall
        np.testing.assert_allclose(f, want_f, rtol=1e-5)
        np.testing.assert_allclose(out.reward, -loss, rtol=1e-6)  # felt in proportion
        np.testing.assert_allclose(out.urgency, min(0.3 + want_f, 1.0), rtol=1e-5)


# ------------------------------------------------------------ online sessions
@pytest.fixture(scope="module")
def igt_sessions(online_agent):
    from affect.lesion import stack_lesions
    from affect.networks import init_params
    from affect.online import make_session
    from affect.ppo import input_dim

    world, p, static, _ = online_agent("IowaGambling-v0", 100)
    names = static.module.channel_names
    lesions = [
        Lesion("intact"),
        Lesion("frustration", {"frustration": 0.0}),
        Lesion("vmpfc", {c: {"marker": 0.0} for c in names}),
    ]
    session = jax.jit(jax.vmap(
        make_session(static, p, static.module.default_params()), (0, 0, None)))
    seeds = range(6)
    keys = jnp.stack([jax.random.PRNGKey(100 + s) for s in seeds])
    nets = [init_params(static.network, jax.random.PRNGKey(s), input_dim(static)) for s in seeds]
    nets = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *nets)
    out = {}
    for lesion in lesions:
        data = stack_lesions([lesion], names)
        one = jax.tree_util.tree_map(lambda x: x[0], data)
        out[lesion.name] = {k: np.asarray(v) for k, v in session(keys, nets, one).items()}
    return out


def test_the_marker_tags_the_deck_that_hurt(igt_sessions):
    logs = igt_sessions["intact"]
    deck, loss, marker = logs["deck"], logs["loss"], logs["marker_chosen"]
    for s in range(deck.shape[0]):
        for t in np.flatnonzero(loss[s] > 0)[:5]:
            later = np.flatnonzero(deck[s, t + 1:] == deck[s, t])
            if later.size:  # the next choice of that deck carries an aversive marker
                assert marker[s, t + 1 + later[0]] < 0


def test_lesions_remove_the_marker_exactly(igt_sessions):
    for name in ("frustration", "vmpfc"):
        logs = igt_sessions[name]
        assert np.all(logs["marker_chosen"] == 0.0) and np.all(logs["bias_spread"] == 0.0)
    assert np.any(igt_sessions["intact"]["marker_chosen"] != 0.0)


# ------------------------------------------------------------ measures, by hand
def test_block_measures_by_hand():
    deck = np.array([[0, 1, 2, 3, 2, 2, -1, 3]])  # two blocks of 4
    np.testing.assert_allclose(
        deck_proportions(deck, block=4), [[[0.25, 0.25, 0.25, 0.25], [0, 0, 0.5, 0.25]]]
    )
    np.testing.assert_allclose(net_scores(deck, block=4), [[0.0, 3.0]])
    marker = -np.array([[1.0, 3.0, 0.5, 0.5, 2.0, 4.0, 9.0, 0.0]])
    bad, good = anticipatory_markers(deck, marker, block=4)
    np.testing.assert_allclose(bad, [[2.0, np.nan]])
    np.testing.assert_allclose(good, [[0.5, 2.0]])
    with pytest.raises(ValueError, match="blocks"):
        net_scores(np.zeros((1, 7), int), block=4)


def test_a_session_of_one_block_gives_every_measure_per_run():
    """A length that is no multiple of 20 trials is one block: the marker gap (blocks 2
    on) is NaN for each run, not one scalar (which failed writing a finished run)."""
    rng = np.random.default_rng(0)
    logs = {"deck": rng.integers(0, 4, (3, 2, 30)), "marker_chosen": rng.normal(size=(3, 2, 30)),
            "net": rng.normal(size=(3, 2, 30)), "q": rng.normal(size=(3, 2, 30, 4))}
    scalars, curves = session_measures(logs, block=30)
    assert all(np.shape(v) == (3, 2) for v in scalars.values()), {
        k: np.shape(v) for k, v in scalars.items()}
    assert np.isnan(scalars["test/marker_gap"]).all()
    assert all(np.shape(v)[:2] == (3, 2) for v in curves.values())


def test_a_measure_not_per_run_stops_the_job_with_its_name(monkeypatch):
    from experiments.runner import jobs
    from experiments.tasks import gambling

    spec = dataclasses.replace(gambling.spec(True), seeds=2,
                               conditions=gambling.spec(True).conditions[:2])

    def scalar_gap(spec, world, world_params, logs):
        metrics, steps = gambling.analyse(spec, world, world_params, logs)
        return {**metrics, "test/marker_gap": np.nan}, steps

    monkeypatch.setattr(jobs, "session_analysis", lambda spec: scalar_gap)
    with pytest.raises(ValueError, match=r"test/marker_gap.*\(\)"):
        jobs.run_job(spec, [0, 1])


def test_knowing_doing_by_hand():
    q = np.zeros((2, 3, 4))
    q[0, -1] = [0.0, 0.1, 1.0, 2.0]  # ranks both good decks above both bad ones
    q[1, -1] = [3.0, 0.1, 1.0, 2.0]  # deck A looks best: 2 of 4 pairs right
    deck = np.array([[0, 2, 3, 3], [0, 0, 1, 2]])
    out = knowing_doing(deck, q, last=4)
    np.testing.assert_allclose(out["knowing"], [1.0, 0.5])
    np.testing.assert_allclose(out["doing"], [0.75, 0.25])
    np.testing.assert_allclose(out["knowing_minus_doing"], [0.25, 0.25])


# ------------------------------------------------------------ experiment, end to end
def test_gambling_experiment_writes_statistics_claims_and_figure(tmp_path):
    import pandas as pd

    from experiments.runner import run_experiment
    from experiments.tasks import gambling

    spec = gambling.spec(True)
    keep = ("intact", "full-lesion", "vmpfc-lesion", "vmpfc-lesion-acquired")
    spec = dataclasses.replace(
        spec, seeds=4, conditions=tuple(c for c in spec.conditions if c.name in keep)
    )
    out = run_experiment(spec, tmp_path / "g", workers=0, progress=False)
    for name in ["results.csv", "manifest.json", "figure.png", "figure.pdf",
                 "statistics.csv", "claims.csv", "knowing_doing.txt"]:
        assert (out / name).is_file(), name
    df = pd.read_csv(out / "results.csv")
    net = df[df["metric"] == "curve/net_score"]
    assert sorted(net["step"].unique()) == [20, 40, 60, 80, 100]
    from experiments.analysis.claims import load_claims

    claims = pd.read_csv(out / "claims.csv")
    registered = [c.id for c in load_claims() if c.experiment == "gambling" and c.condition in keep]
    assert list(claims["id"]) == registered and claims["passed"].dtype == bool


def test_gambling_claims_that_must_fail_do_fail():
    import pandas as pd

    from experiments.analysis.claims import check_experiment
    from experiments.tasks.gambling import claim_table

    rows = []
    for cond in ("intact", "full-lesion"):  # identical, flat, marker-free groups
        for seed in range(8):
            for metric, v in [("test/net_score_late", -1.0 + 0.1 * seed),
                              ("test/net_score_gain", 0.1 * seed - 0.35),
                              ("test/marker_gap", 0.0)]:
                rows.append({"condition": cond, "seed": seed, "step": 100, "metric": metric,
                             "value": v})
            for step in (20, 40, 60, 80, 100):
                for metric in ("curve/net_score", "curve/marker_bad", "curve/marker_good"):
                    rows.append({"condition": cond, "seed": seed, "step": step,
                                 "metric": metric, "value": 0.0})
    claims = check_experiment(claim_table(pd.DataFrame(rows))[0], "gambling")
    passed = dict(zip(claims["id"], claims["passed"], strict=True))
    # intact: no rise, not above 0, no marker in any block; lesion: <= 0 (passes), not
    # below intact (fails), no marker (passes)
    assert {k for k, v in passed.items() if v} == {
        "gambling-full-below-zero", "gambling-full-no-marker", "gambling-full-no-marker-ci"}
    assert {"gambling-intact-marker-block2", "gambling-intact-marker-block5",
            "gambling-intact-learns", "gambling-full-below-intact"} <= set(passed)
