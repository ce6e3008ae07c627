"""The claims file and ``affectlab reproduce``: claims are checked, and a claim that must
fail does fail."""

import math

import pandas as pd
import pytest
from test_experiments import tiny_spec

from experiments.analysis.claims import Claim, ClaimsError, check_claim, load_claims
from experiments.cli import main
from experiments.reproduce import BEGIN, END, known_experiments, replace_section

STATS = pd.DataFrame([
    {"metric": "m", "condition": "intact", "mean": 1.0, "ci_low": 0.8, "ci_high": 1.2},
    {"metric": "m", "condition": "lesion", "mean": 0.5, "ci_low": 0.3, "ci_high": 0.7,
     "diff": -0.5, "diff_low": -0.8, "diff_high": -0.2, "ratio": 0.5, "ratio_low": 0.3,
     "ratio_high": 0.7, "hedges_g": -1.5, "g_low": -2.5, "g_high": -0.6, "p_perm": 0.003},
])


def claim(**kw):
    base = dict(id="c", experiment="foraging", claim="x", condition="lesion", metric="m",
                stat="diff", expect="<", value=0.0, on="ci")
    return Claim(**{**base, **kw})


@pytest.mark.parametrize("kw, passed", [
    ({}, True),  # diff CI [-0.8, -0.2] < 0
    ({"expect": ">"}, False),  # must fail
    ({"value": -0.3}, False),  # CI high end -0.2 is not below -0.3
    ({"stat": "mean", "expect": ">", "value": 0.25}, True),  # CI low 0.3 > 0.25
    ({"stat": "mean", "expect": ">", "value": 0.35}, False),  # CI low 0.3 is not
    ({"stat": "ratio", "expect": "<=", "value": 0.5, "on": "estimate"}, True),
    ({"stat": "ratio", "expect": "<", "value": 0.5, "on": "estimate"}, False),
    ({"stat": "p_perm", "expect": "<", "value": 0.05, "on": "estimate"}, True),
    ({"stat": "hedges_g", "expect": "==", "value": -1.4, "on": "estimate", "tolerance": 0.2},
     True),
    ({"stat": "hedges_g", "expect": "==", "value": -1.4, "on": "estimate", "tolerance": 0.05},
     False),
    ({"condition": "nobody"}, False),  # not measured is not passed
])
def test_claims_pass_and_fail_as_stated(kw, passed):
    row = check_claim(claim(**kw), STATS)
    assert row["passed"] is passed, row
    if kw.get("condition") == "nobody":
        assert row["measured"].startswith("not measured") and math.isnan(row["estimate"])


def test_the_shipped_claims_file_is_valid():
    claims = load_claims(known=known_experiments())
    assert len(claims) >= 20
    assert {c.experiment for c in claims} == {"foraging", "paralysis", "gambling", "social",
                                              "loops", "lesion-matrix", "robustness",
                                              "sensitivity"}


@pytest.mark.parametrize("text, match", [
    ('[[claim]]\nid = "a"\n', "missing field"),
    ('x = 1\n', "no \\[\\[claim\\]\\]"),
    ('[[claim]]\nid="a"\nexperiment="forage"\nclaim="x"\ncondition="i"\nmetric="m"\n'
     'stat="diff"\nexpect="<"\nvalue=0\n', "unknown experiment 'forage'"),
    ('[[claim]]\nid="a"\nexperiment="foraging"\nclaim="x"\ncondition="i"\nmetric="m"\n'
     'stat="median"\nexpect="<"\nvalue=0\n', "stat must be one of"),
    ('[[claim]]\nid="a"\nexperiment="foraging"\nclaim="x"\ncondition="i"\nmetric="m"\n'
     'stat="diff"\nexpect="=="\nvalue=0\n', "on = 'estimate'"),
    ('[[claim]]\nid="a"\nexperiment="foraging"\nclaim="x"\ncondition="i"\nmetric="m"\n'
     'stat="diff"\nexpect="<"\nvalue="zero"\n', "value must be a number"),
    ("not toml [", "not valid TOML"),
])
def test_malformed_claims_files(tmp_path, text, match):
    path = tmp_path / "claims.toml"
    path.write_text(text)
    with pytest.raises(ClaimsError, match=match):
        load_claims(path, known_experiments())


def test_replace_section():
    text = f"# R\n\nintro\n{BEGIN}\nold\n{END}\nrest\n"
    assert replace_section(text, "new") == f"# R\n\nintro\n{BEGIN}\nnew\n{END}\nrest\n"
    with pytest.raises(ClaimsError):
        replace_section("no markers", "new")


def test_reproduce_runs_checks_and_writes_the_readme_section(tmp_path, monkeypatch, capsys):
    from experiments.tasks import TASKS, Task
    from experiments.tasks.base import curves_report

    monkeypatch.setitem(TASKS, "foraging", Task("foraging", lambda quick: tiny_spec(),
                                                curves_report))
    claims = tmp_path / "claims.toml"
    claims.write_text(
        '[[claim]]\nid="felt"\nexperiment="foraging"\nclaim="lesion removes felt reward"\n'
        'condition="hunger-lesion"\nmetric="charts/survival"\nstat="diff"\nexpect="<"\n'
        'value=1.0\non="ci"\n'
        '[[claim]]\nid="impossible"\nexperiment="foraging"\nclaim="must fail"\n'
        'condition="hunger-lesion"\nmetric="charts/survival"\nstat="diff"\nexpect=">"\n'
        'value=1.0\non="ci"\n'
    )
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{BEGIN}\nold\n{END}\n")
    args = ["reproduce", "--quick", "--out", str(tmp_path / "r"), "--claims", str(claims),
            "--readme", str(readme), "--workers", "0"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[PASS] felt" in out and "[FAIL] impossible" in out and "1 of 2 claims pass" in out
    table = pd.read_csv(tmp_path / "r" / "claims.csv")
    assert list(table["passed"]) == [True, False]
    text = readme.read_text()
    assert "old" not in text and "**FAIL**" in text and "1 of 2 claims pass" in text
    assert main(args) == 0  # a second run reuses the finished experiment
    assert "not rerun" in capsys.readouterr().err


@pytest.mark.parametrize("lo, hi, passed", [(-0.1, 0.2, True), (0.0, 0.0, True),
                                            (0.05, 0.2, False), (-0.3, -0.01, False)])
def test_includes_checks_that_the_interval_holds_the_value(lo, hi, passed):
    c = Claim(id="c", experiment="foraging", claim="x", condition="lesion", metric="m",
              stat="mean", expect="includes", value=0.0)
    stats = pd.DataFrame([{"metric": "m", "condition": "lesion", "mean": (lo + hi) / 2,
                           "ci_low": lo, "ci_high": hi}])
    assert check_claim(c, stats)["passed"] is passed
