"""How long the catalogue takes: measured wall times, and an estimate before a run.

``wall_times.csv`` (next to this module) holds the wall times of finished runs of each
catalogued experiment and suite, at each size, on the machine that measured them (the
docs' table of full-size times is written from it): ``experiment``, ``size`` (``quick`` or
``full``), ``seconds``, ``date``, ``cores``, ``how`` (the command). :func:`estimate` gives
each experiment of a ``reproduce`` its expected time: the measured time at that size
where there is one, else the other size's time scaled by the ratio of their work (runs x
steps: seeds x conditions x environment steps, summed over a suite's members), which
ignores compile time and so overstates a full run scaled up from a quick one a little.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from experiments.suites import SUITES
from experiments.tasks import TASKS

WALL_TIMES = Path(__file__).with_name("wall_times.csv")
COLUMNS = ["experiment", "size", "seconds", "date", "cores", "how"]


def specs_of(name: str, quick: bool) -> list:
    """The specs a catalogued experiment or suite runs at one size."""
    if name in SUITES:
        return [spec for _, spec in SUITES[name](quick).members]
    return [TASKS[name].spec(quick)]


def work(name: str, quick: bool) -> float:
    """Environment steps of all runs: seeds x conditions x steps, summed over specs."""
    return float(sum(s.work() for s in specs_of(name, quick)))


def load_wall_times(path: str | Path = WALL_TIMES) -> pd.DataFrame:
    """The measured wall times (``COLUMNS``); a ``ValueError`` for a malformed file."""
    df = pd.read_csv(path)
    missing = set(COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
    return df


def latest(times: pd.DataFrame, name: str, size: str):
    """The last measurement of ``name`` at ``size`` (a row), or ``None``."""
    got = times[(times["experiment"] == name) & (times["size"] == size)]
    return got.iloc[-1] if len(got) else None


def estimate(names: list[str], quick: bool, path: str | Path = WALL_TIMES) -> pd.DataFrame:
    """Per experiment: ``seconds`` expected and its ``basis`` (measured at this size,
    scaled from the other size, or unknown: NaN)."""
    times = load_wall_times(path)
    size, other = ("quick", "full") if quick else ("full", "quick")
    rows = []
    for name in names:
        same, alt = latest(times, name, size), latest(times, name, other)
        if same is not None:
            rows.append((name, float(same["seconds"]),
                         f"measured {same['date']}, {same['cores']} cores"))
        elif alt is not None:
            ratio = work(name, quick) / work(name, not quick)
            rows.append((name, float(alt["seconds"]) * ratio,
                         f"{other} run of {alt['date']} x {ratio:.3g} (work ratio)"))
        else:
            rows.append((name, float("nan"), "never measured"))
    return pd.DataFrame(rows, columns=["experiment", "seconds", "basis"])


def duration(seconds: float) -> str:
    """``1 h 02 min``, ``12 min 05 s`` or ``42 s``."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def estimate_text(table: pd.DataFrame, quick: bool) -> str:
    """The estimate as printed before a run."""
    known = table["seconds"].dropna()
    lines = [f"[reproduce] estimated wall time ({'quick' if quick else 'full'} sizes, on the "
             f"machine that measured them; experiments already finished in the output "
             f"folder take less): {duration(known.sum())}"
             + (" plus the experiments never measured" if len(known) < len(table) else "")]
    for r in table.itertuples():
        took = duration(r.seconds) if r.seconds == r.seconds else "?"
        lines.append(f"  {r.experiment:<14} {took:>14}  ({r.basis})")
    return "\n".join(lines)


def wall_time_markdown(path: str | Path = WALL_TIMES) -> str:
    """The docs' table: every experiment's measured wall times at both sizes, and the
    full size's estimate where it was never run."""
    times = load_wall_times(path)
    names = list(TASKS) + list(SUITES)
    full = estimate(names, quick=False, path=path).set_index("experiment")
    lines = ["| experiment | quick (measured) | full (measured) | full (estimated from quick) |",
             "|---|---|---|---|"]
    for name in names:
        got = {size: latest(times, name, size) for size in ("quick", "full")}
        cell = {size: "not yet" if r is None else f"{duration(r['seconds'])} ({r['date']})"
                for size, r in got.items()}
        est = "" if got["full"] is not None else duration(full.loc[name, "seconds"])
        lines.append(f"| `{name}` | {cell['quick']} | {cell['full']} | {est} |")
    return "\n".join(lines)
