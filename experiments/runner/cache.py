"""JAX's persistent compilation cache for affectlab's runs.

Compiling a training program takes seconds to tens of seconds on a CPU; a run that
compiles the same program again (a rerun, a resume, the next seed block in another
process, the same experiment tomorrow) reads it from disk instead. The executable is the
same, so the numbers are too. JAX keys every entry by the program, the compile options,
the XLA flags and the versions of jax and jaxlib.

The cache lives in ``$AFFECTLAB_JAX_CACHE`` (default ``$XDG_CACHE_HOME/affectlab/jax``,
i.e. ``~/.cache/affectlab/jax``), at most :data:`MAX_BYTES` (least recently used entries
go first). ``AFFECTLAB_JAX_CACHE=off`` turns it off; a cache folder set in JAX's own
configuration is left as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

ENV = "AFFECTLAB_JAX_CACHE"
MAX_BYTES = 2 * 1024**3
MIN_COMPILE_S = 0.3  # programs that compile faster are not worth a disk read


def cache_dir() -> Path | None:
    """The folder the cache uses, or ``None`` when it is turned off."""
    value = os.environ.get(ENV)
    if value is not None and value.strip().lower() in ("", "0", "off", "none", "false"):
        return None
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "affectlab" / "jax"


def enable_compilation_cache() -> Path | None:
    """Point JAX's persistent compilation cache at :func:`cache_dir` (once per process);
    returns the folder in use, ``None`` when off or when it cannot be created."""
    current = jax.config.jax_compilation_cache_dir
    if current:
        return Path(current)
    path = cache_dir()
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: run without the cache
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
    jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    return path
