"""Trackers: each finished job's learning curves, also sent where a lab watches its runs.

``tracker="tensorboard"`` (``--tracker tensorboard``; ``pip install -e ".[tracking]"``)
writes every finished job's curves, one run per condition and seed, as TensorBoard event
files (tensorboardX) under the output's ``tensorboard/`` folder: while an experiment runs
they are in ``.NAME.partial/tensorboard/`` next to the output, then in
``NAME/tensorboard/``. ``results.csv`` stays the source of truth; the tracker only
copies. Nothing here imports tensorboardX until a tracker is asked for.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from experiments.runner.errors import RunnerError
from experiments.runner.results import tidy
from experiments.spec import ExperimentSpec

TRACKERS = ("tensorboard",)
"""Known trackers."""


def make_tracker(name: str | None, spec: ExperimentSpec, folder: Path
                 ) -> Callable[[dict], None] | None:
    """``track(result)`` for a finished job (``None`` without a tracker); a
    :class:`RunnerError` for an unknown tracker or a missing package."""
    if name is None:
        return None
    if name not in TRACKERS:
        raise RunnerError(f"unknown tracker {name!r}; known: {', '.join(TRACKERS)}")
    if importlib.util.find_spec("tensorboardX") is None:
        raise RunnerError("--tracker tensorboard needs tensorboardX: "
                          "pip install -e \".[tracking]\"")
    from tensorboardX import SummaryWriter

    root = Path(folder) / "tensorboard"

    def track(result: dict) -> None:
        df = tidy(spec, [result], "live")
        for (condition, seed), rows in df.groupby(["condition", "seed"], sort=False):
            with SummaryWriter(logdir=str(root / str(condition) / f"seed{seed}")) as w:
                for metric, step, value in rows[["metric", "step", "value"]].itertuples(
                        index=False):
                    w.add_scalar(str(metric), float(value), int(step))

    return track
