"""Agents in the user's own worlds: Gymnasium environments through the public entry point,
bad input, saving and loading, and every example in examples/ run as a user would."""

import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest

import worlds
from affect import Lesion
from affect.agent import Agent, evaluate_agent, load_agent, save_agent, train_agent
from affect.ppo import AgentConfig
from experiments.agents import load_agents
from experiments.runner import RunnerError, run_experiment
from experiments.spec import ExperimentSpec

ROOT = Path(__file__).resolve().parents[1]
SMALL = AgentConfig(num_envs=16, num_steps=32, eval_envs=16)
LESIONED = Lesion("no-affect", {"hunger": 0.0, "frustration": 0.0})


# ------------------------------------------------------------ user-written signals
def cliff_signals(step):
    """CliffWalking: -100 for stepping off the cliff (a loss); a 100-step budget."""
    fell = np.asarray(step.reward) <= -100
    return {"energy": 1.0 - step.t / 100, "loss": fell * 1.0}


def lake_signals(step):
    """FrozenLake: an episode that ends without the prize ended in a hole."""
    hole = np.asarray(step.terminated) & (np.asarray(step.reward) <= 0)
    return {"energy": 1.0 - step.t / 100, "starved": hole, "loss": hole * 1.0}


def register_once(world_id, factory):
    if world_id not in worlds.REGISTRY:
        worlds.register(world_id, factory)
    return world_id


def returns(df, condition):
    sub = df[(df["condition"] == condition) & (df["metric"] == "charts/episode_return")]
    return sub.dropna(subset=["value"]).sort_values("step")["value"].to_numpy()


# ------------------------------------------------------------ Gymnasium's own environments
@pytest.mark.parametrize(
    "env_id, signals, kwargs, steps",
    [
        ("CliffWalking-v1", cliff_signals, {"max_episode_steps": 100}, 30_720),
        ("FrozenLake-v1", lake_signals, {"is_slippery": False}, 20_480),
    ],
)
def test_agent_learns_in_gymnasium_envs_intact_and_lesioned(tmp_path, env_id, signals, kwargs,
                                                            steps):
    world = worlds.from_gymnasium(env_id, signals, **kwargs)
    world_id = register_once("Test" + env_id.split("-")[0] + "-v0", lambda: world)
    spec = ExperimentSpec(
        name="gym", world=world_id, agent=SMALL, seeds=1, total_steps=steps,
        conditions=(Lesion("intact"), LESIONED),
    )
    out = run_experiment(spec, tmp_path / "gym", progress=False)
    df = pd.read_csv(out / "results.csv")
    assert (out / "figure.png").is_file()
    summary = pd.read_csv(out / "summary.csv")  # the declared measures: no body death here
    assert not summary["measure"].str.contains("survival").any()
    assert summary["measure"].str.contains("world reward").any()
    agents = load_agents(out)  # host-run experiments save their agents too
    agent = agents.agent(0, "no-affect")
    obs = np.zeros((3, agent.obs_dim), np.float32)
    assert np.asarray(agent.act(jax.random.PRNGKey(0), obs)).shape == (3,)
    for condition in ("intact", "no-affect"):
        r = returns(df, condition)
        k = max(len(r) // 4, 1)
        early, late = r[:k].mean(), r[-k:].mean()
        if env_id.startswith("Cliff"):  # random walks fall off the cliff again and again
            assert early < -300 and late > early + 200, (condition, early, late)
        else:  # the prize is reached almost never at first, then almost always
            final = df[(df["condition"] == condition) & (df["metric"] == "eval/episode_return")]
            assert early < 0.3 and float(final["value"].iloc[0]) >= 0.75, (condition, early)


# ------------------------------------------------------------ bad input
def test_continuous_action_space_is_refused():
    with pytest.raises(ValueError, match="continuous"):
        worlds.from_gymnasium("MountainCarContinuous-v0", cliff_signals)


def test_missing_time_limit_is_refused():
    with pytest.raises(ValueError, match="max_episode_steps"):
        worlds.from_gymnasium("CliffWalking-v1", cliff_signals)


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda s: [1.0], "must return a mapping"),
        (lambda s: {"fear": 1.0}, "unknown field"),
        (lambda s: {"energy": np.ones(5)}, "shape"),
        (lambda s: {"loss": "a lot"}, "number"),
        (lambda s: {"energy": np.nan}, "not finite"),
    ],
)
def test_signals_function_of_the_wrong_structure_is_refused(bad, match):
    world = worlds.from_gymnasium("FrozenLake-v1", bad)
    with pytest.raises((TypeError, ValueError), match=match):
        train_agent(world, config=AgentConfig(num_envs=2, num_steps=4, total_steps=8))


def test_agent_in_a_world_of_another_observation_shape_is_refused(tmp_path):
    world = worlds.from_gymnasium("FrozenLake-v1", lake_signals, is_slippery=False)
    agent, _ = train_agent(world, config=AgentConfig(num_envs=4, num_steps=8, total_steps=32,
                                                     eval_envs=2))
    loaded = load_agent(save_agent(agent, tmp_path / "lake"))
    with pytest.raises(ValueError, match="observations of size 16"):
        evaluate_agent(loaded, "Foraging-v0")
    cliff = worlds.from_gymnasium("CliffWalking-v1", cliff_signals, max_episode_steps=20)
    with pytest.raises(ValueError, match="shape \\(48,\\)"):
        evaluate_agent(loaded, cliff)
    with pytest.raises(ValueError, match="shape \\(N, 16\\)"):
        loaded.act(jax.random.PRNGKey(0), np.zeros((2, 5)))


def test_loading_a_folder_that_is_not_an_agent_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="saved agent"):
        load_agent(tmp_path)


# ------------------------------------------------------------ save / load round trip
def test_save_load_round_trip_gives_identical_actions(tmp_path):
    agent, _ = train_agent("Foraging-v0", config=AgentConfig(num_envs=8, num_steps=8,
                                                             total_steps=128, eval_envs=2))
    path = save_agent(agent, tmp_path / "forager")
    assert sorted(p.name for p in path.iterdir()) == ["agent.json", "params.msgpack"]
    loaded = load_agent(path)
    assert isinstance(loaded, Agent) and loaded.config == agent.config
    assert loaded.trained_on == "Foraging-v0" and loaded.channels == agent.channels
    for a, b in zip(jax.tree_util.tree_leaves(agent.params),
                    jax.tree_util.tree_leaves(loaded.params), strict=True):
        np.testing.assert_array_equal(a, b)
    obs = jax.random.uniform(jax.random.PRNGKey(1), (32, agent.obs_dim))
    for seed in range(3):
        key = jax.random.PRNGKey(seed)
        np.testing.assert_array_equal(agent.act(key, obs), loaded.act(key, obs))
        lesion = Lesion("no-hunger", {"hunger": 0.0})
        np.testing.assert_array_equal(agent.act(key, obs, lesion=lesion),
                                      loaded.act(key, obs, lesion=lesion))
    # affect state (e.g. an online participant's tags) travels with the parameters
    agent.affect_state = {"markers": jax.numpy.arange(6.0).reshape(2, 3)}
    again = load_agent(save_agent(agent, tmp_path / "with-state"))
    np.testing.assert_array_equal(again.affect_state["markers"], agent.affect_state["markers"])
    # an agent trained in one world is evaluated, and lesioned, in another
    m = evaluate_agent(loaded, "ForagingAbundant-v0", Lesion("no-hunger", {"hunger": 0.0}),
                       episodes=4)
    assert set(m) >= {"eval/episode_return", "eval/survival"}


# ------------------------------------------------------------ examples, run as a user would
EXAMPLES = {
    "custom_gymnasium_world.py": ["--quick", "--out"],
    "custom_jax_world.py": ["--quick", "--out"],
    "custom_channel.py": ["--quick", "--out"],
    "lesion_experiment.py": ["--quick", "--out"],
    "save_and_load.py": ["--quick", "--out"],
    "regenerate_figure.py": ["--demo"],
}


def test_every_example_is_tested():
    assert sorted(p.name for p in (ROOT / "examples").glob("*.py")) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_runs(tmp_path, name):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *EXAMPLES[name], str(out)],
        capture_output=True, text=True, timeout=1200, cwd=tmp_path,  # hang guard only
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    if name == "save_and_load.py":
        assert (out / "agent.json").is_file() and "does not fit" in proc.stdout
    else:
        assert (out / "results.csv").is_file() and (out / "figure.png").is_file()


# ------------------------------------------------------------ a user's folder shadows ours
@pytest.mark.parametrize("folder, statement, shadowed", [
    ("worlds", "import affect", "worlds"),
    ("worlds", "import experiments.runner", "worlds"),
    ("experiments", "import worlds", "experiments"),
    ("affect", "import worlds", "affect"),
])
def test_a_shadowing_folder_stops_the_import_with_one_sentence(tmp_path, folder, statement,
                                                               shadowed):
    (tmp_path / folder).mkdir()
    (tmp_path / folder / "__init__.py").write_text("")
    proc = subprocess.run([sys.executable, "-c", statement], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert f"the folder {tmp_path / shadowed} shadows affectlab's `{shadowed}` package" in last
    assert "rename that folder" in last


def test_an_in_process_job_over_its_timeout_stops_with_a_message(tmp_path):
    world = worlds.from_gymnasium("CliffWalking-v1", cliff_signals, max_episode_steps=100)
    world_id = register_once("TestCliffTimeout-v0", lambda: world)
    spec = ExperimentSpec(name="slow", world=world_id, agent=SMALL, seeds=1,
                          total_steps=1_000_000, conditions=(Lesion("intact"),),
                          timeout_s=2.0)
    with pytest.raises(RunnerError, match="exceeded its timeout of 2s in this process"):
        run_experiment(spec, tmp_path / "slow", workers=0, progress=False)  # ~15 min if not
    assert not (tmp_path / "slow").exists()


# ------------------------------------------------------------ a user's world on every core
USER_MODULE = '''
import numpy as np
import worlds


def cliff_signals(step):
    fell = np.asarray(step.reward) <= -100
    return {"energy": 1.0 - step.t / 100, "loss": fell * 1.0}


def make():
    return worlds.from_gymnasium("CliffWalking-v1", cliff_signals, max_episode_steps=100)
'''

USER_SPEC = '''name = "cliff"
world = "usercliff:make"
seeds = 2
total_steps = 2048

[[conditions]]
name = "intact"

[[conditions]]
name = "no-affect"
gains = { hunger = 0.0, frustration = 0.0 }

[agent]
num_envs = 8
num_steps = 32
eval_envs = 8
'''


def affectlab_command() -> list[str]:
    """The installed console script (as a user runs it), else ``python -m experiments``."""
    script = Path(sys.executable).parent / "affectlab"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "experiments"]


def test_a_gymnasium_world_named_in_a_spec_file_runs_on_two_workers_as_on_none(tmp_path,
                                                                              monkeypatch):
    (tmp_path / "usercliff.py").write_text(USER_MODULE)
    (tmp_path / "cliff.toml").write_text(USER_SPEC)
    err = {}
    for workers in (2, 0):
        proc = subprocess.run(affectlab_command() + ["run", "cliff.toml", "--workers",
                              str(workers), "--out", f"w{workers}"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        err[workers] = proc.stderr
    assert "2 worker processes" in err[2] and "no worker processes" in err[0]
    two, none = tmp_path / "w2", tmp_path / "w0"
    a, b = pd.read_csv(two / "results.csv"), pd.read_csv(none / "results.csv")
    assert len(a) > 0 and set(a["condition"]) == {"intact", "no-affect"}
    assert a["seed"].nunique() == 2
    cols = ["condition", "seed", "step", "metric"]
    pd.testing.assert_frame_equal(a[cols + ["value"]], b[cols + ["value"]])  # exactly equal
    agents_two, agents_none = np.load(two / "agents.npz"), np.load(none / "agents.npz")
    assert sorted(agents_two.files) == sorted(agents_none.files)
    for k in agents_two.files:
        assert np.array_equal(agents_two[k], agents_none[k]), k
    monkeypatch.syspath_prepend(str(tmp_path))  # the user's module, for this process too
    agent = load_agents(two).agent(1, "no-affect")
    assert np.asarray(agent.act(jax.random.PRNGKey(0), np.zeros((2, agent.obs_dim),
                                                                np.float32))).shape == (2,)
    from experiments.tasks.base import curves_report
    assert (two / "figure.png").is_file()
    unreadable = [p.name for p in two.rglob("*") if p.is_file() and p.stat().st_mode & 0o044
                  != 0o044]
    assert not unreadable  # shared cluster storage: every file readable by the group and others
    assert curves_report(two) == ["episode_return", "world_reward"]  # declared; no survival


def test_a_world_from_a_module_that_is_not_there_is_refused_in_one_sentence(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(USER_SPEC.replace("usercliff:make", "nosuchmodule:make"))
    proc = subprocess.run(affectlab_command() + ["run", str(spec), "--out", "x"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "no module 'nosuchmodule' on the Python path or in the current folder" in proc.stderr
    (tmp_path / "usercliff.py").write_text(USER_MODULE)
    spec.write_text(USER_SPEC.replace("usercliff:make", "usercliff:nothing"))
    proc = subprocess.run(affectlab_command() + ["run", str(spec), "--out", "x"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "module 'usercliff' has no attribute 'nothing'" in proc.stderr


def test_a_worker_that_cannot_rebuild_the_world_says_how_to_fix_it(monkeypatch):
    from experiments.runner.pool import rebuild, spawnable

    world = worlds.from_gymnasium("CliffWalking-v1", cliff_signals, max_episode_steps=100)
    world_id = register_once("TestCliffGone-v0", lambda: world)
    spec = ExperimentSpec(name="gone", world=world_id, agent=SMALL, seeds=1,
                          total_steps=512, conditions=(Lesion("intact"),)).validate()
    assert spawnable(spec)  # registered in an importable module (this one)
    monkeypatch.delitem(worlds.REGISTRY, world_id)  # as in a worker that never registered it
    with pytest.raises(RunnerError, match="a worker process could not rebuild the experiment: "
                       "re-running your script did not register it"):
        rebuild(spec, [])


def test_a_world_object_in_a_module_is_a_world_by_name(tmp_path, monkeypatch):
    (tmp_path / "userobj.py").write_text(USER_MODULE + "\ncliff = make()\nnumber = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    world, params = worlds.make("userobj:cliff")
    assert world.name == "Gymnasium[CliffWalking-v1]" and params.time_limit == 100
    with pytest.raises(TypeError, match="is a built world: it takes no arguments"):
        worlds.make("userobj:cliff", max_episode_steps=5)
    with pytest.raises(KeyError, match="'userobj:number' is a int: name a world or a function"):
        worlds.check_world_id("userobj:number")
