"""Choice-RT fitting: the drift-diffusion density, the agent's race computed exactly
for two options, the data layout, recovery, and the command."""

from __future__ import annotations

import io
import tarfile

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from affect.deliberation import DeliberationParams, deliberate
from experiments.cli import main
from experiments.fit.data import DataError
from experiments.fit.recovery import recover, simulate
from experiments.fit.rt import (
    DDM,
    RACE,
    RT_EXAMPLES,
    race_tick_probs,
    read_rt_example,
    rt_sessions_from_frame,
    wiener_lower_logpdf,
)

QUIET = open("/dev/null", "w")  # noqa: SIM115


@pytest.mark.parametrize("v, a", [(0.8, 1.5), (-0.3, 2.5), (2.0, 0.8)])
def test_wiener_density_integrates_to_the_choice_probability(v, a):
    """Each boundary's density integrates to its known hitting probability
    (start in the middle: P(lower) = 1 / (1 + exp(v a)))."""
    def mass(drift):
        return integrate.quad(lambda t: float(np.exp(wiener_lower_logpdf(
            jnp.float32(t), drift, a))), 1e-4, 40, limit=200)[0]

    lower = mass(v)
    assert lower == pytest.approx(1 / (1 + np.exp(v * a)), abs=2e-4)
    assert lower + mass(-v) == pytest.approx(1.0, abs=2e-4)


@pytest.mark.parametrize("delta, urgency", [(0.2, 0.3), (0.5, 0.0), (0.3, 1.0)])
def test_race_probabilities_match_the_simulated_race(delta, urgency):
    """The grid gives the choice and the mean number of ticks of
    affect.deliberation.deliberate (20,000 simulated decisions)."""
    dp = DeliberationParams()
    p = np.asarray(race_tick_probs(jnp.float32(delta), jnp.float32(urgency), dp, 60))
    assert p.sum() == pytest.approx(1.0, abs=1e-5)
    keys = jax.random.split(jax.random.PRNGKey(0), 20000)
    prefs = jnp.array([delta / 2, -delta / 2])
    d = jax.vmap(lambda k: deliberate(k, prefs, jnp.ones(2, bool), jnp.zeros(2),
                                      jnp.float32(urgency), dp, 60))(keys)
    first = float((np.asarray(d.action) == 0).mean())
    assert p[0].sum() == pytest.approx(first, abs=0.01)
    ticks = (p.sum(0) * np.arange(1, 61)).sum()
    assert ticks == pytest.approx(float(np.asarray(d.ticks).mean()), rel=0.02)


def test_race_probabilities_are_smooth_in_urgency():
    """The collapsing bound moves the result continuously (a fit can follow it)."""
    dp = DeliberationParams()
    g = jax.grad(lambda u: (race_tick_probs(0.2, u, dp, 60)[0] * jnp.arange(60)).sum())
    assert abs(float(g(jnp.float32(0.3)))) > 0.1


def _frame(n=2, t=6):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"subjID": np.repeat([f"p{i}" for i in range(n)], t),
                         "trial": np.tile(np.arange(1, t + 1), n),
                         "choice": rng.integers(1, 3, n * t), "rt": rng.uniform(0.4, 2, n * t),
                         "value1": rng.integers(0, 4, n * t), "value2": rng.integers(0, 4, n * t)})


@pytest.mark.parametrize("change, message", [
    (lambda d: d.drop(columns="rt"), "missing column"),
    (lambda d: d.assign(choice=3), "choice must be 1 or 2"),
    (lambda d: d.assign(rt=-1.0), "rt must be a positive"),
    (lambda d: d.assign(trial=1), "trials must run"),
])
def test_bad_rt_data_say_where(change, message):
    with pytest.raises(DataError, match=message):
        rt_sessions_from_frame(change(_frame()))


def test_addm_example_is_converted(tmp_path):
    """The aDDM toolbox's layout (ms, -1/1 choices, orientation offsets) becomes seconds,
    choices 1/2 and values 0..3, read from a stand-in archive."""
    _, archive, member = RT_EXAMPLES["addm"]
    (tmp_path / "examples").mkdir()
    text = ("parcode,trial,rt,choice,item_left,item_right,valid\n"
            "0,0,1500,-1,15,0,\n0,1,800,1,-10,5,\n")
    with tarfile.open(tmp_path / "examples" / archive, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text.encode()))
    s = read_rt_example("addm", cache=tmp_path)
    assert s.choice[0].tolist() == [0, 1]
    np.testing.assert_allclose(s.rt[0], [1.5, 0.8])
    np.testing.assert_allclose(s.value[0], [[0, 3], [1, 2]])


def test_ddm_parameters_recover():
    _, summary = recover(DDM, 16, 200, seed=3, log=QUIET, restarts=2, steps=25)
    r = dict(zip(summary["parameter"], summary["r"], strict=True))
    assert r["a"] > 0.9 and r["t0"] > 0.9 and r["d"] > 0.6, summary


def test_fit_command_on_choice_rt(tmp_path):
    sessions, _ = simulate(RACE, 4, 80, seed=2)
    levels = sessions.levels[sessions.level]
    rows = [{"subjID": sid, "trial": t + 1, "choice": int(sessions.choice[i, t]) + 1,
             "rt": float(sessions.rt[i, t]), "value1": float(max(levels[i, t], 0)),
             "value2": float(max(-levels[i, t], 0))}
            for i, sid in enumerate(sessions.subjects) for t in range(80)]
    data = tmp_path / "rt.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    out = tmp_path / "fit"
    assert main(["fit", "choice-rt", str(data), "--model", "race,ddm", "--out", str(out),
                 "--steps", "6", "--starts", "1"]) == 0
    fits = pd.read_csv(out / "fits.csv")
    assert set(fits["model"]) == {"race", "ddm"} and np.isfinite(fits["loglik"]).all()
    pred = pd.read_csv(out / "predictive.csv")
    assert set(pred["source"]) == {"people", "race", "ddm"}
    shares = pred[pred["measure"] == "p_first"]["value"]
    assert shares.between(0, 1).all() and (out / "predictive.png").exists()
    assert main(["fit", "choice-rt", str(data), "--model", "agent", "--out",
                 str(tmp_path / "x")]) == 2


def test_ddm_predictions_are_the_densitys_moments():
    """The chronometric prediction (choice share, mean decision time) is the first passage
    density's own: integrated numerically."""
    from experiments.fit.rt import _predict

    theta = {"d": 0.4, "a": 2.0, "t0": 0.3}
    p_first, mean_rt = _predict(DDM, theta, 1.5)
    v, a = 0.4 * 1.5, 2.0

    def moment(power, drift):
        return integrate.quad(lambda t: t**power * float(np.exp(wiener_lower_logpdf(
            jnp.float32(t), drift, a))), 1e-4, 60, limit=300)[0]

    assert p_first == pytest.approx(moment(0, -v), abs=1e-3)
    assert mean_rt - 0.3 == pytest.approx(moment(1, -v) + moment(1, v), rel=1e-3)
