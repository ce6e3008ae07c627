"""Keep a long run's small records where they outlive its machine: ``affectlab archive``.

A full catalogue runs for many hours, often over several sessions, and its output
folder (gigabytes: the raw ``results.csv`` of each run) is the only copy of the work.
Its claims, though, are checked on each experiment's per-run values (``values.csv``),
which are small. Three uses:

``affectlab archive OUT DEST``
    Copies into ``DEST/<experiment>/`` the small records of every finished experiment of
    ``OUT`` (``values.csv``, ``statistics.csv``, ``claims.csv``, ``manifest.json``,
    ``journal.jsonl``) and, for a suite whose report reads its members' values
    (:attr:`~experiments.suites.Suite.member_values`: the lesion matrix), of every
    finished member (its per-run values, manifest and journal) into
    ``DEST/<suite>/<member>/``. Run it after each session and keep ``DEST`` (commit it).
``affectlab archive --claims DEST``
    Checks the claims on the archive as ``reproduce`` would on ``OUT``: the claims table
    of the experiments whose values are all there (a suite's from its archived members
    where its own values are missing); the others are listed as missing.
``affectlab archive --restore DEST OUT``
    Puts the archived suite members back into ``OUT`` where it has no finished run of
    them, so that ``affectlab reproduce --out OUT`` uses them instead of running them
    again. Experiments are not restored: their figures need the raw results, so a lost
    experiment is run again.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd

from affect.storage import atomic_write_bytes, atomic_write_text
from experiments.analysis.claims import CLAIMS_FILE, check_all
from experiments.catalogue import catalogue_item, catalogue_plan
from experiments.reproduce import claims_markdown, headline, mark_underpowered
from experiments.status import status
from experiments.suites import SUITES, Suite, finished_member, finished_run

RECORDS = ("values.csv", "statistics.csv", "claims.csv", "manifest.json", "journal.jsonl")
MEMBER_RECORDS = ("manifest.json", "journal.jsonl")


def archive(out: str | Path, dest: str | Path, quick: bool = False,
            seed_range: str = "confirmatory", claims_file: str | Path = CLAIMS_FILE) -> list[str]:
    """Copy the small records of every finished part of ``out`` into ``dest`` (see the
    module); returns one line per part: what was archived or why not."""
    out, dest = Path(out), Path(dest)
    lines = []
    parts = status(out, quick, seed_range, claims_file=claims_file)
    for name in dict.fromkeys(p.experiment for p in parts):
        mine = [p for p in parts if p.experiment == name]
        if name not in SUITES:
            lines.append(_keep(mine[0].folder, dest / name, RECORDS, name)
                         if mine[0].state == "done" else f"{name}: {mine[0].state}, not archived")
            continue
        suite = catalogue_item(name, quick, seed_range)
        if all(p.state == "done" for p in mine) and (out / suite.name / "values.csv").is_file():
            lines.append(_keep(out / suite.name, dest / name, RECORDS, name))
        for p in mine:
            what = f"{name}/{p.label}"
            if p.state != "done":
                lines.append(f"{what}: {p.state}, not archived")
            elif suite.member_values is None:
                lines.append(f"{what}: done; its suite's report needs the raw results, "
                             "not archived")
            else:
                lines.append(_keep_member(suite, p.label, p.folder, dest / name / p.label))
    return lines


def _keep(src: Path, dest: Path, names: tuple[str, ...], what: str) -> str:
    """Copy the files ``names`` that ``src`` has into ``dest``; a line saying so."""
    dest.mkdir(parents=True, exist_ok=True)
    kept = [n for n in names if (src / n).is_file()]
    for n in kept:  # atomically: a crash leaves the old file or the new one
        atomic_write_bytes(dest / n, (src / n).read_bytes())
    return f"{what}: archived {', '.join(kept)}"


def _keep_member(suite: Suite, label: str, src: Path, dest: Path) -> str:
    """A finished member's per-run values (as its suite's report reads them), manifest
    and journal into ``dest``."""
    line = _keep(src, dest, MEMBER_RECORDS, f"{suite.experiment or suite.name}/{label}")
    values = suite.member_values(label, src)
    atomic_write_text(dest / "values.csv", values.to_csv(index=False))
    return line + f", values.csv ({len(values):,} rows)"


def archived_claims(dest: str | Path, quick: bool = False,
                    claims_file: str | Path = CLAIMS_FILE) -> tuple[pd.DataFrame, list[str]]:
    """The claims table (as ``reproduce`` writes it) of the experiments of ``dest`` whose
    values are all archived, and the names of the others."""
    dest = Path(dest)
    claims, names = catalogue_plan(claims_file, None)
    dirs, missing = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            d = dest / name
            if not (d / "values.csv").is_file() and name in SUITES:
                d = _suite_values(SUITES[name](quick), d, Path(tmp) / name)
            if d is None or not (d / "values.csv").is_file():
                missing.append(name)
            else:
                dirs[name] = d
        table = check_all([c for c in claims if c.experiment in dirs], dirs)
    return mark_underpowered(table, claims, quick), missing


def _suite_values(suite: Suite, archived: Path, work: Path) -> Path | None:
    """A folder with the suite's ``values.csv``, written by its report from the archived
    members' values (``None`` unless the suite reads members' values and all are there)."""
    dirs = {label: archived / label for label, _ in suite.members}
    if suite.member_values is None or not all((d / "values.csv").is_file()
                                              for d in dirs.values()):
        return None
    work.mkdir(parents=True)
    suite.report(work, dirs)
    return work


def restore(dest: str | Path, out: str | Path, quick: bool = False,
            seed_range: str = "confirmatory") -> list[str]:
    """Put the archived members of ``dest`` (of suites that read members' values) back
    into ``out`` where it has no finished run of them; one line per member."""
    dest, out, lines = Path(dest), Path(out), []
    for name in SUITES:
        suite = catalogue_item(name, quick, seed_range)
        if suite.member_values is None or not (dest / name).is_dir():
            continue
        for i, (label, spec) in enumerate(suite.members):
            src, to = dest / name / label, out / suite.name / label
            if not (src / "values.csv").is_file():
                continue
            if finished_member(suite, i, out / suite.name) is not None:
                lines.append(f"{name}/{label}: {out} has a finished run, left as it is")
                continue
            staged = to.with_name(f".{label}.restoring")
            shutil.rmtree(staged, ignore_errors=True)
            shutil.copytree(src, staged)
            if not finished_run(staged, spec, ("values.csv",)):
                shutil.rmtree(staged)
                lines.append(f"{name}/{label}: archived for another spec, not restored")
                continue
            shutil.rmtree(to, ignore_errors=True)
            staged.replace(to)
            lines.append(f"{name}/{label}: restored into {to}")
    return lines


def claims_text(table: pd.DataFrame, missing: list[str]) -> str:
    """The claims of an archive as markdown, and what is missing."""
    lines = [headline(table), *claims_markdown(table)]
    if missing:
        lines += ["", f"Not in the archive (claims not checked): {', '.join(missing)}"]
    return "\n".join(lines)


def add_parser(sub) -> None:
    """Add ``archive`` to the ``affectlab`` sub-parsers."""
    ar = sub.add_parser("archive", help="keep a long run's small records (per-run values, "
                        "manifests), check claims on them, or restore suite members")
    ar.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                    help="OUT DEST (archive), DEST (--claims) or DEST OUT (--restore)")
    mode = ar.add_mutually_exclusive_group()
    mode.add_argument("--claims", action="store_true",
                      help="check the claims on the archive DEST")
    mode.add_argument("--restore", action="store_true",
                      help="put DEST's archived suite members back into OUT")
    ar.add_argument("--quick", action="store_true", help="the run used the quick sizes")
    ar.add_argument("--development-seeds", action="store_true",
                    help="the run used the development seeds")
    ar.add_argument("--md", type=Path, default=None, help="with --claims: also write FILE")


def cmd_archive(args) -> int:
    """Run ``affectlab archive``; exit code 2 for wrong paths."""
    want = 1 if args.claims else 2
    if len(args.paths) != want:
        print(f"affectlab archive: expected {want} path(s), got {len(args.paths)}")
        return 2
    seeds = "development" if args.development_seeds else "confirmatory"
    if args.claims:
        if not args.paths[0].is_dir():
            print(f"affectlab archive: no archive {args.paths[0]}")
            return 2
        text = claims_text(*archived_claims(args.paths[0], args.quick))
        if args.md is not None:
            args.md.write_text(text + "\n")
        print(text)
        return 0
    try:
        lines = (restore(*args.paths, args.quick, seeds) if args.restore
                 else archive(*args.paths, args.quick, seeds))
    except FileNotFoundError as e:
        print(f"affectlab archive: {e}")
        return 2
    print("\n".join(lines) or "nothing to archive")
    return 0
