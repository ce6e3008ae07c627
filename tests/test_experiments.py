"""Specs, runner, results, figure and CLI on tiny experiments."""

import dataclasses
import json
import subprocess
import sys

import jax
import numpy as np
import pandas as pd
import pytest

from affect import Lesion
from affect.ppo import AgentConfig
from experiments.analysis.stats import bootstrap_ci
from experiments.cli import main
from experiments.runner import RunnerError, run_experiment, run_job
from experiments.runner import pool as runner_mod  # where jobs are run
from experiments.spec import ExperimentSpec, SpecError

TINY_AGENT = AgentConfig(num_envs=8, num_steps=16, eval_envs=4)


def tiny_spec(**kw):
    base = dict(
        name="tiny",
        world="Foraging-v0",
        conditions=(Lesion("intact"), Lesion("hunger-lesion", {"hunger": 0.0})),
        seeds=2,
        total_steps=8 * 16 * 3,
        agent=TINY_AGENT,
        world_params={"time_limit": 20},
    )
    base.update(kw)
    return ExperimentSpec(**base)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"world": "Foragin-v0"}, "spec.world.*Did you mean 'Foraging-v0'"),
        ({"conditions": (Lesion("x", {"hungre": 0.0}),)}, r"conditions\[0\].*unknown channel"),
        ({"conditions": (Lesion("x", {"hunger": 2.0}),)}, r"conditions\[0\].*\[0, 1\]"),
        ({"conditions": (Lesion("x", onset="later"),)}, r"conditions\[0\].*unknown onset"),
        ({"conditions": ()}, "at least one"),
        ({"conditions": (Lesion("a"), Lesion("a"))}, "unique"),
        ({"seeds": 0}, "spec.seeds must be a positive int"),
        ({"seeds": -3}, "spec.seeds"),
        ({"total_steps": 0}, "spec.total_steps"),
        ({"total_steps": 2.5}, "spec.total_steps"),
        ({"world_params": {"food": 1.0}}, "no parameter 'food'"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"agent": dataclasses.replace(TINY_AGENT, affect_channels=("fear",))}, "unknown affect"),
    ],
)
def test_bad_specs_fail_before_anything_is_written(tmp_path, change, match):
    spec = tiny_spec(**change)
    with pytest.raises(SpecError, match=match):
        run_experiment(spec, tmp_path / "out", workers=0)
    assert list(tmp_path.iterdir()) == []


def test_out_dir_that_is_a_file(tmp_path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(SpecError, match="out_dir.*is a file"):
        run_experiment(tiny_spec(), tmp_path / "out", workers=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failed_job_leaves_nothing_behind(tmp_path, monkeypatch):
    def boom(spec, seeds):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(runner_mod, "run_job", boom)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_experiment(tiny_spec(), tmp_path / "out", workers=0, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_job_timeout_kills_the_worker_and_cleans_up(tmp_path):
    spec = tiny_spec(timeout_s=0.5)
    with pytest.raises(RunnerError, match="timeout"):
        run_experiment(spec, tmp_path / "out", workers=1, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    run_experiment(tiny_spec(), out, workers=0, progress=False)
    return out


def test_results_are_tidy_with_manifest_and_figure(tiny_results):
    df = pd.read_csv(tiny_results / "results.csv")
    assert list(df.columns) == ["run", "experiment", "world", "condition", "onset", "seed",
                                "step", "metric", "value"]
    assert set(df["condition"]) == {"intact", "hunger-lesion"}
    assert set(df["seed"]) == {0, 1}
    # one row per seed x condition x step x metric
    assert not df.duplicated(["seed", "condition", "step", "metric"]).any()
    per_update = df[df["metric"] == "charts/survival"]
    assert sorted(per_update["step"].unique()) == [128, 256, 384]
    assert len(df[df["metric"] == "eval/survival"]) == 4
    assert df["run"].str.startswith("Foraging-v0__tiny__").all()
    manifest = json.loads((tiny_results / "manifest.json").read_text())
    for key in ("spec", "versions", "git", "seeds", "timings", "device"):
        assert key in manifest
    assert manifest["spec"]["conditions"][1]["gains"] == {"hunger": 0.0}
    assert manifest["versions"]["jax"]
    for name in ("figure.png", "figure.pdf", "summary.csv"):
        assert (tiny_results / name).stat().st_size > 0
    assert (tiny_results / "jobs").is_dir()


def test_lesion_removes_felt_reward_in_results(tiny_results):
    df = pd.read_csv(tiny_results / "results.csv")
    felt = df[df["metric"] == "affect/felt_reward"].groupby("condition")["value"]
    assert felt.apply(lambda v: np.abs(v).sum())["hunger-lesion"] == 0.0
    assert felt.apply(lambda v: np.abs(v).sum())["intact"] > 0.0


def test_worker_processes_give_the_same_numbers(tmp_path, tiny_results):
    out = run_experiment(tiny_spec(), tmp_path / "w", workers=2, progress=False, figures=False)
    a = pd.read_csv(tiny_results / "results.csv").drop(columns="run")
    b = pd.read_csv(out / "results.csv").drop(columns="run")
    pd.testing.assert_frame_equal(a, b)
    with np.load(tiny_results / "agents.npz") as za, np.load(out / "agents.npz") as zb:
        assert za.files == zb.files
        for k in za.files:
            np.testing.assert_array_equal(za[k], zb[k])


def test_a_seeds_numbers_do_not_depend_on_its_job():
    """On a CPU a seed trains alone in its compiled call: vmapped with other seeds (a
    batch of another size), its numbers differed in the last bits (1e-7 here), which PPO
    amplifies over a long run."""
    spec = tiny_spec(seeds=3).validate()
    alone, among = run_job(spec, [1]), run_job(spec, [0, 1, 2])
    assert among["seeds_per_call"] == alone["seeds_per_call"] == 1
    for part in ("metrics", "agents"):
        assert alone[part].keys() == among[part].keys()
        for k, v in alone[part].items():
            np.testing.assert_array_equal(v[0], among[part][k][1], err_msg=f"{part} {k}")


def test_kept_workers_serve_consecutive_experiments(tmp_path, tiny_results):
    from experiments.runner import keep_workers, pool

    with keep_workers():
        run_experiment(tiny_spec(), tmp_path / "a", workers=2, progress=False, figures=False)
        procs = [p for p, _ in pool._KEPT.values()]
        assert len(procs) == 2 and all(p.is_alive() for p in procs)
        out = run_experiment(tiny_spec(name="tiny-again"), tmp_path / "b", workers=2,
                             progress=False, figures=False)
        assert [p for p, _ in pool._KEPT.values()] == procs  # the same processes
    for p in procs:
        p.join(timeout=10)
    assert not any(p.is_alive() for p in procs)
    a = pd.read_csv(tiny_results / "results.csv").drop(columns=["run", "experiment"])
    b = pd.read_csv(out / "results.csv").drop(columns=["run", "experiment"])
    pd.testing.assert_frame_equal(a, b)


def test_saved_agents_are_the_jobs_final_parameters(tiny_results):
    from experiments.agents import flatten_params, load_agents

    agents = load_agents(tiny_results)
    assert agents.seeds == (0, 1) and agents.conditions == ("intact", "hunger-lesion")
    job = run_job(tiny_spec().validate(), [0, 1])  # the same training, the same end
    flat = flatten_params(agents.params)
    assert flat.keys() == job["agents"].keys()
    for name, leaf in flat.items():
        assert leaf.shape[:2] == (2, 2)
        np.testing.assert_array_equal(leaf, job["agents"][name])
    # training moved the parameters, differently per condition
    assert any(not np.array_equal(v[0, 0], v[0, 1]) for v in flat.values())
    one = flatten_params(agents.run(seed=1, condition="hunger-lesion"))
    for name, leaf in one.items():
        np.testing.assert_array_equal(leaf, flat[name][1, 1])
    agent = agents.agent(seed=1, condition="hunger-lesion")  # an affect.agent.Agent
    from worlds.registry import make

    agent.check_world(make("Foraging-v0")[0])
    for a, b in zip(jax.tree_util.tree_leaves(agent.params),
                    jax.tree_util.tree_leaves(agents.run(1, "hunger-lesion")), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(KeyError, match="seed 7"):
        agents.run(seed=7, condition="intact")
    with pytest.raises(KeyError, match="condition 'x'"):
        agents.run(seed=0, condition="x")


def test_a_finished_folder_is_kept_another_spec_refused_and_fresh_recomputes(tmp_path,
                                                                           capsys):
    out = tmp_path / "o"
    run_experiment(tiny_spec(seeds=1), out, workers=0, progress=False, figures=False)
    (out / "stale.txt").write_text("old")
    stamp = (out / "results.csv").stat().st_mtime_ns
    run_experiment(tiny_spec(seeds=1), out, workers=0, progress=True, figures=False)
    assert "already holds a finished run of this spec: not rerun" in capsys.readouterr().err
    assert (out / "results.csv").stat().st_mtime_ns == stamp  # nothing recomputed
    with pytest.raises(SpecError, match="another spec .that run: 'tiny', this one: 'other'."):
        run_experiment(tiny_spec(seeds=1, name="other"), out, workers=0, progress=False)
    run_experiment(tiny_spec(seeds=1), out, workers=0, progress=False, figures=False,
                   fresh=True)
    assert not (out / "stale.txt").exists()  # recomputed, and the folder replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_cli_polish(capsys):
    from experiments.runner.run import plural, rounding_note

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("affectlab ")
    assert [plural(n, "worker process", "es") for n in (0, 1, 2)] == [
        "no worker processes", "1 worker process", "2 worker processes"]
    note = rounding_note(tiny_spec(total_steps=1000))  # batches of 8 x 16 = 128 steps
    assert note == ("total_steps 1,000 is rounded down to 896 steps per run: whole PPO "
                    "batches of 128 steps (num_envs x num_steps)")
    assert rounding_note(tiny_spec()) is None


# ---------------------------------------------------------------- CLI
def test_cli_errors_are_clear(capsys, tmp_path):
    assert main(["run", "forage", "--quick"]) == 2
    assert "Did you mean 'foraging'" in capsys.readouterr().err
    assert main(["run", "foraging", "--quick", "--seeds", "0", "--out", str(tmp_path / "x")]) == 2
    assert "spec.seeds must be a positive int" in capsys.readouterr().err
    assert main(["run", "foraging", "--steps", "-5", "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()
    assert main(["figures", str(tmp_path / "nothing")]) == 2
    assert main(["bench", "--world", "Nope-v0"]) == 2


def test_cli_figures_redraws(tiny_results, capsys, tmp_path):
    (tiny_results / "figure.png").unlink()
    assert main(["figures", str(tiny_results)]) == 0
    assert (tiny_results / "figure.png").exists()
    (tmp_path / "results.csv").write_text((tiny_results / "results.csv").read_text())
    assert main(["figures", str(tmp_path)]) == 2  # no manifest: no spec to find the report
    assert "manifest.json not found" in capsys.readouterr().err
    # the panels are the world's declared measures, selectable by name; tables keep them all
    assert main(["figures", str(tiny_results), "--measures", "world_reward,survival"]) == 0
    summary = pd.read_csv(tiny_results / "summary.csv")
    assert {"survival rate during training", "|energy - set-point| during training",
            "world reward per step during training"} <= set(summary["measure"])
    assert not summary["measure"].str.contains("goal").any()  # Foraging has no goal
    assert main(["figures", str(tiny_results), "--measures", "success"]) == 2
    assert "unknown measure(s) ['success']" in capsys.readouterr().err


def test_python_dash_m_and_console_script_are_one_cli():
    a = subprocess.run([sys.executable, "-m", "experiments", "list"], capture_output=True,
                       text=True, timeout=1200)  # hang guard only
    assert a.returncode == 0 and "Foraging-v0" in a.stdout and "hunger" in a.stdout
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "affectlab"]
    assert ep.value == "experiments.cli:main"


# ---------------------------------------------------------------- statistics
def test_bootstrap_ci():
    est, lo, hi = bootstrap_ci([2.0, 2.0, 2.0])
    assert est == lo == hi == 2.0
    est, lo, hi = bootstrap_ci(np.arange(100.0))
    assert est == 49.5 and lo < 49.5 < hi and hi - lo < 25
    assert np.isnan(bootstrap_ci([])[0])


def test_hedges_g_and_permutation_test_by_hand():
    from experiments.analysis.stats import hedges_g, permutation_test

    # means 2 and 3, pooled SD 1, correction 1 - 3 / (4 * 6 - 9) = 0.8
    assert hedges_g([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]) == pytest.approx(-0.8)
    # all 6 relabellings of {1,2 | 3,4}: differences -2, -1, 0, 0, 1, 2
    assert permutation_test([1.0, 2.0], [3.0, 4.0]) == pytest.approx(2 / 6)
    assert permutation_test([1.0, 2.0], [3.0, 4.0], alternative="less") == pytest.approx(1 / 6)
    assert permutation_test([1.0, 2.0], [3.0, 4.0], alternative="greater") == 1.0
    rng = np.random.default_rng(0)  # sampled (not exact): a clear effect, and none
    assert permutation_test(rng.normal(1, 1, 40), rng.normal(0, 1, 40)) < 0.01
    assert permutation_test(rng.normal(0, 1, 40), rng.normal(0, 1, 40)) > 0.05
    with pytest.raises(ValueError, match="alternative"):
        permutation_test([1.0], [2.0], alternative="bigger")


def test_statistics_table_of_a_ppo_experiment(tiny_results):
    stats = pd.read_csv(tiny_results / "statistics.csv")
    row = stats[(stats["metric"] == "eval/survival") & (stats["condition"] == "hunger-lesion")]
    assert len(row) == 1
    for col in ("paired", "diff", "diff_low", "diff_high", "ratio", "ratio_low", "ratio_high",
                "d_z", "hedges_g", "p_perm", "note"):
        assert col in stats.columns
    assert bool(row["paired"].iloc[0])  # every condition of a seed shares its parameters
    values = pd.read_csv(tiny_results / "values.csv")
    assert set(values["metric"]) == set(stats["metric"])
    assert 0 < float(row["p_perm"].iloc[0]) <= 1


def test_permutation_test_matches_scipy_exact():
    from scipy import stats as sps

    from experiments.analysis.stats import permutation_test

    a, b = np.array([0.5, 1.7, 2.2, 3.1, 2.6]), np.array([1.1, 0.2, 0.9, 1.4])
    for alt in ("greater", "less"):  # (scipy's two-sided p doubles the smaller tail)
        ref = sps.permutation_test((a, b), lambda x, y: np.mean(x) - np.mean(y),
                                   permutation_type="independent", n_resamples=np.inf,
                                   alternative=alt)
        assert permutation_test(a, b, alternative=alt) == pytest.approx(ref.pvalue)


def test_time_left_counts_training_not_compiles_nor_resumed_runs(capsys):
    from experiments.runner.monitor import Progress

    bar = Progress(100, "x", parallel=2)
    bar.done = 50  # read back on a resume: says nothing about the speed
    bar.report()
    assert "left" not in capsys.readouterr().err
    bar.advance(10, seconds=5.0, every=0)  # 0.5 s per run, two workers, 40 runs to go
    assert "60/100 runs" in (err := capsys.readouterr().err) and "~0m10s left" in err


def test_the_time_breakdown_adds_up():
    from experiments.runner.run import time_breakdown

    jobs = [{"compile_s": 10.0, "run_s": 30.0}, {"compile_s": 0.0, "run_s": 30.0}]
    line = time_breakdown(jobs, jobs_s=40.0, write_s=5.0, total_s=46.0, workers=2)
    assert line == ("46 s wall: jobs 40 s (2 workers: compile 10 s, training 60 s, start-up "
                    "and idle 10 s of 80 s), results and report 5 s")
