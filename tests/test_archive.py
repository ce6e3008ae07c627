"""``affectlab archive``: a long run's small records, claims checked on them, and suite
members restored from them so that a lost output folder does not cost their runs."""

import json

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from experiments.analysis.claims import check_all, load_claims
from experiments.archive import archive, archived_claims, restore
from experiments.catalogue import catalogue_item
from experiments.cli import main
from experiments.reproduce import mark_underpowered
from experiments.status import status
from experiments.suites.lesion_matrix import HEADLINES, matrix_values, member_values


def _finished(folder, spec, results=None):
    """A finished run as the runner leaves it (manifest, journal, results)."""
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(
        {"spec": spec.to_dict(), "timings": {"wall_s": 30.0}, "machine": {"cpu_count": 2}}))
    (folder / "journal.jsonl").write_text(json.dumps({"event": "start"}) + "\n")
    (results if results is not None else pd.DataFrame(
        columns=["run", "condition", "seed", "metric", "step", "value"])).to_csv(
        folder / "results.csv", index=False)
    return folder


def _member_results(task, spec, rng):
    """Rows of a matrix member's ``results.csv``: its headline metrics at two steps, for
    every condition and three seeds."""
    rows = [{"run": 0, "condition": c.name, "seed": s, "metric": h.metric, "step": step,
             "value": rng.normal()}
            for h in HEADLINES[task][1].values() for c in spec.conditions
            for s in spec.seed_list()[:3] for step in (100, 200)]
    return pd.DataFrame(rows)


def _loops_values(rng):
    """A ``values.csv`` of the loops experiment: every loops claim's metric, in its
    condition and intact, over 12 seeds."""
    claims = [c for c in load_claims() if c.experiment == "loops"]
    rows = [{"condition": cond, "seed": s, "metric": c.metric, "value": rng.normal(),
             "trials": np.nan}
            for c in claims for cond in dict.fromkeys((c.condition, "intact"))
            for s in range(12)]
    return pd.DataFrame(rows).drop_duplicates(["condition", "seed", "metric"])


@pytest.fixture
def run(tmp_path):
    """An output folder: the loops experiment finished, the quick matrix's paralysis
    member finished, its gambling member not started."""
    rng = np.random.default_rng(0)
    out = tmp_path / "out"
    loops = catalogue_item("loops", quick=True)
    _finished(out / loops.name, loops)
    _loops_values(rng).to_csv(out / loops.name / "values.csv", index=False)
    matrix = catalogue_item("lesion-matrix", quick=True)
    par = dict(matrix.members)["paralysis"]
    _finished(out / matrix.name / "paralysis", par, _member_results("paralysis", par, rng))
    return out, matrix


def test_finished_parts_are_archived_and_the_rest_said(run, tmp_path):
    out, matrix = run
    dest = tmp_path / "archive"
    lines = archive(out, dest, quick=True)
    assert "loops: archived values.csv, manifest.json, journal.jsonl" in lines
    assert "lesion-matrix/gambling: not started, not archived" in lines
    assert any(x.startswith("lesion-matrix/paralysis: archived manifest.json, journal.jsonl, "
                            "values.csv") for x in lines)
    assert "robustness/commons: not started, not archived" in lines
    loops = catalogue_item("loops", quick=True).name
    for name in ("values.csv", "manifest.json", "journal.jsonl"):
        assert (dest / "loops" / name).read_bytes() == (out / loops / name).read_bytes()
    assert not (dest / "loops" / "results.csv").exists()  # the raw results stay behind
    member = out / matrix.name / "paralysis"
    kept = pd.read_csv(dest / "lesion-matrix" / "paralysis" / "values.csv")
    pdt.assert_frame_equal(kept, member_values("paralysis", member), check_dtype=False)
    # the suite's report reads the archived values as it reads the raw results
    pdt.assert_frame_equal(matrix_values({"paralysis": dest / "lesion-matrix" / "paralysis"}),
                           matrix_values({"paralysis": member}), check_dtype=False)
    assert archive(out, dest, quick=True) == lines  # again: the same, nothing lost


def test_restored_members_are_finished_and_nothing_else_is(run, tmp_path):
    out, matrix = run
    dest = tmp_path / "archive"
    archive(out, dest, quick=True)
    lost = tmp_path / "new"
    lost.mkdir()
    assert restore(dest, lost, quick=True) == [
        f"lesion-matrix/paralysis: restored into {lost / matrix.name / 'paralysis'}"]
    parts = {(p.experiment, p.label): p for p in status(lost, quick=True)}
    restored = parts[("lesion-matrix", "paralysis")]
    assert restored.state == "done" and restored.spent_s == 30.0
    assert parts[("lesion-matrix", "gambling")].state == "not started"
    assert parts[("loops", catalogue_item("loops", quick=True).name)].state == "not started"
    # a folder that has it already is left alone
    assert "left as it is" in restore(dest, lost, quick=True)[0]
    # an archive of another spec (other seeds) is not taken for this one
    other = tmp_path / "other"
    assert restore(dest, other, quick=True, seed_range="development") == [
        "lesion-matrix/paralysis: archived for another spec, not restored"]
    assert not (other / matrix.name / "paralysis").exists()


def test_claims_on_the_archive_are_the_claims_on_the_run(run, tmp_path, capsys):
    out, _ = run
    dest = tmp_path / "archive"
    archive(out, dest, quick=True)
    table, missing = archived_claims(dest, quick=True)
    loops = [c for c in load_claims() if c.experiment == "loops"]
    direct = mark_underpowered(check_all(loops, {"loops": out / catalogue_item(
        "loops", quick=True).name}), loops, quick=True)  # as reproduce writes it
    pdt.assert_frame_equal(table.reset_index(drop=True), direct.reset_index(drop=True))
    assert "lesion-matrix" in missing and "loops" not in missing
    md = tmp_path / "claims.md"
    assert main(["archive", "--claims", str(dest), "--quick", "--md", str(md)]) == 0
    printed = capsys.readouterr().out
    assert "Not in the archive (claims not checked): " in printed and "`loops-" in printed
    assert md.read_text() == printed  # what compare_claims reads


def test_the_command_line_archives_and_refuses_wrong_paths(run, tmp_path, capsys):
    out, _ = run
    assert main(["archive", str(out), str(tmp_path / "a"), "--quick"]) == 0
    assert "loops: archived" in capsys.readouterr().out
    assert main(["archive", str(out)]) == 2
    assert main(["archive", "--claims", str(tmp_path / "nothing")]) == 2
    assert main(["archive", str(tmp_path / "nothing"), str(tmp_path / "b")]) == 2
    assert "no folder" in capsys.readouterr().out


def test_a_suites_claims_come_from_its_archived_members(tmp_path):
    """Every member of the quick lesion matrix archived, the suite never reported: its
    claims from the members' archived values equal those from its report on the raw
    results."""
    rng = np.random.default_rng(1)
    out, dest = tmp_path / "out", tmp_path / "archive"
    matrix = catalogue_item("lesion-matrix", quick=True)
    for task, spec in matrix.members:
        _finished(out / matrix.name / task, spec, _member_results(task, spec, rng))
    archive(out, dest, quick=True)
    table, missing = archived_claims(dest, quick=True)
    assert "lesion-matrix" not in missing
    raw = tmp_path / "raw"
    raw.mkdir()
    matrix.report(raw, {task: out / matrix.name / task for task, _ in matrix.members})
    claims = [c for c in load_claims() if c.experiment == "lesion-matrix"]
    direct = mark_underpowered(check_all(claims, {"lesion-matrix": raw}), claims, quick=True)
    mine = table[table["experiment"] == "lesion-matrix"].reset_index(drop=True)
    assert len(mine) == len(claims) > 0
    pdt.assert_frame_equal(mine, direct.reset_index(drop=True))
