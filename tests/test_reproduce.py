"""The claims file and ``affectlab reproduce``: claims are checked, and a claim that must
fail does fail."""

import hashlib
import json
import math

import pandas as pd
import pytest
from test_experiments import tiny_spec

from experiments.analysis.claims import (
    Claim,
    ClaimsError,
    adjust,
    check_all,
    check_claim,
    load_claims,
)
from experiments.cli import main
from experiments.reproduce import BEGIN, END, known_experiments, replace_section, write_docs
from experiments.spec import CONFIRMATORY_SEEDS, SpecError, confirmatory

# 8 seeds: the lesion lowers m by 0.5 in every seed (+- 0.05), the control is identical
SEEDS = range(8)
BASE = [1.0, 1.3, 0.8, 1.1, 0.9, 1.2, 1.05, 0.95]
NOISE = [0.05, -0.05, 0.02, -0.02, 0.04, -0.04, 0.0, 0.0]
VALUES = pd.DataFrame(
    [{"condition": "intact", "seed": s, "metric": "m", "value": b}
     for s, b in zip(SEEDS, BASE, strict=True)]
    + [{"condition": "lesion", "seed": s, "metric": "m", "value": b - 0.5 + e}
       for s, b, e in zip(SEEDS, BASE, NOISE, strict=True)]
    + [{"condition": "control", "seed": s, "metric": "m", "value": b}
       for s, b in zip(SEEDS, BASE, strict=True)])


def claim(**kw):
    base = dict(id="c", experiment="foraging", kind="confirmatory", claim="x",
                condition="lesion", metric="m", stat="diff", expect="<", value=0.0, on="ci")
    return Claim(**{**base, **kw})


@pytest.mark.parametrize("kw, passed", [
    ({}, True),  # diff -0.5 in every seed: < 0
    ({"expect": ">"}, False),  # must fail
    ({"value": -0.45}, True),  # paired: the spread of the differences is small
    ({"value": -0.55}, False),
    ({"stat": "mean", "expect": ">", "value": 0.4}, True),  # mean 0.54, sd 0.17
    ({"stat": "mean", "expect": ">", "value": 0.6}, False),
    ({"stat": "ratio", "expect": "<", "value": 0.6}, True),  # ratio 0.54 (Fieller test)
    ({"stat": "ratio", "expect": "<", "value": 0.5}, False),
    ({"stat": "ratio", "expect": "<=", "value": 0.54, "on": "estimate"}, True),
    ({"stat": "ratio", "expect": "<", "value": 0.5, "on": "estimate"}, False),
    ({"stat": "p_perm", "expect": "<", "value": 0.05, "on": "estimate"}, True),
    ({"stat": "d_z", "expect": "<", "value": -5.0, "on": "estimate"}, True),
    ({"condition": "control", "expect": "within", "margin": 0.01}, True),  # identical
    ({"expect": "within", "margin": 0.1}, False),  # -0.5 is not within 0 +- 0.1
    ({"expect": "within", "value": -0.5, "margin": 0.1}, True),
    ({"condition": "nobody"}, False),  # not measured is not passed
])
def test_claims_pass_and_fail_as_stated(kw, passed):
    row = check_claim(claim(**kw), VALUES)
    assert row["passed"] is passed, row
    if kw.get("condition") == "nobody":
        assert row["measured"].startswith("not measured") and math.isnan(row["estimate"])


def test_a_claim_on_too_few_seeds_is_not_tested():
    few = VALUES[VALUES["seed"] < 3]
    row = check_claim(claim(), few)
    assert row["passed"] is False and "too few seeds" in row["measured"]
    assert math.isnan(row["p"]) and math.isnan(row["ci_low"])


def test_the_identical_control_has_a_zero_paired_difference_with_a_zero_interval():
    row = check_claim(claim(condition="control", expect="<", value=0.0), VALUES)
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == (0.0, 0.0, 0.0)
    assert row["p"] == 1.0 and row["passed"] is False


def test_rates_with_zero_events_are_bounded_not_divided():
    rows = []
    for s in range(6):
        rows.append({"condition": "intact", "seed": s, "metric": "r", "value": 0.0,
                     "trials": 300})
        rows.append({"condition": "lesion", "seed": s, "metric": "r", "value": 0.2 + 0.01 * s,
                     "trials": 300})
    vals = pd.DataFrame(rows)
    ub = 1 - 0.05 ** (1 / 1800)  # one-sided 95% Clopper-Pearson bound of 0 in 1800
    row = check_claim(claim(condition="intact", metric="r", stat="rate_ub", expect="<=",
                            value=0.002), vals)
    assert row["estimate"] == pytest.approx(ub) and row["passed"] is True
    assert row["p"] == pytest.approx((1 - 0.002) ** 1800)  # exact binomial P(X = 0)
    ratio = check_claim(claim(metric="r", stat="ratio_ub", expect=">=", value=10.0), vals)
    assert ratio["estimate"] == pytest.approx(0.225 / ub) and ratio["passed"] is True
    assert not check_claim(claim(metric="r", stat="ratio_ub", expect=">=", value=200.0),
                           vals)["passed"]
    plain = check_claim(claim(metric="r", stat="ratio", expect=">=", value=10.0), vals)
    assert plain["passed"] is False  # a ratio over a zero rate is no evidence


def test_holm_adjusts_the_confirmatory_family_only():
    rows = [check_claim(claim(id=f"c{i}", kind=kind, value=v), VALUES)
            for i, (kind, v) in enumerate([("confirmatory", -0.47), ("confirmatory", 0.0),
                                           ("exploratory", -0.47)])]
    table = adjust(pd.DataFrame(rows))
    p = table["p"].to_numpy()
    lo, hi = sorted(p[:2])  # Holm over two: the smaller x 2, the larger x 1 (monotone)
    assert sorted(table["p_holm"].iloc[:2]) == pytest.approx([2 * lo, max(2 * lo, hi)])
    assert math.isnan(table["p_holm"].iloc[2])  # exploratory: unadjusted
    assert bool(table["passed"].iloc[2]) == (p[2] < 0.05)


def test_the_shipped_claims_file_is_valid():
    claims = load_claims(known=known_experiments())
    assert len(claims) >= 20
    assert {c.experiment for c in claims} == {"foraging", "paralysis", "gambling", "social",
                                              "loops", "lesion-matrix", "robustness",
                                              "sensitivity"}


@pytest.mark.parametrize("text, match", [
    ('[[claim]]\nid = "a"\n', "missing field"),
    ('x = 1\n', "no \\[\\[claim\\]\\]"),
    ('[[claim]]\nid="a"\nexperiment="forage"\nkind="confirmatory"\nclaim="x"\ncondition="i"\nmetric="m"\n'
     'stat="diff"\nexpect="<"\nvalue=0\n', "unknown experiment 'forage'"),
    ('[[claim]]\nid="a"\nexperiment="foraging"\nkind="confirmatory"\nclaim="x"\ncondition="i"\nmetric="m"\n'
     'stat="median"\nexpect="<"\nvalue=0\n', "stat must be one of"),
    ('[[claim]]\nid="a"\nexperiment="foraging"\nkind="confirmatory"\nclaim="x"\ncondition="i"\nmetric="m"\n'
     'stat="diff"\nexpect="=="\nvalue=0\n', "use on = 'estimate'"),
    ('[[claim]]\nid="a"\nexperiment="foraging"\nkind="found"\nclaim="x"\ncondition="i"\n'
     'metric="m"\nstat="diff"\nexpect="<"\nvalue=0\n', "kind must be one of"),
    ('[[claim]]\nid="a"\nexperiment="foraging"\nkind="control"\nclaim="x"\ncondition="i"\n'
     'metric="m"\nstat="diff"\nexpect="within"\nvalue=0\n', "margin > 0"),
    ('[[claim]]\nid="a"\nexperiment="foraging"\nkind="confirmatory"\nclaim="x"\ncondition="i"\nmetric="m"\n'
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

    monkeypatch.setitem(TASKS, "foraging", Task("foraging", lambda quick: tiny_spec(seeds=4),
                                                curves_report))
    claims = tmp_path / "claims.toml"
    claims.write_text(
        '[[claim]]\nid="felt"\nexperiment="foraging"\nkind="confirmatory"\n'
        'claim="lesion removes felt reward"\n'
        'condition="hunger-lesion"\nmetric="charts/survival"\nstat="diff"\nexpect="<"\n'
        'value=1.0\non="ci"\n'
        '[[claim]]\nid="impossible"\nexperiment="foraging"\nkind="exploratory"\nclaim="must fail"\n'
        'condition="hunger-lesion"\nmetric="charts/survival"\nstat="diff"\nexpect=">"\n'
        'value=1.0\non="ci"\n'
    )
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{BEGIN}\nold\n{END}\n")
    docs = tmp_path / "docs"
    (docs / "experiments").mkdir(parents=True)
    (docs / "results.md").write_text(f"# all\n{BEGIN}\n{END}\n")
    page = docs / "experiments" / "foraging.md"
    page.write_text("# foraging\n<!-- results:begin -->\nold\n<!-- results:end -->\nreading\n")
    args = ["reproduce", "--quick", "--out", str(tmp_path / "r"), "--claims", str(claims),
            "--readme", str(readme), "--docs", str(docs), "--workers", "0"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[PASS] felt" in out and "[FAIL] impossible" in out
    assert "1 of 1 confirmatory claims pass" in out and "0 of 1 exploratory" in out
    table = pd.read_csv(tmp_path / "r" / "claims.csv")
    assert list(table["passed"]) == [True, False]
    text = readme.read_text()
    assert "\nold\n" not in text and "**FAIL**" in text
    assert "1 of 1 confirmatory claims pass" in text and "Exploratory claims" in text
    block = page.read_text()
    assert "\nold\n" not in block and "../figures/foraging.png" in block and "reading" in block
    assert "(confirmatory range)" in block and "`felt`" in block  # stamp and its claims
    assert (docs / "figures" / "foraging.png").is_file()
    assert "1 of 1 confirmatory claims pass" in (docs / "results.md").read_text()
    manifest = json.loads((tmp_path / "r" / "tiny" / "manifest.json").read_text())
    assert manifest["seed_range"]["this_run"] == "confirmatory"  # fresh seeds
    assert min(manifest["seeds"]) >= CONFIRMATORY_SEEDS
    record = json.loads((tmp_path / "r" / "reproduce.json").read_text())
    assert record["claims_file"]["sha256"] == hashlib.sha256(claims.read_bytes()).hexdigest()
    assert main(args) == 0  # a second run reuses the finished experiment
    assert "not rerun" in capsys.readouterr().err
    before = manifest["timings"]["total_s"]
    assert main(args + ["--fresh"]) == 0  # --fresh recomputes it
    err = capsys.readouterr().err
    assert "not rerun" not in err and "recomputes it" not in err
    again = json.loads((tmp_path / "r" / "tiny" / "manifest.json").read_text())
    assert again["timings"]["total_s"] != before


def test_a_full_size_run_writes_its_own_docs_sections(tmp_path):
    """Beside a quick run's block, a full-size run writes its own page section, figure
    and results.md section; a file without the markers is an error that names it."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"created": "2026-12-03", "seeds": [0]}))
    (run / "figure.png").write_bytes(b"png")
    pd.DataFrame({"condition": ["intact"] * 4 + ["hunger-lesion"] * 4, "seed": [0, 1, 2, 3] * 2,
                  "metric": "charts/survival", "value": [1, 1.1, 0.9, 1, 0, 0.1, 0.2, 0],
                  "trials": math.nan}).to_csv(run / "values.csv", index=False)
    claim = Claim(id="felt", experiment="foraging", kind="confirmatory", claim="c",
                  condition="hunger-lesion", metric="charts/survival", stat="diff",
                  expect="<", value=0.0, on="ci")
    table = check_all([claim], {"foraging": run})
    docs = tmp_path / "docs"
    (docs / "experiments").mkdir(parents=True)
    quick = "# foraging\n<!-- results:begin -->\nquick\n<!-- results:end -->\nreading\n"
    page = docs / "experiments" / "foraging.md"
    page.write_text(quick)
    (docs / "results.md").write_text(f"{BEGIN}\nquick\n{END}\n")
    with pytest.raises(ClaimsError, match="results.md: the file has no <!-- reproduce-full"):
        write_docs(docs, table, {"foraging": run}, "full md", quick=False)
    (docs / "results.md").write_text(f"{BEGIN}\nquick\n{END}\n<!-- reproduce-full:begin -->"
                                     "\n<!-- reproduce-full:end -->\n")
    with pytest.raises(ClaimsError, match="foraging.md: the file has no <!-- full:begin"):
        write_docs(docs, table, {"foraging": run}, "full md", quick=False)
    page.write_text(quick + "<!-- full:begin -->\n<!-- full:end -->\n")
    write_docs(docs, table, {"foraging": run}, "full md", quick=False)
    text = page.read_text()
    assert text.startswith(quick) and "../figures/foraging-full.png" in text
    assert "`felt`" in text.split("<!-- full:begin -->")[1]
    assert (docs / "figures" / "foraging-full.png").is_file()
    assert not (docs / "figures" / "foraging.png").exists()
    results = (docs / "results.md").read_text()
    assert f"{BEGIN}\nquick\n{END}" in results and "\nfull md\n" in results


def test_seeds_come_from_one_range():
    spec = tiny_spec(seeds=4)
    assert spec.seed_range() == "development"
    moved = confirmatory(spec)
    assert moved.seed_list() == list(range(CONFIRMATORY_SEEDS, CONFIRMATORY_SEEDS + 4))
    assert moved.seed_range() == "confirmatory" and confirmatory(moved) == moved
    with pytest.raises(SpecError, match="straddle"):
        tiny_spec(seeds=4, seed_offset=CONFIRMATORY_SEEDS - 2).validate()


@pytest.mark.parametrize("shift, passed", [(0.0, True), (0.02, True), (0.4, False)])
def test_includes_checks_that_the_interval_holds_the_value(shift, passed):
    c = claim(stat="mean", expect="includes", value=0.0)
    vals = VALUES.assign(value=VALUES["value"] - VALUES.groupby("condition")["value"].transform(
        "mean") + shift)
    assert check_claim(c, vals)["passed"] is passed


def test_the_machine_records_the_cpu_model_and_its_vector_sets(tmp_path):
    """A run's manifest says which CPU made it (XLA compiles for its vector sets, and
    a long training amplifies their rounding); the docs' stamp shows it, and a manifest
    written before it was recorded still gives a stamp."""
    from affect.storage import machine
    from experiments.reproduce import run_stamp

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: fpu sse4_2 avx "
                    "avx2 fma avx512f\n\nprocessor\t: 1\nmodel name\t: Other\n")
    m = machine(info)
    assert m["cpu"] == "Test CPU 9000"
    assert m["cpu_flags"] == ["sse4_2", "avx", "avx2", "fma", "avx512f"]
    assert m["cpu_count"] >= 1 and m["platform"]
    assert machine(tmp_path / "missing")["cpu_flags"] == []

    run = {"created": "2026-12-03T08:00:00", "seeds": [0, 1], "versions": {"jax": "0.10.2"},
           "spec": tiny_spec().to_dict(), "git": {"revision": "abc", "dirty": False}}
    (tmp_path / "manifest.json").write_text(json.dumps({**run, "machine": m}))
    assert "(Test CPU 9000, avx512f); git abc." in run_stamp(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({**run, "machine": {"cpu_count": 2}}))
    assert run_stamp(tmp_path).endswith("2 CPUs; git abc.")
