"""The staging folder of one output: finished jobs, the journal, the lock, the final move.

Finished jobs are written atomically as ``jobs/*.npz`` in a staging folder next to the
output, ``.NAME.partial``, with a journal of every start and every finished job. The
output folder appears, complete, only when the whole experiment has finished; a staging
folder written under a different spec is discarded, and two runs cannot write to the
same staging folder at once (an advisory lock).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from affect.storage import atomic_savez, atomic_write_json
from experiments.runner.errors import RunnerError
from experiments.spec import ExperimentSpec


def fingerprint(spec: ExperimentSpec) -> dict[str, Any]:
    """What must match for finished runs to be reused (the timeout may change)."""
    d = spec.to_dict()
    d.pop("timeout_s", None)
    return json.loads(json.dumps(d, default=str))


def finished_spec(out_dir: str | Path) -> ExperimentSpec | None:
    """The spec of the finished run in ``out_dir`` (its ``manifest.json`` and
    ``results.csv`` present), or ``None``."""
    spec = manifest_spec(out_dir)
    return spec if spec is not None and (Path(out_dir) / "results.csv").is_file() else None


def manifest_spec(out_dir: str | Path) -> ExperimentSpec | None:
    """The spec the ``manifest.json`` of ``out_dir`` records, or ``None``."""
    try:
        manifest = json.loads((Path(out_dir) / "manifest.json").read_text())
        return ExperimentSpec.from_dict(manifest["spec"])
    except (OSError, json.JSONDecodeError, KeyError, ValueError, TypeError):
        return None


def save_job(job_dir: Path, result: dict[str, Any]) -> Path:
    """Write one finished job (as :func:`~experiments.runner.jobs.run_job` returned it)
    atomically to ``job_dir``; returns the file."""
    name = ("seeds-" + "-".join(f"{s:05d}" for s in result["seeds"][:1])
            + f"-n{len(result['seeds'])}")
    arrays = {f"m::{k}": v for k, v in result["metrics"].items()}
    arrays.update({f"p::{k}": v for k, v in (result.get("agents") or {}).items()})
    arrays["seeds"] = np.asarray(result["seeds"])
    if result.get("steps") is not None:
        arrays["steps"] = np.asarray(result["steps"])
    for key in ("compile_s", "run_s", "device", "seeds_per_call"):
        arrays[key] = np.asarray(result[key])
    for key in ("cpu", "git", "env"):  # where it ran; absent where unknown
        if result.get(key):
            arrays[key] = np.asarray(result[key])
    return atomic_savez(job_dir / f"{name}.npz", arrays)


def load_job(path: Path) -> dict[str, Any]:
    """A job written by :func:`save_job`, as ``run_job`` returned it (plus ``resumed``)."""
    with np.load(path) as z:
        return {
            "seeds": [int(s) for s in z["seeds"]],
            "steps": z["steps"] if "steps" in z.files else None,
            "metrics": {k[3:]: z[k] for k in z.files if k.startswith("m::")},
            "agents": {k[3:]: z[k] for k in z.files if k.startswith("p::")} or None,
            "compile_s": float(z["compile_s"]),
            "run_s": float(z["run_s"]),
            "device": str(z["device"]),
            "seeds_per_call": int(z["seeds_per_call"]) if "seeds_per_call" in z.files else None,
            "cpu": str(z["cpu"]) if "cpu" in z.files else None,
            "git": str(z["git"]) if "git" in z.files else None,
            "env": str(z["env"]) if "env" in z.files else None,
            "resumed": True,
        }


def finished_jobs(job_dir: Path, seeds: list[int]) -> list[dict[str, Any]]:
    """Finished jobs in a staging folder (half-written temporary files are removed; a
    file that cannot be read, or holds seeds outside the spec, is removed and redone)."""
    out, wanted, seen = [], set(seeds), set()
    for tmp in job_dir.glob("*.tmp"):
        tmp.unlink(missing_ok=True)
    for path in sorted(job_dir.glob("*.npz")):
        try:
            res = load_job(path)
        except Exception:  # noqa: BLE001 - unreadable: recompute it
            path.unlink(missing_ok=True)
            continue
        if not set(res["seeds"]) <= wanted or set(res["seeds"]) & seen:
            path.unlink(missing_ok=True)
            continue
        seen |= set(res["seeds"])
        out.append(res)
    return out


class Journal:
    """An append-only log of the staging folder's life: starts, resumes, finished jobs."""

    def __init__(self, path: Path):
        self.path = path

    def write(self, event: str, **fields) -> None:
        """Append one event (a JSON line, flushed to disk)."""
        line = json.dumps({"event": event, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                           "pid": os.getpid(), **fields})
        with open(self.path, "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def read(self) -> list[dict[str, Any]]:
        """Every event written so far (a line cut by a crash is skipped)."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out


def event_time(event: dict[str, Any]) -> float:
    """The time of a journal event, in seconds since the epoch (local time, as written)."""
    return time.mktime(time.strptime(event["time"], "%Y-%m-%dT%H:%M:%S"))


def sessions_wall_s(events: list[dict[str, Any]], now: float | None = None) -> float:
    """Wall seconds spent on an output over its sessions (journal ``events``): each session
    from its ``start`` or ``resume`` to its last event, the last one to ``now`` (the
    hours between an interruption and the resume do not count; neither does the time a
    killed session spent on jobs it never finished)."""
    spans, begin, last = [], None, None
    for e in events:
        t = event_time(e)
        if e["event"] in ("start", "resume"):
            if begin is not None:
                spans.append(last - begin)
            begin = t
        last = t
    if begin is not None:
        spans.append((time.time() if now is None else now) - begin)
    return float(sum(spans))


LOCK_TRIES = 10  # tries, 0.1 s apart, before a locked staging folder is refused


def being_written(stage: Path) -> bool:
    """Whether a run holds the lock of the staging folder ``stage`` now (a probe that
    never creates the folder or its lock file)."""
    try:
        fd = os.open(stage / ".lock", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases the probe's shared lock
    return False


def run_wall_s(manifest: Path) -> float:
    """The wall time of all sessions of the run whose ``manifest`` this is: its
    ``wall_s``; for a manifest written before it was recorded, from the run's journal
    (:func:`sessions_wall_s`, to its last finished job: the manifest is rewritten when a
    finished run is reported again), else the time since its first start."""
    timings = json.loads(manifest.read_text())["timings"]
    if "wall_s" in timings:
        return float(timings["wall_s"])
    events = Journal(manifest.parent / "journal.jsonl").read()
    if events:
        last = event_time(events[-1])
        return sessions_wall_s(events, now=last)
    return float(timings["total_s"])


class Stage:
    """The staging folder ``.NAME.partial`` of one output: created or resumed on entry,
    locked against a second writer, moved into place by :meth:`finish`, and removed on
    exit if ``discard`` was set (nothing finished worth keeping)."""

    def __init__(self, stage: Path, fresh: bool, fingerprint: dict[str, Any]):
        self.stage, self.fresh, self.fingerprint = stage, fresh, fingerprint
        self.discard, self._lock = False, None
        self.stamp, self.started = "", 0.0

    def __enter__(self) -> Stage:
        state_file = self.stage / "state.json"
        if self.stage.exists():
            self._discard_if_stale(state_file)
        self.stage.mkdir(exist_ok=True)
        (self.stage / "jobs").mkdir(exist_ok=True)
        self._take_lock()
        if not state_file.exists():
            atomic_write_json(state_file, {"spec": self.fingerprint,
                                           "stamp": time.strftime("%Y%m%d-%H%M%S"),
                                           "started": time.time()})
        state = json.loads(state_file.read_text())
        self.stamp, self.started = state["stamp"], state["started"]
        return self

    def _discard_if_stale(self, state_file: Path) -> None:
        state = None
        try:
            state = json.loads(state_file.read_text())
        except (OSError, json.JSONDecodeError):
            pass
        if self.fresh or state is None or state.get("spec") != self.fingerprint:
            self._take_lock()
            if state is not None and not self.fresh:
                print(f"note: {self.stage} holds runs of a different spec; discarding them",
                      file=sys.stderr)
            self._release()
            shutil.rmtree(self.stage)

    def _take_lock(self) -> None:
        f = open(self.stage / ".lock", "a")  # noqa: SIM115 - held until exit
        for attempt in range(LOCK_TRIES):  # a status probe holds it for an instant
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if attempt < LOCK_TRIES - 1:
                    time.sleep(0.1)
        else:
            f.close()
            raise RunnerError(
                f"another affectlab run is writing to {self.stage}; wait for it to finish "
                "or stop it first"
            ) from None
        self._lock = f

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def finish(self, out_dir: Path) -> None:
        """Move the finished staging folder to ``out_dir`` (replacing an older one)."""
        replace_dir(self.stage, out_dir)  # a crash before this line leaves a resumable stage
        for name in (".lock", "state.json"):
            (out_dir / name).unlink(missing_ok=True)
        self._release()

    def __exit__(self, *exc) -> bool:
        self._release()
        if self.discard:
            shutil.rmtree(self.stage, ignore_errors=True)
        return False


def replace_dir(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``, replacing an existing ``dst`` folder."""
    if dst.exists():
        trash = dst.parent / f".{dst.name}.old-{os.getpid()}"
        os.replace(dst, trash)
        os.replace(src, dst)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(src, dst)
