"""Spec files: a well-formed one round-trips; malformed ones give a one-paragraph error
that names the field, and leave nothing behind."""

import json

import pytest

from experiments.cli import main
from experiments.spec import ExperimentSpec, SpecError, load_spec
from experiments.tasks import TASKS

GOOD = {
    "name": "tiny",
    "world": "Foraging-v0",
    "conditions": [{"name": "intact"}, {"name": "hunger-lesion", "gains": {"hunger": 0.0}}],
    "seeds": 2,
    "total_steps": 384,
    "agent": {"num_envs": 8, "num_steps": 16, "eval_envs": 4},
    "world_params": {"time_limit": 20},
}


def bad(**change):
    d = json.loads(json.dumps(GOOD))
    for key, value in change.items():
        if value is None:
            d.pop(key)
        else:
            d[key] = value
    return d


def with_agent(**fields):
    return bad(agent={**GOOD["agent"], **fields})


def with_condition(**fields):
    return bad(conditions=[{"name": "x", **fields}])


MALFORMED = [
    ([1, 2], "a spec must be a table"),
    (bad(seeds=None), r"spec\.seeds is missing"),
    (bad(world=None), r"spec\.world is missing"),
    ({**GOOD, "seed": 3}, r"spec\.seed: unknown field\. Did you mean 'seeds'"),
    (bad(seeds="8"), r"spec\.seeds must be a positive int"),
    (bad(seeds=-3), r"spec\.seeds must be a positive int"),
    (bad(seeds=[3, 5]), r"spec\.seeds must be a count or a list of consecutive"),
    (bad(total_steps=0), r"spec\.total_steps must be a positive int"),
    (bad(total_steps=2.5), r"spec\.total_steps must be a positive int"),
    (bad(world="Foragin-v0"), r"spec\.world.*Did you mean 'Foraging-v0'"),
    (bad(world=42), r"spec\.world"),
    (bad(name="my experiment"), r"spec\.name"),
    (bad(conditions="intact"), r"spec\.conditions must be a list"),
    (bad(conditions=[]), r"spec\.conditions must name at least one"),
    (bad(conditions=[{"gains": {}}]), r"spec\.conditions\[0\]\.name is missing"),
    (bad(conditions=[{"name": "a"}, {"name": "a"}]), r"spec\.conditions: names must be unique"),
    (with_condition(gains={"hunger": 1.5}), r"spec\.conditions\[0\].*hunger.*\[0, 1\]"),
    (with_condition(gains={"hungre": 0.0}), r"spec\.conditions\[0\].*unknown channel 'hungre'"),
    (with_condition(gains={"hunger": {"mark": 0.0}}), r"spec\.conditions\[0\].*no output 'mark'"),
    (with_condition(onset="later"), r"spec\.conditions\[0\].*unknown onset"),
    (with_condition(agents=[9]), r"spec\.conditions\[0\].*unknown agent id 9"),
    (with_agent(num_envs=-8), r"agent\.num_envs must be a positive int"),
    (with_agent(hidden=[64, 0]), r"agent\.hidden must be positive ints"),
    (with_agent(learning_rate="fast"), r"agent\.learning_rate must be a positive number"),
    (with_agent(learning_rat=0.1), r"spec\.agent\.learning_rat: unknown field.*learning_rate"),
    (with_agent(affect_channels=["hunger", "fear"]), r"affect_channels.*unknown"),
    (bad(world_params={"food": 1.0}), r"spec\.world_params.*no parameter 'food'"),
    (bad(world_params={"time_limit": "long"}), r"spec\.world_params\.time_limit must be a num"),
    (bad(timeout_s=-1), r"spec\.timeout_s must be a positive number"),
    (bad(trainer="sgd"), r"spec\.trainer must be one of"),
    (bad(test_steps=384), r"spec\.test_steps must lie in"),
]


def _one_paragraph(err: str) -> str:
    text = err.strip()
    assert text.startswith("affectlab: error: ")
    assert "\n" not in text and "Traceback" not in text, text
    return text


@pytest.mark.parametrize("spec, match", MALFORMED, ids=[m for _, m in MALFORMED])
def test_malformed_spec_files_fail_clearly_and_leave_nothing(tmp_path, capsys, spec, match):
    import re

    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = _one_paragraph(capsys.readouterr().err)
    assert re.search(match, err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing created


def test_at_least_twenty_malformed_cases():
    assert len(MALFORMED) >= 20


def test_an_output_folder_that_is_a_file(tmp_path, capsys):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(GOOD))
    (tmp_path / "out").write_text("not a folder")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = _one_paragraph(capsys.readouterr().err)
    assert "out_dir" in err and "is a file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "spec.json"]
    assert (tmp_path / "out").read_text() == "not a folder"


def test_unreadable_and_invalid_files(tmp_path, capsys):
    assert main(["run", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml" in _one_paragraph(capsys.readouterr().err)
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    assert main(["run", str(broken)]) == 2
    assert "not valid TOML" in _one_paragraph(capsys.readouterr().err)


def test_catalogued_specs_round_trip_through_dicts():
    for task in TASKS.values():
        for quick in (True, False):
            spec = task.spec(quick)
            again = ExperimentSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
            assert again.validate() == spec


def test_toml_spec_file_loads(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "tiny"\nworld = "Foraging-v0"\nseeds = 2\ntotal_steps = 384\n'
        '[[conditions]]\nname = "intact"\n'
        '[[conditions]]\nname = "no-marker"\ngains = { hunger = { marker = 0.0 } }\n'
        'onset = "acquired"\n[agent]\nnum_envs = 8\nnum_steps = 16\n'
    )
    spec = load_spec(path)
    assert spec.conditions[1].gains == {"hunger": {"marker": 0.0}}
    assert spec.agent.num_envs == 8
    with pytest.raises(SpecError):
        ExperimentSpec.from_dict({"name": "x"})


def test_seeds_per_job_on_the_command_line(tmp_path, capsys):
    """``--seeds-per-job`` sets how many seeds a job vmaps (what a resumed run keeps or
    redoes); the journal shows the jobs; 0 is refused before anything runs."""
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({**GOOD, "seeds": 3}))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--workers", "0",
                 "--seeds-per-job", "2", "--no-figure"]) == 0
    jobs = [json.loads(line)["seeds"] for line in (out / "journal.jsonl").read_text().splitlines()
            if json.loads(line)["event"] == "job"]
    assert jobs == [[0, 1], [2]]
    with pytest.raises(SystemExit) as e:
        main(["run", str(path), "--out", str(tmp_path / "x"), "--seeds-per-job", "0"])
    assert e.value.code == 2 and "must be an int >= 1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
