"""Docs that cannot rot: every code block of the README and the docs site is included from
``examples/`` (which the tests run), executed here, or (commands) parsed by the CLI's own
parser; the README stays short, with the two Quick start commands CI runs."""

import importlib.util
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from experiments.cli import build_parser
from experiments.reproduce import known_experiments
from experiments.spec import ExperimentSpec, SpecError

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
SNIPPET = re.compile(r'^--8<-- "([^":]+)(?::(\w+))?"$')


def blocks(path: Path) -> list[tuple[str, str]]:
    """``(language, code)`` of every fenced block of a Markdown file."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(path.read_text())]


def quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text().split("## Quick start", 1)[1]
    lang, code = blocks_of(text)[0]
    assert lang == "bash"
    return [line for line in code.splitlines() if line.strip()]


def blocks_of(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]


def test_the_readme_is_short_and_opens_with_the_two_commands():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200
    commands = quick_start()
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci == commands[1]  # CI runs the second command verbatim


def test_the_readme_example_is_the_example_file():
    section = (ROOT / "examples" / "lesion_experiment.py").read_text()
    section = section.split("# --8<-- [start:readme]\n")[1].split("# --8<-- [end:readme]")[0]
    python = [code for lang, code in blocks(ROOT / "README.md") if lang == "python"]
    assert python == [section]


def _snippet_ok(line: str) -> bool:
    m = SNIPPET.match(line.strip())
    if not m:
        return False
    path = ROOT / m.group(1)
    assert path.is_file(), line
    if m.group(2):
        assert f"# --8<-- [start:{m.group(2)}]" in path.read_text(), line
    return True


def command_problem(line: str) -> str | None:
    """Why a documented shell command would not work, or ``None``."""
    line = line.split("  #")[0].strip()
    words = shlex.split(line)
    if words[0] == "affectlab":
        try:
            build_parser().parse_args(words[1:])
        except SystemExit:
            return f"the CLI does not accept {line!r}"
    elif words[:2] == ["python", "-m"]:
        if importlib.util.find_spec(words[2]) is None:
            return f"no module {words[2]!r}: {line!r}"
    elif words[0] == "python":
        if not (ROOT / words[1]).is_file():
            return f"no file {words[1]!r}: {line!r}"
    elif line not in quick_start():
        return f"unchecked command {line!r}"
    return None


def test_the_command_check_can_fail():
    assert command_problem("affectlab run foraging --quick") is None
    assert "does not accept" in command_problem("affectlab run foraging --quik")
    assert "no file" in command_problem("python examples/nothing.py")
    assert "unchecked" in command_problem("rm -rf results")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_and_spec_in_the_docs_is_valid(page):
    problems = []
    for lang, code in blocks(page):
        if lang in ("bash", "sh", "console"):
            problems += [command_problem(line) for line in code.splitlines()
                         if line.strip() and not line.startswith("#")]
        elif lang == "toml":
            data = tomllib.loads(code)
            if "world" in data:
                try:
                    ExperimentSpec.from_dict(data).validate()
                except SpecError as e:
                    problems.append(f"spec block: {e}")
    assert [p for p in problems if p] == [], page.name


def test_every_python_block_of_the_docs_is_included_from_examples_or_runs(tmp_path):
    for page in PAGES:
        if page.name == "README.md":
            continue  # its one block is the example file's section (above)
        run = []
        for lang, code in blocks(page):
            if lang != "python":
                continue
            lines = [line for line in code.splitlines() if line.strip()]
            if all(_snippet_ok(line) for line in lines):
                continue
            run.append(code)
        if run:
            proc = subprocess.run([sys.executable, "-c", "\n".join(run)], cwd=tmp_path,
                                  capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, f"{page.name}:\n{proc.stderr[-2000:]}"


def test_every_experiment_has_a_page_with_its_results_blocks():
    """A quick run's block (with its figure) and a full-size run's section."""
    for name in known_experiments():
        page = ROOT / "docs" / "experiments" / f"{name}.md"
        text = page.read_text()
        block = text.split("<!-- results:begin -->")[1].split("<!-- results:end -->")[0]
        assert f"../figures/{name}.png" in block and "claims" in block.lower(), name
        assert (ROOT / "docs" / "figures" / f"{name}.png").is_file(), name
        assert text.count("<!-- full:begin -->") == text.count("<!-- full:end -->") == 1, name


def test_the_api_reference_names_the_entry_points():
    api = (ROOT / "docs" / "api.md").read_text()
    for obj in ("affect.Lesion", "worlds.make", "experiments.spec.ExperimentSpec",
                "experiments.runner.run_experiment"):
        assert f"::: {obj}\n" in api, obj
