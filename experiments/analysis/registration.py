"""The registration of claims: ``claims.lock`` beside ``claims.toml``, append only.

The rules of the claims file (its header) say a claim is never reworded, re-thresholded
or dropped after a run, and a changed claim gets a new id and is exploratory. The lock
makes them checkable: one JSON line per claim, written when the claim is registered,
holding what it claims (:data:`LOCKED`: experiment, wording, condition, metric,
statistic, direction, threshold, test, tolerance, margin), the kind it was registered as
and the date. :func:`registration_problems` compares a claims file with its lock: a
claim that differs from its line, a registered claim that is gone, a kind changed other
than from confirmatory to exploratory (the one change the rules allow: a claim watched
while a model setting was chosen is no longer confirmatory), and a claim not registered.
``affectlab claims --register`` appends the new claims' lines and refuses while any
registered claim has changed. ``tests/test_registration.py`` checks the shipped files,
and that the lock's history in git only ever added lines.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from affect.storage import atomic_write_text
from experiments.analysis.claims import CLAIMS_FILE, Claim, ClaimsError, load_claims

LOCKED = ("experiment", "claim", "condition", "metric", "stat", "expect", "value", "on",
          "tolerance", "margin")
ALLOWED_KIND_CHANGES = {("confirmatory", "exploratory")}
HEADER = ("# The registration of every claim of claims.toml, one JSON line each, append "
          "only:\n# never edit a line by hand (`affectlab claims --register` appends the "
          "new claims).\n")


def lock_path(claims_file: str | Path = CLAIMS_FILE) -> Path:
    """The lock of ``claims_file``: the same name with the suffix ``.lock``."""
    return Path(claims_file).with_suffix(".lock")


def entry(claim: Claim, date: str) -> dict:
    """The lock line of ``claim``, registered on ``date`` (``YYYY-MM-DD``)."""
    return {"id": claim.id, "registered": date, "kind": claim.kind,
            **{f: getattr(claim, f) for f in LOCKED}}


def read_lock(path: str | Path) -> dict[str, dict]:
    """The lines of a lock file by claim id (``{}`` when there is none)."""
    path = Path(path)
    if not path.exists():
        return {}
    out = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ClaimsError(f"{path}, line {n}: not a JSON line ({e.msg})") from None
        if not isinstance(row, dict) or {"id", "registered", "kind"} - set(row):
            raise ClaimsError(f"{path}, line {n}: a line needs id, registered and kind")
        if row["id"] in out:
            raise ClaimsError(f"{path}, line {n}: claim {row.get('id')!r} registered twice")
        out[row["id"]] = row
    return out


def registration_problems(claims: list[Claim], lock: dict[str, dict]) -> list[str]:
    """Every way ``claims`` break their registration ``lock``, one sentence each."""
    problems, ids = [], {c.id for c in claims}
    for c in claims:
        row = lock.get(c.id)
        if row is None:
            problems.append(f"{c.id}: not registered (`affectlab claims --register` "
                            "registers it; register a claim before any run measures it)")
            continue
        changed = [f"{f} {row.get(f)!r} -> {getattr(c, f)!r}" for f in LOCKED
                   if row.get(f) != getattr(c, f)]
        if changed:
            problems.append(f"{c.id}: changed since it was registered on "
                            f"{row['registered']} ({'; '.join(changed)}); a changed claim "
                            "gets a new id and is exploratory, and the original stays")
        if c.kind != row["kind"] and (row["kind"], c.kind) not in ALLOWED_KIND_CHANGES:
            problems.append(f"{c.id}: kind {row['kind']!r} -> {c.kind!r}; registered "
                            "claims may only go from confirmatory to exploratory")
    problems += [f"{i}: registered on {row['registered']} but no longer in the claims "
                 "file; a claim is never dropped" for i, row in lock.items() if i not in ids]
    return problems


def check_registration(claims_file: str | Path = CLAIMS_FILE) -> list[str]:
    """:func:`registration_problems` of ``claims_file`` and its lock; ``[]`` when it has
    no lock (a user's own claims file)."""
    lock = lock_path(claims_file)
    if not lock.exists():
        return []
    return registration_problems(load_claims(claims_file), read_lock(lock))


def require_registered(claims_file: str | Path = CLAIMS_FILE) -> None:
    """Raise :class:`ClaimsError`, naming every problem, unless ``claims_file`` keeps its
    registration (what ``reproduce`` asks before it runs anything)."""
    problems = check_registration(claims_file)
    if problems:
        raise ClaimsError(f"{claims_file} breaks its registration "
                          f"({lock_path(claims_file).name}):\n  " + "\n  ".join(problems))


def register(claims_file: str | Path = CLAIMS_FILE, date: str | None = None) -> list[str]:
    """Append the lock lines of the claims not yet registered (creating the lock if need
    be); returns their ids. Raises :class:`ClaimsError` while a registered claim has
    changed, been dropped or changed its kind other than as allowed."""
    claims, path = load_claims(claims_file), lock_path(claims_file)
    lock = read_lock(path)
    broken = registration_problems([c for c in claims if c.id in lock], lock)
    if broken:
        raise ClaimsError("the claims file breaks its registration:\n  " + "\n  ".join(broken))
    new = [c for c in claims if c.id not in lock]
    if new:
        date = date or time.strftime("%Y-%m-%d")
        text = path.read_text() if path.exists() else HEADER
        atomic_write_text(path, text + "".join(json.dumps(entry(c, date)) + "\n" for c in new))
    return [c.id for c in new]
