"""JAX's persistent compilation cache: a rerun reads its programs from disk and gets the
same numbers; the cache can be moved or turned off."""

import os
import subprocess
import sys

import pandas as pd

from experiments.runner.cache import ENV, cache_dir

RUN = """
import sys
from affect import Lesion
from affect.ppo import AgentConfig
from experiments.runner import run_experiment
from experiments.spec import ExperimentSpec

spec = ExperimentSpec(name="cached", world="Foraging-v0", seeds=1, total_steps=1024,
                      agent=AgentConfig(num_envs=8, num_steps=32, eval_envs=8),
                      conditions=(Lesion("intact"), Lesion("no-hunger", {"hunger": 0.0})))
run_experiment(spec, sys.argv[1], workers=0, figures=False, progress=False)
"""


def test_a_rerun_reads_its_programs_from_the_cache_and_gets_the_same_numbers(tmp_path):
    env = {**os.environ, ENV: str(tmp_path / "cache")}
    entries = []
    for run in ("first", "second"):
        subprocess.run([sys.executable, "-c", RUN, str(tmp_path / run)], env=env, check=True,
                       timeout=600)
        entries.append(sorted(p.name for p in (tmp_path / "cache").glob("*-cache")))
    assert entries[0], "the first run wrote no compiled program to the cache"
    assert entries[1] == entries[0]  # the second compiled nothing new: every program was read
    first = pd.read_csv(tmp_path / "first" / "results.csv")
    second = pd.read_csv(tmp_path / "second" / "results.csv")
    pd.testing.assert_series_equal(first["value"], second["value"])


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    for off in ("off", "0", ""):
        monkeypatch.setenv(ENV, off)
        assert cache_dir() is None
    monkeypatch.setenv(ENV, str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv(ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "affectlab" / "jax"
