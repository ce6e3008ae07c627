"""Kill ``affectlab run`` with SIGKILL at random moments, restart it, and check the result.

    python -m experiments.tools.resume_check foraging --quick --kills 5 --out results/resume-check

1. Runs the experiment once without interruption (the reference).
2. Runs it again into another folder, killing the whole process group (runner and
   workers) with SIGKILL at a random moment after each start (uniform between
   ``--span``/3 and ``--span`` of the reference's wall time: late enough for a restart
   to progress; for long experiments choose ``--span`` below ``1/kills`` so that every
   kill lands before the end), ``--kills`` times, restarting after each kill; the last
   start runs to the end.
3. Checks that every restart finished the experiment, that no finished job was computed
   twice (the staging folder's journal lists every finished job once), and that the
   final results equal the reference value for value (run names hold a time stamp and
   are left out of the comparison).

Prints one line per kill and a verdict, and writes ``resume_check.json``. Exit code 0
when every check holds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd


def _affectlab(*args: str) -> list[str]:
    """The command line of ``affectlab ARGS`` in this Python."""
    return [sys.executable, "-m", "experiments", *args]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("experiment")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--kills", type=int, default=5)
    p.add_argument("--seed", type=int, default=0, help="seed of the random kill moments")
    p.add_argument("--span", type=float, default=0.9,
                   help="latest kill moment as a share of the reference's wall time")
    p.add_argument("--out", type=Path, default=Path("results/resume-check"))
    args = p.parse_args(argv)
    if args.kills < 1:
        p.error("--kills must be >= 1")
    if not 0 < args.span <= 1:
        p.error("--span must be in (0, 1]")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the check (see the module docstring); returns 0 when every check holds."""
    args = _parse(argv)
    rng = random.Random(args.seed)
    common = [args.experiment] + (["--quick"] if args.quick else []) + ["--no-figure"]
    ref, test = args.out / "reference", args.out / "killed"
    args.out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    subprocess.run(_affectlab("run", *common, "--out", str(ref), "--fresh"), check=True,
                   stdout=subprocess.DEVNULL)
    ref_s = time.perf_counter() - t0
    print(f"reference run: {ref_s:.0f} s", flush=True)

    kills = _kill_and_restart(args, common, test, rng, ref_s)
    t0 = time.perf_counter()
    done = subprocess.run(_affectlab("run", *common, "--out", str(test)),
                          stdout=subprocess.DEVNULL)
    print(f"final restart: {time.perf_counter() - t0:.0f} s, exit code {done.returncode}")
    checks = _checks(args, kills, done.returncode, ref, test)
    ok = all(checks.get(k) for k in ("finished", "all_kills_landed", "no_run_recomputed",
                                     "equal_to_reference"))
    report = {"experiment": args.experiment, "quick": args.quick, "reference_s": ref_s,
              "span": args.span, "kills": kills, "checks": checks, "passed": ok}
    (args.out / "resume_check.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(checks))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def _kill_and_restart(args, common: list[str], test: Path, rng, ref_s: float) -> list[dict]:
    """Start the run ``--kills`` times, each killed with SIGKILL at a random moment."""
    stage = test.parent / f".{test.name}.partial"
    kills = []
    fresh = ["--fresh"]
    for i in range(args.kills):
        if test.exists():
            break
        moment = rng.uniform(args.span / 3, args.span) * ref_s
        proc = subprocess.Popen(_affectlab("run", *common, "--out", str(test), *fresh),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        fresh = []
        try:
            proc.wait(timeout=moment)
            finished_before_kill = True
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            finished_before_kill = False
        jobs = len(list((stage / "jobs").glob("*.npz"))) if stage.exists() else 0
        kills.append({"kill": i + 1, "after_s": round(moment, 1), "jobs_on_disk": jobs,
                      "finished_before_kill": finished_before_kill})
        print(f"kill {i + 1}: SIGKILL after {moment:.1f} s, {jobs} finished jobs on disk"
              + (" (the run had already finished)" if finished_before_kill else ""),
              flush=True)
    return kills


def _checks(args, kills: list[dict], returncode: int, ref: Path, test: Path) -> dict:
    """Finished, every kill landed, nothing recomputed, results equal to the reference."""
    landed = sum(not k["finished_before_kill"] for k in kills)
    checks = {"finished": returncode == 0 and (test / "results.csv").exists(),
              "kills_landed": landed, "all_kills_landed": landed == args.kills}
    if checks["finished"]:
        events = [json.loads(x) for x in (test / "journal.jsonl").read_text().splitlines()]
        computed = [s for e in events if e["event"] == "job" for s in e["seeds"]]
        checks["no_run_recomputed"] = len(computed) == len(set(computed))
        checks["sessions"] = sum(e["event"] in ("start", "resume") for e in events)
        a = pd.read_csv(ref / "results.csv").drop(columns="run")
        b = pd.read_csv(test / "results.csv").drop(columns="run")
        try:
            pd.testing.assert_frame_equal(a, b)
            checks["equal_to_reference"] = True
        except AssertionError:
            checks["equal_to_reference"] = False
    return checks


if __name__ == "__main__":
    sys.exit(main())
