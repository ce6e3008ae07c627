"""The claims' registration (claims.lock): the shipped files agree, and every breach of
the rules is caught."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from experiments.analysis.claims import CLAIMS_FILE, ClaimsError
from experiments.analysis.registration import (
    check_registration,
    lock_path,
    read_lock,
    register,
)
from experiments.cli import main
from experiments.reproduce import reproduce

LOCK = lock_path(CLAIMS_FILE)


def test_every_shipped_claim_is_as_registered():
    assert check_registration(CLAIMS_FILE) == []


def test_the_lock_only_ever_grew():
    """Every line any commit gave the lock is still in it (nothing reworded or dropped)."""
    repo = Path(__file__).resolve().parent.parent
    log = subprocess.run(["git", "log", "--format=%H", "--", "experiments/claims.lock"],
                         cwd=repo, capture_output=True, text=True)
    if log.returncode != 0 or not log.stdout.strip():
        pytest.skip("not a git checkout with the lock's history")
    now = set(LOCK.read_text().splitlines())
    for commit in log.stdout.split():
        old = subprocess.run(["git", "show", f"{commit}:experiments/claims.lock"], cwd=repo,
                             capture_output=True, text=True, check=True).stdout
        assert set(old.splitlines()) <= now, f"lines of {commit[:8]} are gone from the lock"


@pytest.fixture
def files(tmp_path):
    """A copy of the shipped claims file and its lock."""
    shutil.copyfile(CLAIMS_FILE, tmp_path / "claims.toml")
    shutil.copyfile(LOCK, tmp_path / "claims.lock")
    return tmp_path / "claims.toml"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


FORAGING = 'id = "foraging-survival"\nexperiment = "foraging"\nkind = "confirmatory"\n'


@pytest.mark.parametrize("old, new, match", [
    ('claim = "Hunger-lesioned agents survive less during training than intact ones"',
     'claim = "Hunger-lesioned agents survive less"', r"foraging-survival: changed .*claim"),
    ('id = "paralysis-equal-ratio"', 'id = "paralysis-equal-ratio-v2"',
     r"paralysis-equal-ratio: registered on .* no longer in the claims file"),
    ('id = "foraging-final"\nexperiment = "foraging"\nkind = "exploratory"',
     'id = "foraging-final"\nexperiment = "foraging"\nkind = "confirmatory"',
     r"foraging-final: kind 'exploratory' -> 'confirmatory'"),
    (FORAGING, FORAGING.replace("confirmatory", "control"), r"kind 'confirmatory' -> 'control'"),
])
def test_a_breach_of_the_rules_is_caught(files, old, new, match):
    _edit(files, old, new)
    problems = check_registration(files)
    assert any(re.search(match, p) for p in problems), problems
    with pytest.raises(ClaimsError, match="breaks its registration"):
        register(files)
    with pytest.raises(ClaimsError, match="breaks its registration"):
        reproduce(tmp := files.parent / "out", claims_file=files, quick=True)
    assert not tmp.exists()  # refused before anything ran


def test_a_threshold_change_names_both_values(files):
    text = files.read_text()
    block = text[text.index('id = "paralysis-equal-ratio"'):]
    value = re.search(r"\nvalue = (\S+)\n", block).group(1)
    _edit(files, block[:block.index("\n[[claim]]")],
          block[:block.index("\n[[claim]]")].replace(f"value = {value}", "value = 2.5"))
    (problem,) = check_registration(files)
    assert f"value {float(value)!r} -> 2.5" in problem


def test_a_demotion_to_exploratory_is_allowed(files):
    _edit(files, FORAGING, FORAGING.replace("confirmatory", "exploratory"))
    assert check_registration(files) == []


def test_a_new_claim_is_registered_by_appending_its_line(files, capsys):
    text = files.read_text().replace('id = "foraging-survival"', 'id = "foraging-survival-2"', 1)
    files.write_text(files.read_text() + text[text.index("[[claim]]\nid = \"foraging-survival-2"):
                                              text.index("[[claim]]\nid = \"foraging-return")])
    (problem,) = check_registration(files)
    assert problem.startswith("foraging-survival-2: not registered")
    assert main(["claims", "--claims", str(files)]) == 1
    before = files.with_suffix(".lock").read_text()
    assert main(["claims", "--claims", str(files), "--register"]) == 0
    after = files.with_suffix(".lock").read_text()
    assert after.startswith(before) and after.count("\n") == before.count("\n") + 1
    row = json.loads(after.splitlines()[-1])
    assert row["id"] == "foraging-survival-2" and row["kind"] == "confirmatory"
    assert check_registration(files) == [] and register(files) == []
    assert main(["claims", "--claims", str(files)]) == 0
    assert "every claim as registered" in capsys.readouterr().out


def test_a_claims_file_without_a_lock_is_not_checked(tmp_path):
    shutil.copyfile(CLAIMS_FILE, tmp_path / "claims.toml")
    assert check_registration(tmp_path / "claims.toml") == []
    assert main(["claims", "--claims", str(tmp_path / "claims.toml")]) == 1


@pytest.mark.parametrize("line, match", [
    ("{not json", "not a JSON line"), ('{"id": "x"}', "needs id, registered and kind"),
    ("[1, 2]", "needs id, registered and kind"),
])
def test_a_malformed_lock_names_its_line(files, line, match):
    lock = files.with_suffix(".lock")
    lock.write_text(lock.read_text() + line + "\n")
    with pytest.raises(ClaimsError, match=rf"claims.lock, line \d+: .*{match}"):
        read_lock(lock)


def test_a_claim_registered_twice_is_refused(files):
    lock = files.with_suffix(".lock")
    lock.write_text(lock.read_text() + lock.read_text().splitlines()[-1] + "\n")
    with pytest.raises(ClaimsError, match="registered twice"):
        read_lock(lock)
