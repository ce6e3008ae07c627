"""The wall-time estimate printed before a reproduce, and the docs' table of wall times."""

import math

import pandas as pd
import pytest

from experiments.estimate import (
    WALL_TIMES,
    duration,
    estimate,
    estimate_text,
    load_wall_times,
    member_expected,
    rates,
    wall_time_markdown,
    work,
)
from experiments.suites import SUITES
from experiments.tasks import TASKS

ALL = list(TASKS) + list(SUITES)


def _times(tmp_path, rows):
    path = tmp_path / "times.csv"
    pd.DataFrame(rows, columns=["experiment", "size", "seconds", "date", "cores", "how"]
                 ).to_csv(path, index=False)
    return path


def test_work_counts_runs_times_steps():
    spec = TASKS["gambling"].spec(False)
    assert work("gambling", False) == spec.seeds * len(spec.conditions) * spec.total_steps
    members = SUITES["sensitivity"](True).members
    assert work("sensitivity", True) == sum(s.seeds * len(s.conditions) * s.total_steps
                                            for _, s in members)


def test_estimate_prefers_a_measurement_and_scales_the_other_size(tmp_path):
    path = _times(tmp_path, [("gambling", "quick", 10, "d1", 2, "x"),
                             ("loops", "quick", 30, "d1", 2, "x"),
                             ("loops", "full", 500, "d2", 2, "x")])
    full = estimate(["gambling", "loops", "social"], quick=False, path=path)
    ratio = work("gambling", False) / work("gambling", True)
    assert full["seconds"][0] == pytest.approx(10 * ratio)
    assert "quick run of d1" in full["basis"][0]
    assert full["seconds"][1] == 500 and "measured d2" in full["basis"][1]
    assert math.isnan(full["seconds"][2]) and full["basis"][2] == "never measured"
    text = estimate_text(full, quick=False)
    assert duration(10 * ratio + 500) in text and "never measured" in text


def test_a_suite_never_run_is_estimated_member_by_member_from_the_catalogue_rates(tmp_path):
    """Each member of the full sensitivity suite (all Foraging-v0, PPO) at the rate of the
    full foraging run; without it, the suite's quick run scaled up."""
    path = _times(tmp_path, [("foraging", "full", 800, "d2", 2, "x"),
                             ("sensitivity", "quick", 90, "d1", 2, "x")])
    rate = TASKS["foraging"].spec(False).work() / 800
    got = estimate(["sensitivity"], quick=False, path=path)
    members = [s for _, s in SUITES["sensitivity"](False).members]
    assert got["seconds"][0] == pytest.approx(sum(s.work() for s in members) / rate)
    assert "rates of foraging" in got["basis"][0]
    # the lesion matrix has members on other worlds (Commons, Detour, the online tasks)
    matrix = estimate(["lesion-matrix"], quick=False, path=path)
    assert math.isnan(matrix["seconds"][0])
    # a member measured on its own counts its own time, the others at the rates
    own = _times(tmp_path, [("foraging", "full", 800, "d2", 2, "x"),
                            ("sensitivity/base", "full", 1000, "d3", 2, "x")])
    base = dict(SUITES["sensitivity"](False).members)["base"]
    mixed = estimate(["sensitivity"], quick=False, path=own)
    assert mixed["seconds"][0] == pytest.approx(
        sum(s.work() for s in members) / rate - base.work() / rate + 1000)
    assert mixed["basis"][0] == ("members measured: base d3; the others at the rates of "
                                 "foraging (full, work ratio)")
    scaled = estimate(["sensitivity"], quick=False,
                      path=_times(tmp_path, [("sensitivity", "quick", 90, "d1", 2, "x")]))
    assert "quick run of d1" in scaled["basis"][0]


def test_one_rule_gives_a_member_its_own_time_else_its_worlds_rate(tmp_path):
    """What the suite's estimate and ``affectlab status`` both use for one member."""
    times = load_wall_times(_times(tmp_path, [("foraging", "full", 800, "d2", 2, "x"),
                                              ("sensitivity/base", "full", 1000, "d3", 2, "x")]))
    by_world = rates(times, False)
    members = dict(SUITES["sensitivity"](False).members)
    own = member_expected(times, by_world, "sensitivity", "base", members["base"], False)
    assert own == (1000.0, True, "d3") and own.basis() == "measured d3"
    other = member_expected(times, by_world, "sensitivity", "lr-1", members["lr-1"], False)
    rate = TASKS["foraging"].spec(False).work() / 800
    assert other.seconds == pytest.approx(members["lr-1"].work() / rate)
    assert not other.measured and other.basis() == "foraging's rate"
    # not a suite member: its own row is not looked for; a world never measured: None
    assert not member_expected(times, by_world, None, "base", members["base"], False).measured
    social = TASKS["social"].spec(False)
    assert member_expected(times, by_world, None, "social", social, False) is None


def test_duration():
    assert [duration(s) for s in (42, 125, 3725)] == ["42 s", "2 min 05 s", "1 h 02 min"]


def test_the_committed_times_cover_the_quick_catalogue():
    times = load_wall_times(WALL_TIMES)
    assert set(times["size"]) <= {"quick", "full"} and (times["seconds"] > 0).all()
    assert estimate(ALL, quick=True)["seconds"].notna().all()
    assert estimate(ALL, quick=False)["seconds"].notna().all()
    table = wall_time_markdown()
    assert all(f"`{name}`" in table for name in ALL)


def test_a_malformed_file_is_refused(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("experiment,seconds\nloops,3\n")
    with pytest.raises(ValueError, match="missing column"):
        load_wall_times(bad)


def test_the_catalogue_progress_line_counts_down_the_estimate():
    from experiments.reproduce import catalogue_progress

    table = pd.DataFrame({"experiment": ["a", "b", "c"], "seconds": [60.0, 120.0, float("nan")],
                          "basis": ["", "", ""]})
    assert catalogue_progress(0, table, 0.0) == (
        "[reproduce] a (1/3; 0 s elapsed, ~3 min 00 s left by the estimate and more)")
    assert catalogue_progress(1, table, 65.0).endswith(
        "(2/3; 1 min 05 s elapsed, ~2 min 00 s left by the estimate and more)")
    table.loc[2, "seconds"] = 30.0
    assert catalogue_progress(2, table, 200.0).endswith("~30 s left by the estimate)")


def test_a_job_may_take_four_times_its_expected_time(tmp_path):
    """A job's limit is raised to JOB_MARGIN x its expected time (a full run's time shared
    among its jobs, as many at once as the measuring machine had cores) where the spec's
    own is shorter; suites member by member; the fingerprint, and so resuming, unchanged."""
    from experiments.estimate import JOB_MARGIN, job_seconds, with_timeout
    from experiments.runner.store import fingerprint

    path = _times(tmp_path, [("social", "full", 7200, "d", 2, "x"),
                             ("foraging", "full", 100, "d", 2, "x")])
    social = TASKS["social"].spec(False)
    jobs = social.seeds  # one seed per job
    assert job_seconds(social, False, path=path) == pytest.approx(7200 * 2 / jobs)
    assert job_seconds(social, False, seeds_per_job=jobs, path=path) == pytest.approx(7200)
    slow = with_timeout(social, False, path=path)
    assert slow.timeout_s == round(JOB_MARGIN * 7200 * 2 / jobs) > social.timeout_s
    assert fingerprint(slow) == fingerprint(social)
    fast = TASKS["foraging"].spec(False)
    assert with_timeout(fast, False, path=path).timeout_s == fast.timeout_s
    matrix = with_timeout(SUITES["lesion-matrix"](False), False, path=path)
    limits = {label: spec.timeout_s for label, spec in matrix.members}
    assert limits["social"] > 900 and limits["foraging"] == 900


def test_reproduce_and_run_take_a_timeout(tmp_path):
    """--timeout replaces every job's limit; without it the limits are sized; a limit that
    is not a positive number is refused before anything runs."""
    from experiments.cli import main
    from experiments.estimate import with_timeout

    matrix = SUITES["lesion-matrix"](True)
    assert {s.timeout_s for _, s in with_timeout(matrix, True, None, 60.0).members} == {60.0}
    assert with_timeout(TASKS["gambling"].spec(True), True, None, 5.0).timeout_s == 5.0
    for command in ("run", "reproduce"):
        with pytest.raises(SystemExit):
            main([command, "gambling", "--timeout", "0"] if command == "run"
                 else [command, "--timeout", "-1", "--out", str(tmp_path)])
    assert not any(tmp_path.iterdir())
