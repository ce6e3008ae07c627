"""The Ray executor: the local pool's numbers value for value, a killed Ray worker costs
only its own job, and a local run never imports Ray."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affect.lesion import Lesion
from affect.policy import AgentConfig
from experiments.runner import run_experiment
from experiments.runner.errors import RunnerError
from experiments.runner.ray_pool import ray_available
from experiments.spec import ExperimentSpec

needs_ray = pytest.mark.skipif(not ray_available(),
                               reason="Ray is not installed (pip install -e '.[ray]')")


def spec(seeds=2, steps=8 * 16 * 3, name="tiny-ray"):
    return ExperimentSpec(name=name, world="Foraging-v0",
                          conditions=(Lesion("intact"), Lesion("no-hunger", {"hunger": 0.0})),
                          seeds=seeds, total_steps=steps,
                          agent=AgentConfig(num_envs=8, num_steps=16, eval_envs=4),
                          world_params={"time_limit": 20})


@pytest.fixture(scope="module")
def ray_cluster():
    """The executor's own local cluster (started by the first Ray run), shut down after."""
    import ray

    yield ray
    ray.shutdown()


@needs_ray
def test_ray_gives_the_local_pools_numbers(tmp_path, ray_cluster):
    local = run_experiment(spec(), tmp_path / "local", workers=2, progress=False,
                           figures=False)
    remote = run_experiment(spec(), tmp_path / "ray", workers=2, progress=False,
                            figures=False, executor="ray")
    a = pd.read_csv(local / "results.csv").drop(columns="run")
    b = pd.read_csv(remote / "results.csv").drop(columns="run")
    pd.testing.assert_frame_equal(a, b)
    with np.load(local / "agents.npz") as za, np.load(remote / "agents.npz") as zb:
        for k in za.files:
            np.testing.assert_array_equal(za[k], zb[k])


def _job_workers() -> list[int]:
    """Pids of Ray worker processes running an affectlab job (Linux process titles)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "cmdline").read_bytes().startswith(b"ray::_job"):
                    pids.append(int(d.name))
            except OSError:
                continue
    return pids


@needs_ray
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds Ray workers through /proc")
def test_a_killed_ray_worker_costs_only_its_job(tmp_path, ray_cluster):
    """SIGKILL a worker mid-job: the runner's queue reruns that job, the experiment
    finishes, and every job is written once (the journal lists each seed once, and the
    rerun)."""
    out = tmp_path / "killed"
    s = spec(seeds=4, steps=8 * 16 * 40, name="tiny-kill")
    killed = []

    def kill_one():
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            pids = _job_workers()
            if pids:
                time.sleep(0.5)  # mid-job
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.05)

    thread = threading.Thread(target=kill_one, daemon=True)
    thread.start()
    run_experiment(s, out, workers=2, progress=False, figures=False, executor="ray")
    thread.join(timeout=1)
    assert killed, "no Ray job process was seen"
    journal = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]
    seeds = [s for e in journal if e["event"] == "job" for s in e["seeds"]]
    assert sorted(seeds) == [0, 1, 2, 3]  # each job written once: none computed twice
    assert [e["event"] for e in journal].count("rerun") == 1  # shown and journaled
    df = pd.read_csv(out / "results.csv")
    assert sorted(df["seed"].unique()) == list(range(4))


def test_an_unknown_executor_is_refused(tmp_path):
    with pytest.raises(RunnerError, match="unknown executor"):
        run_experiment(spec(), tmp_path / "x", executor="dask", progress=False)


def test_a_local_run_never_imports_ray(tmp_path):
    code = ("import sys; from tests.test_ray import spec; "
            "from experiments.runner import run_experiment; "
            f"run_experiment(spec(seeds=1), {str(tmp_path / 'o')!r}, workers=0, "
            "progress=False, figures=False); "
            "print('ray' in sys.modules or 'tensorboardX' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).parents[1], timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_suites_and_reproduce_hand_the_executor_to_every_run(tmp_path, monkeypatch):
    """`run lesion-matrix --executor ray` and `reproduce --executor ray` run each member
    experiment on Ray (the call is recorded here, nothing is trained)."""
    from experiments import reproduce as rep
    from experiments.suites import SUITES
    from experiments.suites import base as suites_base

    seen = []

    def record(spec, out, **kw):
        seen.append(kw.get("executor"))
        raise RuntimeError("stop after the first member")

    monkeypatch.setattr(suites_base, "run_experiment", record)
    with pytest.raises(RuntimeError, match="stop"):
        suites_base.run_suite(SUITES["lesion-matrix"](True), tmp_path / "m", executor="ray")
    monkeypatch.setattr(rep, "run_experiment", record)
    with pytest.raises(RuntimeError, match="stop"):
        rep.run_one("gambling", tmp_path / "r", True, True, None, (), "development", "ray")
    assert seen == ["ray", "ray"]


@pytest.mark.skipif(importlib.util.find_spec("tensorboardX") is None,
                    reason="tensorboardX is not installed (pip install -e '.[tracking]')")
def test_tensorboard_tracker_writes_each_runs_curves(tmp_path):
    out = run_experiment(spec(), tmp_path / "tb", workers=0, progress=False, figures=False,
                         tracker="tensorboard")
    df = pd.read_csv(out / "results.csv")
    runs = sorted((out / "tensorboard").glob("*/seed*"))
    assert [f"{p.parent.name}/{p.name}" for p in runs] == sorted(
        f"{c}/seed{s}" for c, s in df[["condition", "seed"]].drop_duplicates().itertuples(
            index=False))
    events = b"".join(f.read_bytes() for f in runs[0].glob("events.out.tfevents.*"))
    for metric in df["metric"].unique():  # every metric of results.csv is a tag
        assert metric.encode() in events


def test_an_unknown_tracker_is_refused(tmp_path):
    with pytest.raises(RunnerError, match="unknown tracker"):
        run_experiment(spec(), tmp_path / "x", workers=0, progress=False, tracker="wandb")


def test_placement_without_gpus_runs_one_seed_per_cpu_task():
    from experiments.runner.ray_pool import placement

    p = placement({"CPU": 16.0}, None, n_seeds=48)
    assert (p.in_flight, p.seeds_per_job, p.options) == (16, None, {"num_cpus": 1})
    assert placement({"CPU": 16.0}, 4, n_seeds=48).in_flight == 4


@pytest.mark.parametrize("resources, workers, in_flight, share, seeds, fraction", [
    ({"CPU": 16.0, "GPU": 1.0}, None, 1, 1.0, 48, "0.9"),  # one task vmaps every seed
    ({"CPU": 64.0, "GPU": 4.0}, None, 4, 1.0, 12, "0.9"),  # one task per GPU
    ({"CPU": 16.0, "GPU": 1.0}, 4, 4, 0.25, 12, "0.225"),  # four tasks share a GPU
    ({"CPU": 16.0, "GPU": 2.0}, 1, 1, 1.0, 48, "0.9"),  # a task never asks for two
])
def test_placement_with_gpus_asks_for_a_share_and_vmaps_a_block_of_seeds(
        resources, workers, in_flight, share, seeds, fraction):
    from experiments.runner.ray_pool import placement

    p = placement(resources, workers, n_seeds=48)
    assert (p.in_flight, p.seeds_per_job) == (in_flight, seeds)
    assert p.options["num_gpus"] == pytest.approx(share)
    assert p.options["runtime_env"]["env_vars"] == {"XLA_PYTHON_CLIENT_MEM_FRACTION": fraction}
