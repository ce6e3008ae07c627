"""``affectlab status``: where a long run stands, read from its folders alone."""

import fcntl
import json
import math
import threading
import time

import numpy as np
import pandas as pd
import pytest
from test_experiments import tiny_spec

from experiments.analysis.claims import CLAIMS_FILE
from experiments.catalogue import catalogue_item
from experiments.cli import main
from experiments.estimate import load_wall_times, rates, seconds_of, spec_estimate
from experiments.runner import pool as runner_mod
from experiments.runner import run_experiment
from experiments.runner.store import Stage, being_written, fingerprint
from experiments.status import (
    Part,
    finished_wall_times,
    part_status,
    record_wall_times,
    status,
    status_text,
)

STAMP = "%Y-%m-%dT%H:%M:%S"


def _finished(folder, spec, wall_s=12.0, cores=2):
    """A finished run as the runner leaves it (manifest and results), without training."""
    folder.mkdir(parents=True)
    (folder / "results.csv").write_text("run,condition,seed,metric,step,value\n")
    (folder / "manifest.json").write_text(json.dumps(
        {"spec": spec.to_dict(), "timings": {"wall_s": wall_s},
         "machine": {"cpu_count": cores}}))


def _staged(stage, spec, seeds, events):
    """A staging folder with finished jobs of ``seeds`` (one per file) and a journal."""
    (stage / "jobs").mkdir(parents=True)
    (stage / "state.json").write_text(json.dumps({"spec": fingerprint(spec)}))
    for s in seeds:
        np.savez(stage / "jobs" / f"seeds-{s}-n1.npz", seeds=np.asarray([s]))
    (stage / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


def _at(t):
    return time.strftime(STAMP, time.localtime(t))


def test_done_stopped_and_not_started_parts_of_a_catalogue_run(tmp_path):
    spec = catalogue_item("paralysis", quick=True)
    _finished(tmp_path / spec.name, spec)
    matrix = catalogue_item("lesion-matrix", quick=True)
    labels = dict(matrix.members)
    loops = labels["loops"]
    t0 = time.mktime(time.strptime("2026-12-01T10:00:00", STAMP))
    _staged(tmp_path / matrix.name / ".loops.partial", loops, loops.seed_list()[:2],
            [{"event": "start", "time": _at(t0)},
             {"event": "job", "time": _at(t0 + 100), "seeds": [loops.seed_list()[0]]},
             {"event": "job", "time": _at(t0 + 200), "seeds": [loops.seed_list()[1]]}])
    parts = {(p.experiment, p.label): p
             for p in status(tmp_path, quick=True, only=["paralysis", "lesion-matrix"])}
    done = parts[("paralysis", spec.name)]
    assert (done.state, done.done, done.spent_s, done.left_s) == ("done", done.runs, 12.0, 0)
    stopped = parts[("lesion-matrix", "loops")]
    n_c = len(loops.conditions)
    assert stopped.state == "stopped" and stopped.done == 2 * n_c
    assert stopped.runs == loops.seeds * n_c
    assert stopped.spent_s == 200  # to its last event: the pause since does not count
    assert stopped.left_s == pytest.approx((loops.seeds - 2) * 100)  # 100 s a seed
    fresh = parts[("lesion-matrix", "foraging")]
    expected = spec_estimate(labels["foraging"], rates(load_wall_times(), True))
    assert fresh.state == "not started" and fresh.done == 0
    assert fresh.left_s == pytest.approx(expected[0])
    # the members in the order the suite runs them: by expected time
    order = [p.label for p in parts.values() if p.experiment == "lesion-matrix"]
    cost = seconds_of(True)
    assert order == sorted(order, key=lambda label: cost(labels[label]))
    text = status_text(list(parts.values()))
    assert "stopped" in text and f"{2 * n_c:,}/{loops.seeds * n_c:,}" in text
    done_all = sum(p.done for p in parts.values())
    runs_all = sum(p.runs for p in parts.values())
    assert text.splitlines()[-1].startswith(f"{done_all:,} of {runs_all:,} runs done; ~")


def test_a_held_lock_is_running_and_a_stage_of_another_spec_is_named(tmp_path):
    spec = catalogue_item("loops", quick=True)
    stage = tmp_path / f".{spec.name}.partial"
    t0 = time.time() - 50
    _staged(stage, spec, [spec.seed_list()[0]],
            [{"event": "start", "time": _at(t0)},
             {"event": "job", "time": _at(t0 + 10), "seeds": [spec.seed_list()[0]]}])
    assert not being_written(stage)  # no lock file: no run (and the probe made none)
    assert not (stage / ".lock").exists()
    with open(stage / ".lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert being_written(stage)
        (part,) = status(tmp_path, quick=True, only=["loops"], now=t0 + 60)
    assert part.state == "running" and part.spent_s == pytest.approx(60, abs=1)
    # its rate is that of the finished job (10 s a seed), not of the 60 s spent so far,
    # 50 of them on jobs still in flight
    assert part.left_s == pytest.approx((spec.seeds - 1) * 10, abs=1)
    assert not being_written(stage)  # released
    (stage / "state.json").write_text(json.dumps({"spec": {"name": "something else"}}))
    (part,) = status(tmp_path, quick=True, only=["loops"])
    assert part.state == "other spec" and part.done == 0


def test_a_suite_member_reused_from_a_catalogued_run_is_done(tmp_path):
    social = catalogue_item("social", quick=True)
    _finished(tmp_path / social.name, social, wall_s=99.0)
    # the robustness report needs the trained Commons agents: without them, no reuse
    (commons,) = [p for p in status(tmp_path, quick=True, only=["robustness"])
                  if p.label == "commons"]
    assert commons.state == "not started"
    (tmp_path / social.name / "agents.npz").write_bytes(b"")
    parts = status(tmp_path, quick=True, only=["robustness"])
    (commons,) = [p for p in parts if p.label == "commons"]
    assert commons.state == "done" and commons.basis == f"reused from {social.name}"
    assert commons.spent_s == 99.0
    assert all(p.state == "not started" for p in parts if p.label != "commons")
    # a catalogued experiment is done only in its own folder (reproduce reuses no other)
    _finished(tmp_path / "other" / "copy", social)
    (part,) = status(tmp_path / "other", quick=True, only=["social"])
    assert part.state == "not started"


def test_a_real_interrupted_run_reads_as_stopped(tmp_path, monkeypatch):
    real, calls = runner_mod.run_job, []

    def crash_on_second(spec, seeds):
        calls.append(seeds)
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        return real(spec, seeds)

    monkeypatch.setattr(runner_mod, "run_job", crash_on_second)
    spec, out = tiny_spec(seeds=2), tmp_path / "tiny"
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_experiment(spec, out, workers=0, seeds_per_job=1, progress=False, figures=False)
    part = part_status("tiny", "tiny", spec, out, None, None, time.time())
    assert part.state == "stopped" and part.done == len(spec.conditions)  # one seed
    assert math.isfinite(part.spent_s)  # 0 where the job took under the journal's second
    basis, why = part.basis.split("; ")
    assert why == "stopped: simulated crash"  # the journal's last event
    if part.spent_s > 0:
        assert basis == "its measured rate" and part.left_s > 0
    else:  # no rate to go by, and no catalogue estimate for this spec
        assert basis == "estimate" and math.isnan(part.left_s)


def test_a_run_waits_out_a_status_probe_on_its_lock(tmp_path):
    stage = tmp_path / ".x.partial"
    stage.mkdir()
    probe = open(stage / ".lock", "a")  # noqa: SIM115
    fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
    threading.Timer(0.3, probe.close).start()  # the probe lets go a moment later
    with Stage(stage, fresh=False, fingerprint={"spec": 1}):
        assert being_written(stage)


def test_status_on_the_command_line(tmp_path, capsys):
    spec = catalogue_item("gambling", quick=True)
    _finished(tmp_path / spec.name, spec)
    assert main(["status", str(tmp_path), "--quick", "--only", "gambling,loops"]) == 0
    out = capsys.readouterr().out
    assert "done" in out and "not started" in out and "runs done" in out
    assert main(["status", str(tmp_path / "nowhere")]) == 2
    assert "no folder" in capsys.readouterr().err
    assert main(["status", str(tmp_path), "--only", "nosuch"]) == 2


def test_reproduce_shows_where_a_resumed_run_stands(tmp_path):
    from experiments.reproduce import _where_it_stands

    args = (True, "confirmatory", ["paralysis", "gambling"], CLAIMS_FILE)
    assert _where_it_stands(tmp_path, *args, fresh=False) is None  # nothing there yet
    spec = catalogue_item("paralysis", quick=True)
    _finished(tmp_path / spec.name, spec)
    parts = _where_it_stands(tmp_path, *args, fresh=False)
    assert [(p.experiment, p.state) for p in parts] == [("paralysis", "done"),
                                                         ("gambling", "not started")]
    assert _where_it_stands(tmp_path, *args, fresh=True) is None  # --fresh reuses nothing


def test_a_resumed_catalogue_counts_down_what_is_left_of_it(tmp_path):
    from experiments.reproduce import catalogue_progress, left_of

    expected = pd.DataFrame({"experiment": ["a", "b", "c"], "seconds": [600.0, 600.0, 60.0],
                             "basis": ["", "", ""]})

    def part(experiment, left):
        return Part(experiment=experiment, label="m", state="stopped", done=1, runs=2,
                    spent_s=1.0, left_s=left, basis="", folder=tmp_path)

    left = left_of(expected, [part("a", 0.0), part("b", 100.0), part("b", 20.0)])
    assert list(left["seconds"]) == [0.0, 120.0, 60.0]  # c: no status, its estimate
    assert catalogue_progress(0, left, 0.0).endswith("~3 min 00 s left by the estimate)")
    unknown = left_of(expected, [part("b", float("nan"))])
    assert catalogue_progress(1, unknown, 0.0).endswith("~1 min 00 s left by the estimate "
                                                        "and more)")


def test_finished_experiments_wall_times_are_recorded_once(tmp_path):
    spec = catalogue_item("paralysis", quick=True)

    def part(experiment, label, state="done", spent=10.0, basis="finished", cores=2):
        folder = tmp_path / f"{experiment}-{label}"
        if not folder.exists():
            _finished(folder, spec, cores=cores)
        return Part(experiment=experiment, label=label, state=state, done=1, runs=1,
                    spent_s=spent, left_s=0.0, basis=basis, folder=folder)

    parts = [part("suite", "x", spent=100.4), part("suite", "y", spent=20.0),
             part("suite", "z", spent=999.0, basis="reused from other"),
             part("half", "x"), part("half", "y", state="stopped"),
             part("unknown", "x", spent=math.nan), part("mixed", "x"),
             part("mixed", "y", cores=8), part("alone", "x", spent=7.0)]
    assert finished_wall_times(parts) == {"suite": (120.4, 2, 1), "alone": (7.0, 2, 0)}
    csv = tmp_path / "wall_times.csv"
    csv.write_text("experiment,size,seconds,date,cores,how\nalone,full,5,2026-01-01,2,old\n")
    assert record_wall_times(parts, False, "by hand, two sessions", csv,
                             date="2026-12-03") == ["suite", "alone"]
    times = load_wall_times(csv)
    assert times.to_dict("records")[1:] == [
        {"experiment": "suite", "size": "full", "seconds": 120, "date": "2026-12-03",
         "cores": 2, "how": "by hand, two sessions; 1 member(s) reused from other runs"},
        {"experiment": "alone", "size": "full", "seconds": 7, "date": "2026-12-03",
         "cores": 2, "how": "by hand, two sessions"}]
    assert record_wall_times(parts, False, "again", csv) == []  # the same times: no new row
    assert len(load_wall_times(csv)) == 3

    # a suite not yet finished: its finished members are recorded, as suite/label
    matrix = [part("lesion-matrix", "gambling", spent=31.2),
              part("lesion-matrix", "loops", spent=99.0, basis="reused from other"),
              part("lesion-matrix", "social", state="stopped", spent=50.0)]
    assert finished_wall_times(matrix) == {}
    assert record_wall_times(matrix, False, "member", csv,
                             date="2026-12-04") == ["lesion-matrix/gambling"]
    assert load_wall_times(csv).iloc[-1].to_dict() == {
        "experiment": "lesion-matrix/gambling", "size": "full", "seconds": 31,
        "date": "2026-12-04", "cores": 2, "how": "member"}


def test_status_records_wall_times_from_the_command_line(tmp_path, monkeypatch, capsys):
    import experiments.status as status_mod

    csv = tmp_path / "wall_times.csv"
    csv.write_text("experiment,size,seconds,date,cores,how\n")
    monkeypatch.setattr(status_mod, "WALL_TIMES", csv)
    spec = catalogue_item("paralysis", quick=True)
    _finished(tmp_path / "out" / spec.name, spec, wall_s=42.0)
    assert main(["status", str(tmp_path / "out"), "--quick", "--only", "paralysis",
                 "--record", "a test"]) == 0
    assert "recorded the wall time of paralysis" in capsys.readouterr().out
    assert load_wall_times(csv)["seconds"].tolist() == [42]


def test_a_run_stopped_by_a_failure_says_why_and_an_interrupted_one_does_not(tmp_path):
    spec = catalogue_item("loops", quick=True)
    stage = tmp_path / f".{spec.name}.partial"
    t0 = time.time() - 100
    why = ("RunnerError: job for seeds [3] exceeded its timeout of 900s (raise spec.timeout_s "
           "or --timeout if the machine is just slow)")
    events = [{"event": "start", "time": _at(t0)},
              {"event": "job", "time": _at(t0 + 10), "seeds": [spec.seed_list()[0]]},
              {"event": "stopped", "time": _at(t0 + 20), "error": why, "finished_jobs": 1}]
    _staged(stage, spec, [spec.seed_list()[0]], events)
    (part,) = status(tmp_path, quick=True, only=["loops"])
    assert part.state == "stopped"
    assert "; stopped: job for seeds [3] exceeded its timeout of 900s" in part.basis
    assert part.basis.endswith("...") and "RunnerError" not in part.basis
    events[-1]["error"] = "KeyboardInterrupt: "
    (stage / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (part,) = status(tmp_path, quick=True, only=["loops"])
    assert "stopped:" not in part.basis


def test_a_suite_member_not_started_is_expected_to_take_its_own_measured_time(tmp_path):
    """A member with its own row (``suite/label``) in the committed wall times is
    expected to take that time; the others take their world's rate."""
    from experiments.estimate import member_time

    times = load_wall_times()
    parts = status(tmp_path, only=["lesion-matrix"])
    assert parts and all(p.state == "not started" for p in parts)
    measured = 0
    for p in parts:
        own = member_time(times, "lesion-matrix", p.label, quick=False)
        if own is not None:
            measured += 1
            assert p.basis == f"estimate (measured {own[1]})" and p.left_s == own[0]
        else:
            assert p.basis.startswith("estimate (") and p.basis.endswith("'s rate)")
    assert measured  # the committed file has some (lesion-matrix/foraging, ...)
