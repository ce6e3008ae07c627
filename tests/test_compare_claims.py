"""Comparing the claims of two runs on the same seeds (``experiments.tools.compare_claims``)."""
# ruff: noqa: E501  (the markdown rows are as results.md writes them)

import pytest

from experiments.tools.compare_claims import compare, main, markdown, read_claims

FIRST = """Some text | not a row
| | claim | measured | expected |
|---|---|---|---|
| PASS | A claim (`a`) | diff -0.0261 [95% CI -0.0393, -0.013], p = 0.00014; Holm p = 0.00014 | diff < 0 |
| **FAIL** | B claim (`b`) | diff -0.0742 [95% CI -0.172, 0.024], p = 0.059; Holm p = 0.18 | diff < 0 |
| PASS | C claim (`c`) | diff 0.02 [95% CI 0.01, 0.03], p = 0.001; Holm p = 0.04 | diff > 0 |
| PASS | D claim (`d`) | mean 5.4 [95% CI 5, 5.8] | mean > 0 (estimate) |
| paralysis-reversals | confi | -0.08 FAIL | an ablation row, not a claims row |
"""
SECOND = """| | claim | measured | expected |
|---|---|---|---|
| PASS | A claim (`a`) | diff -0.0397 [95% CI -0.0584, -0.0211], p = 1e-05; Holm p = 9e-05 | diff < 0 |
| PASS | B claim (`b`) | diff -0.09 [95% CI -0.16, -0.02], p = 0.01; Holm p = 0.04 | diff < 0 |
| **FAIL** | C claim (`c`) | diff 0.02 [95% CI 0.01, 0.03], p = 0.001; Holm p = 0.07 | diff > 0 |
| PASS | D claim (`d`) | mean 5.4 [95% CI 5, 5.8] (underpowered: 8 seeds, the power table asks 9; a smoke test) | mean > 0 (estimate) |
| PASS | E claim (`e`) | mean 1 [95% CI 0.5, 1.5] | mean > 0 (estimate) |
"""


def test_two_runs_are_compared_claim_by_claim(tmp_path):
    (tmp_path / "a.md").write_text(FIRST)
    (tmp_path / "b.md").write_text(SECOND)
    first, second = read_claims(tmp_path / "a.md"), read_claims(tmp_path / "b.md")
    assert set(first) == {"a", "b", "c", "d"}
    assert first["b"] == {"passed": False, "holm": "Holm p = 0.18",
                          "measured": "diff -0.0742 [95% CI -0.172, 0.024], p = 0.059"}
    assert second["d"]["measured"] == "mean 5.4 [95% CI 5, 5.8]"
    rows, counts = compare(first, second)
    assert [r["id"] for r in rows] == ["a", "b", "c"]  # d: the same but for the remark
    assert counts == {"both": 4, "verdicts": 2, "numbers": 2, "only_first": 0,
                      "only_second": 1}
    by_id = {r["id"]: r for r in rows}
    assert not by_id["a"]["verdict_changed"]
    assert by_id["b"]["verdict_changed"] and not by_id["b"]["family_only"]
    assert by_id["c"]["family_only"]  # same numbers, another Holm family
    text = markdown(rows, counts)
    assert "| `b` | **FAIL** diff -0.0742 [95% CI -0.172, 0.024], p = 0.059 | PASS diff" in text
    assert "| `c` |" in text and "changed (the Holm family only)" in text
    assert text.endswith("4 claims in both runs: 2 verdicts and 2 measurements differ (Holm "
                         "p-values left out); 0 only in the first, 1 only in the second.")

    assert main([str(tmp_path / "a.md"), str(tmp_path / "b.md"),
                 "--out", str(tmp_path / "c.md")]) == 0
    assert (tmp_path / "c.md").read_text().strip() == text


def test_a_claim_listed_twice_or_a_missing_file_is_refused(tmp_path, capsys):
    (tmp_path / "twice.md").write_text(SECOND + SECOND.splitlines()[2] + "\n")
    with pytest.raises(ValueError, match="twice.md:8: claim 'a' is listed twice"):
        read_claims(tmp_path / "twice.md")
    for files, says in (([tmp_path / "twice.md", tmp_path / "twice.md"], "listed twice"),
                        ([tmp_path / "missing.md", tmp_path / "twice.md"], "missing.md")):
        with pytest.raises(SystemExit) as e:
            main([str(f) for f in files])
        assert e.value.code == 2 and says in capsys.readouterr().err
