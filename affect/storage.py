"""Files written so that a crash never leaves half of one, and the versions that wrote them.

Everything affectlab writes to disk (saved agents, finished jobs, results) goes through
these helpers: the bytes go to a temporary file in the same folder, are flushed to disk,
and the file is renamed into place, so a reader (or a restart after a crash) sees the
whole file or none. Files are world-readable (mode 0644, as ``open`` would make them).
"""

from __future__ import annotations

import io
import json
import os
import platform
import subprocess
import tempfile
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

# The packages whose versions a saved agent or a results manifest records.
PACKAGES = ("affectlab", "jax", "jaxlib", "flax", "optax", "chex", "numpy", "gymnasium",
            "pandas", "matplotlib", "seaborn")
COMPUTE_PACKAGES = ("jax", "jaxlib", "flax", "optax", "chex", "numpy")
"""The packages a job computes with: another version of one can give a seed other
numbers (:func:`env_id`)."""
FILE_MODE = 0o644


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename); returns ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode())


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """``obj`` as indented JSON (non-JSON leaves written with ``str``), atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def atomic_savez(path: str | Path, arrays: dict[str, Any]) -> Path:
    """``np.savez`` of ``arrays`` (name -> array) to ``path``, atomically."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def versions() -> dict[str, str]:
    """``{package: version}`` of Python and the packages in :data:`PACKAGES`."""
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def env_id(v: dict[str, str] | None = None) -> str:
    """The versions of Python and :data:`COMPUTE_PACKAGES` of ``v`` (a :func:`versions`
    record; default this process's) in one string, e.g. ``"python 3.11.7, jax 0.10.2,
    ..."``: two jobs with different ones may give a seed other numbers."""
    v = versions() if v is None else v
    return ", ".join(f"{k} {v.get(k, '?')}" for k in ("python", *COMPUTE_PACKAGES))


VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile")
"""The CPU's vector instruction sets that :func:`machine` records. XLA compiles for the
host's, so two CPUs with different ones can round differently in the last bits, and a
long training run amplifies that into different numbers from the same seeds."""


def machine(cpuinfo: str | Path = "/proc/cpuinfo") -> dict[str, Any]:
    """What a run's numbers can depend on beyond the code and the seeds: the platform,
    the number of CPUs, the CPU's model and its vector instruction sets (of
    :data:`VECTOR_FLAGS`; read from ``cpuinfo`` on Linux, else the model as
    :func:`platform.processor` names it and no flags)."""
    try:
        lines = Path(cpuinfo).read_text().splitlines()
    except OSError:
        lines = []
    fields = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    have = set(fields.get("flags", "").split())
    return {"platform": platform.platform(), "cpu_count": os.cpu_count(),
            "cpu": fields.get("model name", platform.processor() or None),
            "cpu_flags": [f for f in VECTOR_FLAGS if f in have]}


def cpu_id(m: dict[str, Any] | None = None) -> str | None:
    """The CPU of ``m`` (a :func:`machine` record; default this machine's) in one
    string, its model and vector sets, e.g. ``"AMD EPYC [sse4_2 avx avx2 fma]"``: two jobs
    with different ones may give a seed other numbers. ``None`` where the model is unknown."""
    m = machine() if m is None else m
    if not m.get("cpu"):
        return None
    return f"{m['cpu']} [{' '.join(m.get('cpu_flags', []))}]"


def git_revision(root: str | Path | None = None) -> dict[str, Any]:
    """``{"revision": commit, "dirty": bool}`` of the git checkout whose top folder is
    ``root`` (default: affectlab's own, where it is installed from a checkout), now;
    ``None`` values elsewhere, e.g. an installed package inside another project's
    checkout (whose commit is not affectlab's)."""
    root = Path(__file__).resolve().parents[1] if root is None else Path(root).resolve()
    unknown = {"revision": None, "dirty": None}
    try:
        rev = subprocess.run(["git", "rev-parse", "--show-toplevel", "HEAD"], cwd=root,
                             capture_output=True, text=True, timeout=10)
        if rev.returncode != 0 or Path(rev.stdout.split("\n")[0]).resolve() != root:
            return unknown
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True,
                               text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return unknown
    return {"revision": rev.stdout.split("\n")[1].strip(), "dirty": bool(dirty.stdout.strip())}


@cache
def loaded_git() -> dict[str, Any]:
    """:func:`git_revision` of affectlab's checkout the first time this process asks:
    the runner asks when it is imported, so it is the revision of the code the process
    runs, whatever the checkout holds later."""
    return git_revision()


def revision_id(git: dict[str, Any]) -> str | None:
    """A :func:`git_revision` record in one string: the commit, with ``+uncommitted``
    where the checkout had changes not committed; ``None`` outside a checkout."""
    if not git.get("revision"):
        return None
    return git["revision"] + ("+uncommitted" if git.get("dirty") else "")
