"""Compare the claims checked by two runs on the same seeds, as their ``results.md`` give them.

    python -m experiments.tools.compare_claims FIRST.md SECOND.md [--out compare.md]

A file may hold several claims tables (e.g. the docs page that quotes the ``results.md``
of several ``affectlab reproduce`` commands): every row of the form ``| PASS | claim
(`id`) | measured | expected |`` is read. For each claim in both files it lists the two
verdicts and the two measurements, without the Holm-adjusted p-value (it depends on the
family a command tested, not on the run) and without the "underpowered" remark. A
changed verdict can therefore come from the family alone: its row says which. Prints a
markdown table of the claims whose verdict or measurement differ and a summary line;
exit code 0 (a difference is a finding, not an error).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

ROW = re.compile(r"^\|\s*(\*\*FAIL\*\*|PASS)\s*\|(.*)\(`([^`]+)`\)\s*\|(.*)\|(.*)\|\s*$")
HOLM = re.compile(r";\s*Holm p = [^|;()]+")
UNDERPOWERED = re.compile(r"\s*\(underpowered:[^)]*\)")


def read_claims(path: str | Path) -> dict[str, dict[str, str | bool]]:
    """``{id: {"passed", "measured", "holm"}}`` from every claims row of a markdown file
    (``measured`` without its Holm p-value and remarks; ``holm``: the Holm p-value's text,
    or ``""``). A claim listed twice is an error: the two runs would be ambiguous."""
    out: dict[str, dict[str, str | bool]] = {}
    for n, line in enumerate(Path(path).read_text().splitlines(), start=1):
        m = ROW.match(line)
        if not m:
            continue
        verdict, _, cid, measured, _ = m.groups()
        if cid in out:
            raise ValueError(f"{path}:{n}: claim {cid!r} is listed twice")
        holm = HOLM.search(measured)
        out[cid] = {"passed": verdict == "PASS",
                    "measured": UNDERPOWERED.sub("", HOLM.sub("", measured)).strip(),
                    "holm": holm.group(0).lstrip("; ").strip() if holm else ""}
    return out


def compare(first: dict, second: dict) -> tuple[list[dict], dict[str, int]]:
    """The claims of both whose verdict or measurement differ (one dict each, in
    ``second``'s order), and counts: ``both``, ``verdicts`` and ``numbers`` that differ,
    ``only_first`` and ``only_second``."""
    rows, counts = [], {"both": 0, "verdicts": 0, "numbers": 0}
    for cid, b in second.items():
        a = first.get(cid)
        if a is None:
            continue
        counts["both"] += 1
        verdict, number = a["passed"] != b["passed"], a["measured"] != b["measured"]
        counts["verdicts"] += verdict
        counts["numbers"] += number
        if verdict or number:
            rows.append({"id": cid, "first": a, "second": b, "verdict_changed": verdict,
                         "family_only": verdict and not number})
    counts["only_first"] = len(set(first) - set(second))
    counts["only_second"] = len(set(second) - set(first))
    return rows, counts


def markdown(rows: list[dict], counts: dict[str, int]) -> str:
    """The differences as a markdown table, then the summary line."""
    verdict = lambda c: "PASS" if c["passed"] else "**FAIL**"  # noqa: E731
    lines = ["| claim | first | second | verdict |", "|---|---|---|---|"]
    for r in rows:
        a, b = r["first"], r["second"]
        change = ("changed (the Holm family only)" if r["family_only"] else "changed"
                  ) if r["verdict_changed"] else "same"
        lines.append(f"| `{r['id']}` | {verdict(a)} {a['measured']} | {verdict(b)} "
                     f"{b['measured']} | {change} |")
    summary = (f"{counts['both']} claims in both runs: {counts['verdicts']} verdicts and "
               f"{counts['numbers']} measurements differ (Holm p-values left out); "
               f"{counts['only_first']} only in the first, {counts['only_second']} only in "
               "the second.")
    return ("\n".join(lines) + "\n\n" if rows else "") + summary


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m experiments.tools.compare_claims",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("first", help="a markdown file with the first run's claims tables")
    ap.add_argument("second", help="a markdown file with the second run's claims tables")
    ap.add_argument("--out", help="also write the comparison to this file")
    args = ap.parse_args(argv)
    try:
        text = markdown(*compare(read_claims(args.first), read_claims(args.second)))
    except (OSError, ValueError) as e:
        ap.exit(2, f"compare_claims: {e}\n")
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
