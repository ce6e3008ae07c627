"""Evaluation under shifts, optimiser choice, and the robustness/sensitivity reports on
tiny runs."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from test_experiments import TINY_AGENT, tiny_spec

from experiments.runner import run_job
from experiments.spec import SpecError


def test_shifted_evaluation_runs_after_training():
    spec = tiny_spec(seeds=1, shifts={"abundance": {"world": "ForagingAbundant-v0"},
                                      "noise": {"obs_noise": 0.3},
                                      "same": {}})
    m = run_job(spec.validate(), [0])["metrics"]
    for name in ("abundance", "noise", "same"):
        assert m[f"shift/{name}/survival"].shape == (1, 2)
    # an unshifted "shift" is the base evaluation with another key: same policy, same
    # world, different draws; it must at least lie in range
    assert np.all((m["shift/same/survival"] >= 0) & (m["shift/same/survival"] <= 1))


@pytest.mark.parametrize("shifts, match", [
    ({"x": {"world": "Choice-v0"}}, "does not fit"),
    ({"x": {"world": "Nope-v0"}}, "unknown world id"),
    ({"x": {"obs_noise": -1}}, "obs_noise"),
    ({"x": {"world_params": {"food": 1}}}, "no parameter 'food'"),
    ({"x": {"colour": 1}}, "keys world, world_params, obs_noise"),
    ({"a b": {}}, "names must be letters"),
])
def test_bad_shifts_are_spec_errors(shifts, match):
    with pytest.raises(SpecError, match=match):
        tiny_spec(shifts=shifts).validate()


def test_optimisers_descend_and_bad_ones_fail():
    import jax
    import jax.numpy as jnp
    import optax

    from affect.policy import make_optimizer

    def loss(w):
        return jnp.sum((w - 3.0) ** 2)

    for opt in ("adam", "rmsprop", "sgd"):  # PPO's update uses exactly this optimiser
        tx = make_optimizer(dataclasses.replace(TINY_AGENT, optimizer=opt, learning_rate=0.05))
        w = jnp.zeros(4)
        state = tx.init(w)
        for _ in range(20):
            updates, state = tx.update(jax.grad(loss)(w), state, w)
            w = optax.apply_updates(w, updates)
        assert np.isfinite(loss(w)) and loss(w) < loss(jnp.zeros(4)), opt
    with pytest.raises(SpecError, match="optimizer"):
        tiny_spec(agent=dataclasses.replace(TINY_AGENT, optimizer="lion")).validate()


def test_robustness_report_on_tiny_runs(tmp_path):
    from experiments.runner import run_experiment
    from experiments.suites.robustness import report

    dirs = {}
    for label, shifts in (("foraging-w16", {"noise": {"obs_noise": 0.5}}),):
        spec = tiny_spec(name="r" + label.replace("-", ""), shifts=shifts,
                         agent=dataclasses.replace(TINY_AGENT, hidden=(16, 16)))
        dirs[label] = run_experiment(spec, tmp_path / label, workers=0, progress=False,
                                     figures=False)
    (tmp_path / "out").mkdir()
    report(tmp_path / "out", dirs)
    ret = pd.read_csv(tmp_path / "out" / "retention.csv")
    assert set(ret["shift"]) == {"noise"} and len(ret) == 8  # 2 seeds x 2 conds x 2 measures
    ok = ret["base"] > 0
    np.testing.assert_allclose(ret["retention"][ok], (ret["shifted"] / ret["base"])[ok])
    assert ret["retention"][~ok].isna().all()
    assert (tmp_path / "out" / "figure.png").stat().st_size > 0


def test_a_suite_reads_only_the_rows_it_needs_in_chunks(tmp_path):
    """A full member's results.csv holds tens of millions of rows: the reports read the
    metrics they use, chunk by chunk, and get the rows a whole read would give."""
    from experiments.analysis.tables import RESULT_COLUMNS, read_results

    rng = np.random.default_rng(0)
    n = 1000
    df = pd.DataFrame({"run": "r", "experiment": "e", "world": "w",
                       "condition": rng.choice(["intact", "hunger@0"], n), "onset": "o",
                       "seed": rng.integers(0, 4, n), "step": np.arange(n),
                       "metric": rng.choice(["charts/survival", "eval/survival", "x/y"], n),
                       "value": rng.normal(size=n)})
    df.loc[::7, "value"] = np.nan
    path = tmp_path / "results.csv"
    df.to_csv(path, index=False)
    whole = pd.read_csv(path)
    for keep in ({"charts/survival", "eval/survival"}, lambda m: m.startswith("eval/")):
        got = read_results(path, keep, chunk_rows=97)
        chosen = whole["metric"].map(keep if callable(keep) else keep.__contains__)
        want = whole.loc[chosen, RESULT_COLUMNS].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)
    assert list(read_results(path, {"nothing"})) == RESULT_COLUMNS


def test_figures_show_grid_values_and_floors(tmp_path, monkeypatch):
    """Sensitivity: log axes ticked at the grid's own values, no line joining the
    optimisers; robustness: the Detour panel shows success itself (a floor of 0 on the
    held-out layout stays visible where retention would be undefined or vanish)."""
    from experiments.suites import robustness, sensitivity

    figs = []
    monkeypatch.setattr(sensitivity, "save_figure", lambda fig, folder: figs.append(fig))
    monkeypatch.setattr(robustness, "save_figure", lambda fig, folder: figs.append(fig))
    rng = np.random.default_rng(0)
    rows = [{"condition": c, "seed": s, "metric": "charts/survival", "value": rng.uniform(),
             "setting": label, "factor": factor, "setting_value": str(value)}
            for label, factor, value, _ in sensitivity.settings(False)
            for c in ("intact", "hunger-lesion") for s in range(4)]
    sensitivity.draw_figure(pd.DataFrame(rows), tmp_path)
    lr, opt = figs[0].axes[0], figs[0].axes[3]
    ticks = sorted(float(t.get_text()) for t in lr.get_xticklabels())
    assert ticks == sorted({1e-3, 1e-2, 1e-1, 1.0, 10.0, sensitivity.DEFAULT_LR})
    assert lr.get_xscale() == "log" and not lr.xaxis.get_minorticklocs().size
    points = [ln for ln in opt.lines if len(ln.get_xdata()) > 2]  # not the intervals
    assert points and all(ln.get_linestyle() == "None" for ln in points)
    rows = [{"member": "detour", "width": np.nan, "shift": "held-out-layout",
             "measure": "success", "condition": c, "seed": s, "base": b, "shifted": 0.0,
             "retention": 0.0 if b else np.nan}
            for c, p in (("intact", 1.0), ("frustration-lesion", 0.5)) for s in range(8)
            for b in [float(s < 8 * p)]]
    rows += [dict(r, member="foraging-w64", measure="survival", shift="noise", base=0.5,
                  shifted=0.4, retention=0.8, width=64) for r in rows[:1]]
    robustness.draw_figure(pd.DataFrame(rows), tmp_path)
    detour = figs[1].axes[2]
    heights = sorted(round(p.get_height(), 6) for p in detour.patches if p.get_height() > 0)
    assert heights == [0.5, 1.0]  # training layout; the held-out bars are at 0


def test_affectlab_figures_rewrites_a_suites_report(tmp_path, capsys):
    """``affectlab figures`` on a finished suite's folder redraws its report from its
    members, also after the folder has moved; a suite's report takes no measures."""
    from test_archive import _finished, _member_results

    from experiments.catalogue import catalogue_item
    from experiments.cli import main
    from experiments.suites import run_suite

    rng = np.random.default_rng(2)
    matrix = catalogue_item("lesion-matrix", quick=True)
    out = tmp_path / "a" / matrix.name
    for task, spec in matrix.members:
        _finished(out / task, spec, _member_results(task, spec, rng))
    run_suite(matrix, out, progress=False)
    claims = pd.read_csv(out / "claims.csv")
    (tmp_path / "a").rename(tmp_path / "b")  # the manifest's member folders are gone
    out = tmp_path / "b" / matrix.name
    for name in ("figure.png", "claims.csv", "statistics.csv"):
        (out / name).unlink()
    assert main(["figures", str(out)]) == 0
    assert str(out / "figure.png") in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_csv(out / "claims.csv"), claims)
    assert (out / "statistics.csv").is_file()
    assert main(["figures", str(out), "--measures", "x"]) == 2
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps(dict(manifest, suite="no-such-suite")))
    assert main(["figures", str(out)]) == 2
    assert "does not have" in capsys.readouterr().err


def test_a_rewritten_suite_report_finds_members_that_moved_with_it(tmp_path):
    """Members are read from the suite's own folder, then where its manifest says, then
    from a catalogued run next to the suite; none of these is a clear error."""
    from experiments.suites.base import Suite, rewrite_report

    seen = {}
    own, reused = tiny_spec(name="own"), tiny_spec(name="catalogued")
    suite = Suite("s", (("a", own), ("b", reused)),
                  lambda out, dirs: seen.update(dirs))
    out = tmp_path / "s"
    (out / "a").mkdir(parents=True)
    (tmp_path / "catalogued").mkdir()
    (out / "manifest.json").write_text(json.dumps(
        {"suite": "s", "member_dirs": {"a": "gone/a", "b": "gone/catalogued"}}))
    rewrite_report(suite, out)
    assert seen == {"a": out / "a", "b": tmp_path / "catalogued"}
    (tmp_path / "catalogued").rmdir()
    with pytest.raises(FileNotFoundError, match="member 'b' is in none of"):
        rewrite_report(suite, out)
