"""``affectlab fit`` and ``affectlab recover``.

affectlab fit igt DATA [--model agent,ev,pvl-delta] [--free a,b] --out DIR
affectlab fit choice-rt DATA [--model race,ddm] --out DIR
affectlab recover igt|choice-rt [--model agent] [--participants 100] --out DIR

``DATA`` is a file in hBayesDM's layout (``.csv``, ``.csv.gz`` or tab-separated
``.txt``); ``manylabs``: the calibration set of healthy participants, read from
``$AFFECTLAB_REFERENCE/igt-manylabs/`` (default ``../shared/reference``, relative to the
working directory), never copied; or ``hbayesdm-igt``: hBayesDM's IGT example (GPL-3),
fetched at run time with ``pip download`` and read from the archive.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from affect.storage import atomic_write_text
from experiments.fit.data import EXAMPLES, DataError, read_choices, read_example
from experiments.fit.fitting import METHODS, fit_sessions
from experiments.fit.predictive import (
    horizon,
    measures,
    payoff_schemes,
    predictive,
    predictive_figure,
)
from experiments.fit.recovery import MODELS, get_model, recover
from experiments.fit.report import MANYLABS, comparison, fit_figure, recovery_figure
from experiments.fit.rt import (
    RT_EXAMPLES,
    chronometric,
    chronometric_figure,
    read_rt,
    read_rt_example,
)

TASKS = {"igt": ("agent", "ev", "pvl-delta"), "choice-rt": ("race", "ddm")}
"""Tasks that can be fitted and their models (the first is the default): the Iowa
Gambling Task (``IowaGambling-v0``), and two-item value-based choices with response
times (:mod:`experiments.fit.rt`)."""
SETTINGS = {"agent": (2, 25), "ev": (4, 40), "pvl-delta": (4, 40), "ddm": (4, 30),
            "race": (4, 30)}
"""Default ``(starts, steps)`` per model: the agent's replay is costly, its fits converge
in fewer steps than the small models need starts."""


def manylabs_path() -> Path:
    """Where the calibration set is read from (``$AFFECTLAB_REFERENCE``)."""
    root = Path(os.environ.get("AFFECTLAB_REFERENCE", "../shared/reference"))
    return root / "igt-manylabs" / "igt_manylabs_calibration.csv.gz"


def add_parsers(sub) -> None:
    """Add ``fit`` and ``recover`` to the ``affectlab`` sub-parsers."""
    fit = sub.add_parser("fit", help="fit models to human choices (hBayesDM layout)")
    fit.add_argument("task", choices=list(TASKS))
    fit.add_argument("data", help="a choice file (.csv, .csv.gz, .txt), 'manylabs' (the "
                     "calibration set) or an example fetched at run time: "
                     + ", ".join([*EXAMPLES, *RT_EXAMPLES]))
    fit.add_argument("--model", default=None,
                     help="comma-separated models, the first drawn (igt: agent, ev, "
                          "pvl-delta; choice-rt: race, ddm; default: the first)")
    _common(fit)
    fit.add_argument("--participants", type=int, default=None,
                     help="fit only the first N participants of the file")

    rec = sub.add_parser("recover", help="parameter recovery on simulated participants")
    rec.add_argument("task", choices=list(TASKS))
    rec.add_argument("--model", default=None, choices=MODELS,
                     help="the model (default: the task's first)")
    rec.add_argument("--participants", type=int, default=100)
    rec.add_argument("--trials", type=int, default=100)
    _common(rec)


def _common(p) -> None:
    p.add_argument("--free", default=None,
                   help="comma-separated parameters to fit (default: the model's own set); "
                        "e.g. marker_gain to fit the gain of a marker lesion")
    p.add_argument("--decision", default=None, choices=("deliberate", "softmax"),
                   help="the agent's decision rule (default: the agent's config)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--starts", type=int, default=None, help="starts per participant")
    p.add_argument("--steps", type=int, default=None,
                   help="optimiser steps per start (0: no fit, the model's defaults)")
    p.add_argument("--method", default="scoring", choices=sorted(METHODS))
    p.add_argument("--ml", action="store_true", help="maximum likelihood (no prior)")
    p.add_argument("--seed", type=int, default=0)


def _models(args):
    names = [m.strip() for m in (args.model or TASKS[args.task][0]).split(",") if m.strip()]
    free = None if args.free is None else tuple(f.strip() for f in args.free.split(","))
    if free is not None and len(names) > 1:
        raise ValueError("--free applies to one model; give one --model with it")
    models = []
    for name in names:
        if name not in TASKS[args.task]:
            raise ValueError(f"model {name!r} does not fit task {args.task!r}; its models: "
                             f"{', '.join(TASKS[args.task])}")
        models.append(get_model(name, free, args.decision if name == "agent" else None))
    return models


def _check_counts(args) -> None:
    """Raise ``ValueError`` for a count below 1 (``--participants``, ``--starts``,
    ``--steps``)."""
    for flag in ("participants", "starts", "steps"):
        value = getattr(args, flag, None)
        least = 0 if flag == "steps" else 1
        if value is not None and value < least:
            raise ValueError(f"--{flag} must be >= {least}, got {value}")


def _read(task: str, data: str, path: Path):
    """The sessions of ``data`` for ``task`` (a file or a named example)."""
    if task == "choice-rt":
        return read_rt_example(data) if data in RT_EXAMPLES else read_rt(path)
    return read_example(data) if data in EXAMPLES else read_choices(path)


def _settings(args, name):
    """``(starts, steps)``: the flags, else the model's :data:`SETTINGS`; ``--steps 0``
    fits nothing (one start, at the model's defaults: the default agent's likelihood and
    predictions)."""
    starts, steps = SETTINGS[name]
    steps = steps if args.steps is None else args.steps
    return (1 if steps == 0 else args.starts or starts), steps


def cmd_fit(args) -> int:
    """``affectlab fit``: fits.csv (one row per participant and model), comparison.csv,
    summary.txt and the figure."""
    path = manylabs_path() if args.data == "manylabs" else Path(args.data)
    try:
        _check_counts(args)
        models = _models(args)
        sessions = _read(args.task, args.data, path)
    except (DataError, ValueError) as err:
        hint = ("; set AFFECTLAB_REFERENCE to the folder that holds igt-manylabs/"
                if args.data == "manylabs" and not path.is_file() else "")
        print(f"affectlab: error: {err}{hint}", file=sys.stderr)
        return 2
    if args.participants is not None:
        sessions = sessions.select(np.arange(min(args.participants, len(sessions.subjects))))
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"{len(sessions.subjects)} participants, {int(sessions.trials.sum())} choices "
          f"from {path}", file=sys.stderr)
    tables, timing = [], {}
    for model in models:
        starts, steps = _settings(args, model.name)
        t0 = time.perf_counter()
        df = fit_sessions(model, sessions, restarts=starts, steps=steps, method=args.method,
                          prior=not args.ml, seed=args.seed)
        timing[model.name] = time.perf_counter() - t0
        tables.append(df.assign(model=model.name))
        fits = pd.concat(tables, ignore_index=True)
        atomic_write_text(args.out / "fits.csv", fits.to_csv(index=False))
    table = comparison(fits)
    atomic_write_text(args.out / "comparison.csv", table.to_csv(index=False))
    cite = {"manylabs": MANYLABS, "hbayesdm-igt": "hBayesDM 1.1.1 example data (Ahn, Haines "
            "& Zhang 2017, Computational Psychiatry 1, 24-57; GPL-3)",
            "addm": "aDDM toolbox 0.1.12 expdata.csv (Tavares, Perona & Rangel 2017, Frontiers "
            "in Neuroscience 11:468; GPL-3)"}.get(args.data, str(path))
    params = {m.name: list(m.free_params) for m in models}
    summary = _summary(fits, table, models, timing, args, cite)
    atomic_write_text(args.out / "summary.txt", summary)
    source = {"manylabs": "Steingroever et al. (2015), many labs",
              "addm": "aDDM toolbox, Tavares et al. (2017)"}.get(args.data, path.name)
    fit_figure(fits, params, args.out, chance=np.log(0.25) if args.task == "igt" else None,
               title=f"{len(sessions.subjects)} participants ({source}); "
               f"{'ML' if args.ml else 'MAP'} fits, best of each participant's starts")
    try:
        if args.task == "igt":
            _write_predictive(models, fits, sessions, args, source)
        else:
            _write_chronometric(models, fits, sessions, args, source)
    except ValueError as err:  # e.g. a payoff scheme the world does not know
        print(f"affectlab: the predictive check was skipped ({err}); the fits are written",
              file=sys.stderr)
    print(summary)
    print(f"wrote {args.out}/fits.csv, comparison.csv, summary.txt, figure.png, "
          "predictive.csv, predictive.png")
    return 0


def _write_chronometric(models, fits, sessions, args, source) -> None:
    """predictive.csv and predictive.png of choice-RT fits: choice share and mean RT by
    value difference, people against each model's predictions."""
    table = pd.concat([chronometric(sessions)] + [
        chronometric(sessions, m, fits[fits["model"] == m.name].reset_index(drop=True))
        for m in models], ignore_index=True)
    atomic_write_text(args.out / "predictive.csv", table.to_csv(index=False))
    chronometric_figure(table, args.out, f"Fitted models' predictions against the choices "
                        f"and times of {len(sessions.subjects)} people ({source})")


def _write_predictive(models, fits, sessions, args, source) -> None:
    """predictive.csv and predictive.png: people against each fitted model."""
    compared = horizon(sessions)
    if compared == 0:
        print("posterior predictive: skipped (a participant played fewer than 20 trials)",
              file=sys.stderr)
        return
    schemes = payoff_schemes(sessions)
    tables = [measures(sessions.choice, "people", sessions.subjects, schemes, compared)]
    for model in models:
        print(f"posterior predictive: simulating {model.name}", file=sys.stderr)
        rows = fits[fits["model"] == model.name].reset_index(drop=True)
        tables.append(predictive(model, rows, sessions, seed=args.seed))
    table = pd.concat(tables, ignore_index=True)
    atomic_write_text(args.out / "predictive.csv", table.to_csv(index=False))
    predictive_figure(table, args.out, f"Posterior predictive: each participant simulated "
                      f"once with their fitted parameters ({source}); means, 95% t intervals")


def _summary(fits, table, models, timing, args, cite) -> str:
    kind = ("maximum likelihood" if args.ml
            else "MAP (Normal(0, 1.5) prior on each unconstrained parameter)")
    lines = [f"fits: {kind}, method {args.method}; data: {cite}", ""]
    for m in models:
        rows = fits[fits["model"] == m.name]
        med = ", ".join(f"{p} {rows[p].median():.4g}" for p in m.free)
        starts, steps = _settings(args, m.name)
        lines.append(f"{m.name}: median {med}; {starts} starts x {steps} steps, "
                     f"{timing[m.name]:.0f} s")
    lines += ["", "model comparison (BIC per participant):", table.to_string(index=False), ""]
    return "\n".join(lines)


def cmd_recover(args) -> int:
    """``affectlab recover``: recovery.csv, recovery_summary.csv and the figure."""
    try:
        _check_counts(args)
        (model,) = _models(args)
        if args.participants < 2 or args.trials < 1:
            raise ValueError("--participants must be >= 2 and --trials >= 1")
    except ValueError as err:
        print(f"affectlab: error: {err}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    starts, steps = _settings(args, model.name)
    t0 = time.perf_counter()
    table, summary = recover(model, args.participants, args.trials, args.seed,
                             restarts=starts, steps=steps, method=args.method,
                             prior=not args.ml)
    atomic_write_text(args.out / "recovery.csv", table.to_csv(index=False))
    atomic_write_text(args.out / "recovery_summary.csv", summary.to_csv(index=False))
    recovery_figure(table, summary, model.name, args.out)
    print(summary.to_string(index=False))
    print(f"{time.perf_counter() - t0:.0f} s; wrote {args.out}/recovery.csv, "
          "recovery_summary.csv, figure.png")
    return 0
