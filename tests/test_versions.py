"""The model's versions: v2's mechanisms by hand, the ablation's variants, spec overrides."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from affect.deliberation import DeliberationParams
from affect.online import subjective, urgency_of
from affect.policy import AgentConfig
from affect.versions import MECHANISMS, MODEL_VERSION, V1, split, variants
from experiments.spec import ExperimentSpec, SpecError
from experiments.tasks import get_task
from experiments.tools.ablate import markdown


def test_subjective_value_by_hand():
    r = jnp.array([-8.0, -2.0, 0.0, 2.0, 8.0])
    np.testing.assert_array_equal(subjective(r, 2.0, 1.0), r)  # linear: the reward itself
    # shape 0.5 in units of the spread 2: 2 * sign(x) * sqrt(|x|), x = r / 2
    np.testing.assert_allclose(subjective(r, 2.0, 0.5),
                               [-4.0, -2.0, 0.0, 2.0, 4.0], rtol=1e-6)
    # a loss four times as large is valued twice as bad, whatever the reward's units
    np.testing.assert_allclose(subjective(100 * r, 200.0, 0.5), 100 * subjective(r, 2.0, 0.5),
                               rtol=1e-5)
    g = jax.grad(lambda a: subjective(jnp.float32(0.0), 1.0, a))(0.5)
    assert np.isfinite(g)  # a fit can differentiate the shape at a zero reward


def test_time_cost_urgency_by_hand():
    class S:  # the two fields urgency_of reads
        avg_reward = jnp.float32(0.6)
        aff = type("A", (), {"urgency": jnp.float32(0.3)})

    d = DeliberationParams(time_cost=0.5)
    # reward rate 0.6 over spread 2 = 0.3 -> 0.5 * 0.3 + 0.3 = 0.45
    np.testing.assert_allclose(urgency_of(d, S, 2.0), 0.45, rtol=1e-6)
    np.testing.assert_allclose(urgency_of(d.replace(time_cost=0.0), S, 2.0), 0.3)
    S.avg_reward = jnp.float32(-1.0)  # a losing world forgoes nothing by waiting
    np.testing.assert_allclose(urgency_of(d, S, 2.0), 0.3)


def test_variants_switch_one_mechanism_at_a_time():
    table = variants()
    assert table["v1"] == V1 and table[f"v{MODEL_VERSION}"] == {}

    def model(overrides):
        delib, agent = split(overrides)
        return {**dataclasses.asdict(DeliberationParams(**delib)),
                **dataclasses.asdict(AgentConfig(**agent))}

    v1, current = model(V1), model({})
    for m in MECHANISMS:
        alone = model(table[f"+{m.name}"])
        changed = {k for k in v1 if alone[k] != v1[k]}
        assert changed == set(m.v1), m.name
        if m.adopted:  # the current defaults hold the adopted mechanism's values
            assert all(current[k] == v for k, v in m.trial.items()), m.name
        else:
            assert f"v{MODEL_VERSION}+{m.name}" in table
            assert all(current[k] == v for k, v in m.v1.items()), m.name
    with pytest.raises(KeyError, match="unknown model constants"):
        split({"bond": 1.0})


def test_spec_deliberation_overrides_are_checked_and_recorded():
    spec = get_task("gambling").spec(quick=True)
    tuned = dataclasses.replace(spec, deliberation={"marker_forget": 0.2}).validate()
    assert tuned.deliberation_params().marker_forget == 0.2
    d = tuned.to_dict()
    assert d["deliberation"] == {"marker_forget": 0.2} and d["model"] == MODEL_VERSION
    assert ExperimentSpec.from_dict(d) == tuned
    with pytest.raises(SpecError, match="written for model v1"):
        ExperimentSpec.from_dict({**d, "model": "1"})
    with pytest.raises(SpecError, match="'marker_forgot'. Did you mean 'marker_forget'"):
        dataclasses.replace(spec, deliberation={"marker_forgot": 0.2}).validate()
    with pytest.raises(SpecError, match="must be a number"):
        dataclasses.replace(spec, deliberation={"bound": "ten"}).validate()
    ppo = get_task("foraging").spec(quick=True)
    assert not {"deliberation", "model"} & set(ppo.to_dict())  # PPO reads none of them
    with pytest.raises(SpecError, match="only the online trainer"):
        dataclasses.replace(ppo, deliberation={"bound": 5.0}).validate()


def test_ablation_markdown_counts_confirmatory_passes():
    df = pd.DataFrame([
        {"variant": "v1", "experiment": "gambling", "id": "a", "kind": "confirmatory",
         "estimate": 1.0, "passed": True},
        {"variant": "v1", "experiment": "gambling", "id": "b", "kind": "exploratory",
         "estimate": 2.0, "passed": False},
        {"variant": "v2", "experiment": "gambling", "id": "a", "kind": "confirmatory",
         "estimate": -1.0, "passed": False},
        {"variant": "v2", "experiment": "gambling", "id": "b", "kind": "exploratory",
         "estimate": 3.0, "passed": True},
    ])
    text = markdown(df, quick=True)
    assert "| a | confi | 1 pass | -1 FAIL |" in text
    assert "| b | explo | 2 FAIL | 3 pass |" in text
    assert "**1/1** | **0/1**" in text


def test_the_sgd_online_rule_steps_in_proportion_to_the_gradient():
    from affect.online import online_optimizer

    opt = online_optimizer(AgentConfig(online_optimizer="sgd", max_grad_norm=10.0))
    g = {"w": jnp.array([0.1, -0.3])}
    upd, _ = opt.update(g, opt.init(g), g)
    np.testing.assert_allclose(upd["w"], g["w"])  # the delta rule: no normalisation
    with pytest.raises(ValueError, match="online_optimizer"):
        AgentConfig(online_optimizer="rmsprop").validate()
