"""Figure helpers: a matplotlib ``Figure`` (no pyplot state, no display needed), seaborn's
theme, step-binned learning curves, and PNG + PDF output."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

from experiments.analysis.inference import MIN_UNITS, t_interval

MAX_BINS = 40
INTERVALS = "95% t intervals over seeds (none below 4 seeds)"


def t_errorbar(values) -> tuple[float, float]:
    """seaborn ``errorbar`` callable: the 95% t interval of the mean of ``values``, or no
    interval (NaN) with fewer than :data:`~experiments.analysis.inference.MIN_UNITS`
    values (the same rule as the statistics tables; the percentile bootstrap seaborn
    offers is too narrow with few seeds)."""
    x = np.asarray(values, float)
    x = x[~np.isnan(x)]
    if x.size < MIN_UNITS:
        return (np.nan, np.nan)
    _, lo, hi = t_interval(x)
    return (lo, hi)


def seaborn() -> ModuleType:
    """The seaborn module, imported on first use: it (with matplotlib and scipy.stats)
    takes about 1.5 s to import, and the runner's worker processes, which import the
    tasks but never draw, should not pay for it."""
    import seaborn as sns  # heavy (about 1.5 s); only processes that draw import it

    return sns


def new_figure(ncols: int, size: tuple[float, float], font_scale: float = 1.0,
               style: str = "whitegrid", layout: str | None = "constrained"):
    """``(fig, axes)``: one row of ``ncols`` axes (``axes`` always an array) in seaborn's
    paper context. ``size`` is the figure size in inches."""
    from matplotlib.figure import Figure  # heavy: with seaborn, only when drawing

    seaborn().set_theme(style=style, context="paper", font_scale=font_scale)
    fig = Figure(figsize=size, layout=layout)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def new_mosaic(mosaic: list[list[str]], size: tuple[float, float], font_scale: float = 1.0,
               style: str = "whitegrid") -> tuple:
    """``(fig, axes)``: a matplotlib ``subplot_mosaic`` layout (``axes`` a dict by label;
    ``"."`` leaves a cell empty) in seaborn's paper context, for figures with more
    panels than one row holds."""
    from matplotlib.figure import Figure  # heavy: with seaborn, only when drawing

    seaborn().set_theme(style=style, context="paper", font_scale=font_scale)
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.subplot_mosaic(mosaic, empty_sentinel=".")


def log_axis_at(ax, values, axis: str = "x") -> None:
    """A log-scaled axis whose ticks are exactly ``values`` (a grid's settings), labelled
    plainly (``16``, ``0.001``), without minor ticks."""
    from matplotlib.ticker import NullLocator  # heavy: only when drawing

    values = sorted({float(v) for v in values})
    getattr(ax, f"set_{axis}scale")("log")
    getattr(ax, f"set_{axis}ticks")(values, labels=[f"{v:g}" for v in values])
    getattr(ax, f"{axis}axis").set_minor_locator(NullLocator())


def save_figure(fig, folder: str | Path, dpi: int = 150, name: str = "figure") -> list[Path]:
    """Write a matplotlib ``Figure`` as ``NAME.png`` and ``NAME.pdf`` (``figure`` by
    default) into ``folder``; returns their paths."""
    paths = [Path(folder) / f"{name}.{ext}" for ext in ("png", "pdf")]
    for path in paths:
        fig.savefig(path, dpi=dpi)
    return paths


def binned(df: pd.DataFrame, metric: str, max_bins: int = MAX_BINS) -> pd.DataFrame:
    """Each seed's curve of ``metric`` averaged within at most ``max_bins`` equal step bins
    (keeps CIs over seeds); columns condition, seed, step, value."""
    sub = df[df["metric"] == metric].copy()
    steps = np.sort(sub["step"].unique())
    if len(steps) > max_bins:
        edges = np.linspace(0, len(steps), max_bins + 1).astype(int)
        bin_of = np.zeros(len(steps), int)
        centre = np.zeros(max_bins)
        for b in range(max_bins):
            bin_of[edges[b] : edges[b + 1]] = b
            centre[b] = steps[edges[b + 1] - 1]
        lookup = dict(zip(steps, centre[bin_of], strict=True))
        sub["step"] = sub["step"].map(lookup)
    return sub.groupby(["condition", "seed", "step"], as_index=False)["value"].mean()


def condition_order(df: pd.DataFrame) -> list[str]:
    """The conditions of a results table in the order they first appear."""
    return list(dict.fromkeys(df["condition"]))
