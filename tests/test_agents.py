"""Trained agents saved by the runner (agents.npz; see also test_experiments), loaded
back, and the new-partners evaluation of the robustness suite."""

import dataclasses
import shutil

import jax
import numpy as np
import pytest
from test_experiments import tiny_spec

from affect.lesion import Lesion
from experiments.agents import flatten_params, load_agents, unflatten_params
from experiments.runner import run_experiment


def _tiny_commons(**kw):
    base = dict(name="tinycommons", world="Commons-v0",
                conditions=(Lesion("intact"), Lesion("social-lesion", {"social": 0.0})),
                seeds=3, total_steps=8 * 16 * 2, world_params={"time_limit": 20})
    base.update(kw)
    return tiny_spec(**base).validate()


@pytest.fixture(scope="module")
def commons_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("agents") / "tinycommons"
    return run_experiment(_tiny_commons(), out, workers=0, progress=False, figures=False)


def test_flatten_round_trip():
    tree = {"params": {"a": {"kernel": np.ones((2, 3)), "bias": np.zeros(3)}, "b": np.ones(1)}}
    flat = flatten_params(tree)
    assert set(flat) == {"params/a/kernel", "params/a/bias", "params/b"}
    back = unflatten_params(flat)
    assert jax.tree_util.tree_structure(back) == jax.tree_util.tree_structure(tree)


def test_missing_agents_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="agents.npz does not exist"):
        load_agents(tmp_path)


def test_loaded_agents_have_seed_condition_and_agent_axes(commons_run):
    agents = load_agents(commons_run)
    static, _, _ = agents.setup()
    assert static.world.num_agents == 4 and agents.seeds == (0, 1, 2)
    for leaf in flatten_params(agents.params).values():
        assert leaf.shape[:3] == (3, 2, 4)  # seeds, conditions, agents (own networks)
    one = flatten_params(agents.run(seed=2, condition="social-lesion"))
    for name, leaf in flatten_params(agents.params).items():
        np.testing.assert_array_equal(one[name], leaf[2, 1])


def test_mix_partners_takes_agent_i_from_seed_s_plus_i():
    from experiments.suites.robustness import mix_partners

    x = np.arange(4 * 3).reshape(4, 3) * 10  # value = 10 * (3 * seed + agent)
    m = mix_partners(x[..., None])[..., 0]
    for s in range(4):
        for i in range(3):
            assert m[s, i] == x[(s + i) % 4, i]
    assert sorted(m[:, 1]) == sorted(x[:, 1])  # every trained agent is used once


def test_new_partners_same_agents_give_the_base_exactly(commons_run, tmp_path):
    """With identical populations for every seed, new partners are the old ones: the
    shifted evaluation must equal the base (the same random numbers); with different
    populations it must differ somewhere."""
    from experiments.suites.robustness import new_partners

    t = new_partners(commons_run)
    assert set(t["condition"]) == {"intact", "social-lesion"} and len(t) == 3 * 2 * 2
    assert not np.allclose(t["base"], t["shifted"])
    d = shutil.copytree(commons_run, tmp_path / "same")
    with np.load(d / "agents.npz") as z:
        arrays = {k: z[k] for k in z.files}
    for k in arrays:
        if k.startswith("p::"):
            arrays[k] = np.repeat(arrays[k][:1], 3, axis=0)  # seed 0's agents everywhere
    np.savez(d / "agents.npz", **arrays)
    t = new_partners(d)
    np.testing.assert_array_equal(t["base"], t["shifted"])


def test_new_partners_refuses_single_agent_runs(tmp_path):
    import json

    from experiments.suites.robustness import new_partners

    d = tmp_path / "f"  # a run folder of a one-agent world (nothing trained: not needed)
    d.mkdir()
    (d / "manifest.json").write_text(json.dumps({"spec": tiny_spec().to_dict()}))
    np.savez(d / "agents.npz", **{"p::params/w": np.zeros((2, 2, 1)), "seeds": np.arange(2),
                                  "conditions": np.asarray(["intact", "hunger-lesion"])})
    with pytest.raises(ValueError, match="multi-agent"):
        new_partners(d)


def test_suite_uses_a_finished_run_of_the_same_spec_elsewhere(commons_run, tmp_path,
                                                               monkeypatch):
    import experiments.suites.base as suite_base
    from experiments.suites import Suite, run_suite

    spec = _tiny_commons()
    shutil.copytree(commons_run, tmp_path / spec.name)
    seen = {}

    def report(out, dirs):
        seen.update(dirs)
        return []

    def refuse(*a, **k):
        raise AssertionError("the member was run again")

    monkeypatch.setattr(suite_base, "run_experiment", refuse)
    suite = Suite("s", (("commons", spec),), report, needs_agents=("commons",))
    run_suite(suite, tmp_path / "suite", workers=0, progress=False)
    assert seen["commons"] == tmp_path / spec.name
    # a folder given by the caller is used even with fresh=True
    run_suite(suite, tmp_path / "elsewhere" / "suite", workers=0, progress=False, fresh=True,
              reuse=(tmp_path / spec.name,))
    with pytest.raises(AssertionError, match="run again"):  # fresh: no sibling lookup
        run_suite(suite, tmp_path / "suite0", workers=0, progress=False, fresh=True)
    # a finished run without the agents the report needs is not enough
    (tmp_path / spec.name / "agents.npz").unlink()
    with pytest.raises(AssertionError, match="run again"):
        run_suite(suite, tmp_path / "suite2", workers=0, progress=False)
    # another spec is not reused
    other = dataclasses.replace(spec, seeds=2)
    with pytest.raises(AssertionError, match="run again"):
        run_suite(Suite("s", (("commons", other),), report), tmp_path / "suite3",
                  workers=0, progress=False)
