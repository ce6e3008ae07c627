"""How long the catalogue takes: measured wall times, and an estimate before a run.

``wall_times.csv`` (next to this module) holds the wall times of finished runs of each
catalogued experiment and suite, at each size, on the machine that measured them (the
docs' table of full-size times is written from it): ``experiment``, ``size`` (``quick`` or
``full``), ``seconds``, ``date``, ``cores``, ``how`` (the command). :func:`estimate` gives
each experiment of a ``reproduce`` its expected time: the measured time at that size
where there is one; for a suite never run at that size, the sum of its members' times:
a member's own measured time (a row named ``suite/label``, written by ``affectlab
status --record`` when the member finished), else its work (seeds x conditions x
environment steps) at the rate (work per second) of the catalogued experiment with the
same world and trainer measured at that size; else the
other size's time scaled by the ratio of their work, which ignores compile time and so
overstates a full run scaled up from a quick one a little.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

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


def member_name(suite: str, label: str) -> str:
    """The name of a suite's member in ``wall_times.csv``: ``suite/label``."""
    return f"{suite}/{label}"


def member_time(times: pd.DataFrame, suite: str, label: str,
                quick: bool) -> tuple[float, str] | None:
    """``(seconds, date)`` of the last measured run of a suite's member on its own, at one
    size, or ``None``."""
    row = latest(times, member_name(suite, label), "quick" if quick else "full")
    return None if row is None else (float(row["seconds"]), str(row["date"]))


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
    by_world = rates(times, quick)
    for name in names:
        same, alt = latest(times, name, size), latest(times, name, other)
        by_member = _from_rates(name, quick, by_world, times) if name in SUITES else None
        if same is not None:
            rows.append((name, float(same["seconds"]),
                         f"measured {same['date']}, {same['cores']} cores"))
        elif by_member is not None:
            rows.append((name, by_member[0], by_member[1]))
        elif alt is not None:
            ratio = work(name, quick) / work(name, not quick)
            rows.append((name, float(alt["seconds"]) * ratio,
                         f"{other} run of {alt['date']} x {ratio:.3g} (work ratio)"))
        else:
            rows.append((name, float("nan"), "never measured"))
    return pd.DataFrame(rows, columns=["experiment", "seconds", "basis"])


def rates(times: pd.DataFrame, quick: bool) -> dict[tuple[str, str], tuple[float, str]]:
    """Work per second of the measured runs of catalogued experiments at this size, by
    (world, trainer): ``{key: (rate, experiment)}``."""
    out = {}
    for name, task in TASKS.items():
        row = latest(times, name, "quick" if quick else "full")
        if row is not None:
            spec = task.spec(quick)
            out[(spec.world, spec.trainer)] = (spec.work() / float(row["seconds"]), name)
    return out


def _from_rates(name: str, quick: bool, by_world: dict,
                times: pd.DataFrame) -> tuple[float, str] | None:
    """A suite's time as the sum of its members' (:func:`member_expected`; ``None``
    unless every member has an expected time), and the basis in words."""
    size = "quick" if quick else "full"
    seconds, used, measured = 0.0, [], []
    for label, spec in SUITES[name](quick).members:
        one = member_expected(times, by_world, name, label, spec, quick)
        if one is None:
            return None
        seconds += one.seconds
        if one.measured:
            measured.append((label, one.source))
        elif one.source not in used:
            used.append(one.source)
    dates = {d: [label for label, when in measured if when == d] for _, d in measured}
    basis = ["members measured: " + "; ".join(f"{', '.join(labels)} {d}" for d, labels
                                              in dates.items())] if measured else []
    if used:
        basis.append(f"{'the others' if measured else 'members'} at the rates of "
                     f"{', '.join(used)} ({size}, work ratio)")
    return seconds, "; ".join(basis)


class Expected(NamedTuple):
    """A run's expected seconds and where they come from: ``measured`` (its own measured
    time; ``source`` the date) or not (its work at a world's rate; ``source`` the
    catalogued experiment whose rate it is)."""

    seconds: float
    measured: bool
    source: str

    def basis(self) -> str:
        """``measured DATE`` or ``EXPERIMENT's rate``."""
        return f"measured {self.source}" if self.measured else f"{self.source}'s rate"


def member_expected(times: pd.DataFrame, by_world: dict, suite: str | None, label: str,
                    spec, quick: bool) -> Expected | None:
    """The expected time of a spec run as ``label`` of ``suite`` (``None``: not a suite
    member): the member's own measured time at this size where ``times`` has one
    (:func:`member_time`), else its work at the measured rate of its world and trainer
    (:func:`spec_estimate`); ``None`` without either."""
    own = member_time(times, suite, label, quick) if suite is not None else None
    if own is not None:
        return Expected(own[0], True, own[1])
    one = spec_estimate(spec, by_world)
    return None if one is None else Expected(one[0], False, one[1])


def seconds_of(quick: bool, path: str | Path = WALL_TIMES):
    """``cost(spec) -> seconds``: a spec's expected time at one size, at the measured rate
    of its world and trainer (:func:`spec_estimate`); a spec without one, at the slowest
    measured rate (not taken for cheap); without any measurement, its work."""
    by_world = rates(load_wall_times(path), quick)
    slowest = min((r for r, _ in by_world.values()), default=1.0)

    def cost(spec) -> float:
        one = spec_estimate(spec, by_world)
        return one[0] if one is not None else spec.work() / slowest

    return cost


def spec_estimate(spec, by_world: dict) -> tuple[float, str] | None:
    """One spec's time, its work at the measured rate (:func:`rates`) of the catalogued
    experiment with the same world and trainer, and that experiment; ``None`` without one."""
    got = by_world.get((spec.world, spec.trainer))
    return None if got is None else (spec.work() / got[0], got[1])


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
    lines = ["| experiment | quick (measured) | full (measured) | full (estimated) | basis of "
             "the estimate |", "|---|---|---|---|---|"]
    for name in names:
        got = {size: latest(times, name, size) for size in ("quick", "full")}
        cell = {size: "not yet" if r is None else f"{duration(r['seconds'])} ({r['date']})"
                for size, r in got.items()}
        est, basis = ("", "") if got["full"] is not None else (
            duration(full.loc[name, "seconds"]), full.loc[name, "basis"])
        lines.append(f"| `{name}` | {cell['quick']} | {cell['full']} | {est} | {basis} |")
    return "\n".join(lines)


JOB_MARGIN = 4.0
"""A job may take this many times its expected time before it is stopped as hung."""


def job_seconds(spec, quick: bool, seeds_per_job: int | None = None,
                path: str | Path = WALL_TIMES) -> float:
    """A job's expected seconds: the spec's expected wall time (:func:`seconds_of`, one
    worker per core on the machine that measured it) shared among its jobs of
    ``seeds_per_job`` seeds (default 1), that many running at once as that machine had
    cores."""
    return _job_clock(quick, seeds_per_job, path)(spec)


def _job_clock(quick: bool, seeds_per_job: int | None, path: str | Path):
    """``spec -> a job's expected seconds`` (:func:`job_seconds`), reading the measured
    times once."""
    times = load_wall_times(path)
    cores = int(times["cores"].max()) if len(times) else 1
    cost = seconds_of(quick, path)

    def clock(spec) -> float:
        jobs = -(-len(spec.seed_list()) // (seeds_per_job or 1))
        return cost(spec) * min(cores, jobs) / jobs if jobs else 0.0

    return clock


def with_timeout(item, quick: bool, seeds_per_job: int | None = None,
                 timeout: float | None = None, path: str | Path = WALL_TIMES):
    """``item`` (a spec or a suite) with every job allowed ``timeout`` seconds, or, without
    one, each spec's limit raised to :data:`JOB_MARGIN` times its job's expected time
    (:func:`job_seconds`) where that is longer. The default limit (900 s) suits most jobs,
    but one job of the full lesion matrix's ``social`` member (25 conditions on
    ``Commons-v0``) takes about half an hour on two cores. The limit is not part of a spec's
    fingerprint, so finished runs are kept."""
    clock = _job_clock(quick, seeds_per_job, path) if timeout is None else None

    def limited(spec):
        if timeout is not None:
            return replace(spec, timeout_s=float(timeout))
        need = JOB_MARGIN * clock(spec)
        return spec if need <= spec.timeout_s else replace(spec, timeout_s=float(round(need)))

    if hasattr(item, "members"):
        return replace(item, members=tuple((label, limited(s)) for label, s in item.members))
    return limited(item)
