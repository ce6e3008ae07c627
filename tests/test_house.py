"""The house of ``experiments/``: a task of one's own is one module and a claims file,
registered and run end to end without editing any module of affectlab; the layers are
enforced by the architecture linter (shown failing on an upward import)."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_experiments import tiny_spec

from experiments.analysis.plots import new_figure, save_figure
from experiments.analysis.tables import per_run, write_tables
from experiments.cli import main
from experiments.tasks import TASKS, Task, register, task_for

ROOT = Path(__file__).resolve().parent.parent
CLAIMS = """
[[claim]]
id = "tiny-felt"
experiment = "tiny-hunger"
kind = "control"
claim = "Without hunger the felt reward is gone"
condition = "hunger-lesion"
metric = "affect/felt_reward"
stat = "mean"
expect = "=="
value = 0.0
on = "estimate"
tolerance = 1e-9

[[claim]]
id = "tiny-impossible"
experiment = "tiny-hunger"
kind = "exploratory"
claim = "A claim that must fail"
condition = "hunger-lesion"
metric = "affect/felt_reward"
stat = "mean"
expect = ">"
value = 1e9
on = "estimate"
"""


def tiny_task_spec(quick: bool = False):
    """Does hunger make itself felt? (a task defined outside affectlab)"""
    return tiny_spec(name="tiny-hunger-quick" if quick else "tiny-hunger")


def tiny_report(run_dir):
    """Mean felt reward per run, its statistics and a one-panel figure."""
    df = pd.read_csv(Path(run_dir) / "results.csv")
    runs = per_run(df, "affect/felt_reward", "mean")
    write_tables(run_dir, runs, [("affect/felt_reward", "felt reward")])
    fig, axes = new_figure(1, (4, 3))
    axes[0].bar(runs["condition"], runs["value"])
    save_figure(fig, run_dir)


@pytest.fixture
def tiny_task(tmp_path):
    claims = tmp_path / "my_claims.toml"
    claims.write_text(CLAIMS)
    task = register(Task("tiny-hunger", tiny_task_spec, tiny_report, claims_file=claims))
    yield task
    TASKS.pop("tiny-hunger")


def test_a_task_of_ones_own_runs_end_to_end(tiny_task, tmp_path, capsys):
    assert task_for(tiny_task.spec(True)) is tiny_task  # its report serves its world
    # from the command line, by name, like a catalogued experiment
    out = tmp_path / "cli"
    assert main(["run", "tiny-hunger", "--quick", "--out", str(out), "--workers", "0"]) == 0
    for name in ("results.csv", "manifest.json", "statistics.csv", "figure.png", "claims.csv"):
        assert (out / name).is_file(), name
    claims = pd.read_csv(out / "claims.csv")
    assert list(claims["id"]) == ["tiny-felt", "tiny-impossible"]
    assert list(claims["passed"]) == [True, False]
    printed = capsys.readouterr().out
    assert "[PASS] control: Without hunger the felt reward is gone" in printed
    assert "[FAIL] exploratory: A claim that must fail" in printed
    assert main(["list"]) == 0
    assert "tiny-hunger" in capsys.readouterr().out


def test_register_refuses_a_taken_name_and_a_non_task():
    with pytest.raises(ValueError, match="already registered"):
        register(Task("paralysis", tiny_task_spec, tiny_report))
    with pytest.raises(TypeError, match="Task"):
        register("paralysis")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on a copy of the packages in ``tree`` (found first on the path)."""
    env = {"PYTHONPATH": str(tree), "PATH": str(Path(sys.executable).parent)}
    code = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    return subprocess.run([sys.executable, "-c", code, "--config", str(tree / "pyproject.toml"),
                           "--no-cache"], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=1200)  # hang guard only


@pytest.fixture
def tree_copy(tmp_path):
    """A copy of the three packages and pyproject.toml, linted clean."""
    pytest.importorskip("importlinter")
    for name in ("worlds", "affect", "experiments"):
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    clean = _lint(tmp_path)
    assert clean.returncode == 0, clean.stdout[-2000:]
    return tmp_path


def test_the_architecture_linter_fails_on_an_upward_import(tree_copy):
    bad = tree_copy / "worlds" / "base.py"  # the lowest layer imports the top one
    bad.write_text(bad.read_text() + "\nimport experiments.cli  # noqa: E402\n")
    proc = _lint(tree_copy)
    assert proc.returncode != 0
    assert "worlds <- affect <- experiments BROKEN" in proc.stdout
    assert "worlds.base -> experiments.cli" in proc.stdout


def test_the_architecture_linter_fails_on_a_cycle(tree_copy):
    bad = tree_copy / "affect" / "channels.py"  # hunger imports channels: now a cycle
    bad.write_text(bad.read_text() + "\nimport affect.hunger  # noqa: E402\n")
    proc = _lint(tree_copy)
    assert proc.returncode != 0
    assert "no import cycle between sibling modules anywhere BROKEN" in proc.stdout


def test_modules_and_functions_stay_small():
    """No module of the project over 450 lines, no function over 60 (issue 14)."""
    big, long = [], []
    for package in ("affect", "worlds", "experiments", "examples", "tests"):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text()
            if text.count("\n") > 450:
                big.append(path.name)
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    if node.end_lineno - node.lineno + 1 > 60:
                        long.append(f"{path.name}:{node.name}")
    assert not big and not long, (big, long)
