"""The ``paralysis`` experiment: does removing affect produce indecision on close choices?

``Choice-v0`` (pairwise trials, half of them between equal-value items), one online
session per participant: a learning phase, then a test phase where the measures are
taken and acquired lesions are in force. Its claims (``claims.toml``) compare the full
developmental lesion with intact agents (the patients' case, where signalling is absent
throughout); the acquired onset is reported in the statistics table.

Measures of choices (per-trial logs of one run, numpy, host side: ``offered (T, k)`` int
items, ``equal (T,)`` bool, ``chosen (T,)`` int (-1 for no response), ``ticks (T,)``
int, ``timed_out (T,)`` bool): deliberation, timeouts, and inconsistency over repeated
pairwise choices (``k = 2``), as in the preference-consistency studies of ventromedial
frontal patients (Fellows & Farah 2007; Camille et al. 2011):

* :func:`reversal_rate`: for each pair offered at least twice, the share of its choices
  that go against the pair's majority choice, averaged over pairs (0: always the same,
  0.5: a coin flip);
* :func:`intransitive_triads`: among triads whose three pairs all have a strict majority,
  the share whose majority relations form a cycle (a > b > c > a); a coin-flipping
  chooser scores 1/4;
* :func:`garp_violations`: revealed preference (Varian 1982) on the majority relation:
  ``a R0 b`` if ``a`` was chosen over ``b`` more often than the reverse, ``R`` its
  transitive closure; a violation is ``b R0 a`` although ``a R b`` (a cycle of any
  length). The rate is violations over revealed relations. (Counting single choices
  instead of majorities saturates at 1 in long sessions: one reversal makes a cycle.)
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.plots import (
    INTERVALS,
    condition_order,
    new_figure,
    save_figure,
    seaborn,
    t_errorbar,
)
from experiments.analysis.tables import statistics, with_trials, write_tables
from experiments.spec import ExperimentSpec
from experiments.tasks.base import Task, default_channels, lesion_set

CURVE_BLOCK = 100  # steps per block of the curves

MEASURES = [
    ("test/ticks_equal", "deliberation ticks, equal trials"),
    ("test/ticks_unequal", "deliberation ticks, unequal trials"),
    ("test/timeout_equal", "timeout rate, equal trials"),
    ("test/timeout_unequal", "timeout rate, unequal trials"),
    ("test/reversal_equal", "choice reversals, equal pairs"),
    ("test/reversal_unequal", "choice reversals, unequal pairs"),
    ("test/intransitive_triads", "intransitive triads (equal items)"),
    ("test/garp_violations", "GARP violations (majority relation)"),
    ("test/accuracy_unequal", "accuracy, unequal trials"),
    ("test/reward_rate", "reward per trial"),
    ("test/energy", "energy"),
    ("test/starved", "starvations in the test phase"),
]


def spec(quick: bool = False) -> ExperimentSpec:
    """Does removing affect produce indecision on close choices?

    ``Choice-v0`` (pairwise trials, half of them between equal-value items), one
    online session per participant: a learning phase, then a test phase where the
    measures are taken and acquired lesions are in force. Conditions: see
    :func:`~experiments.tasks.base.lesion_set`. Quick: 32 seeds, 600 + 600 trials; full:
    64 seeds, 1000 + 1000.
    """
    n, seeds = (1200, 32) if quick else (2000, 64)
    return ExperimentSpec(
        name="paralysis-quick" if quick else "paralysis",
        world="Choice-v0",
        conditions=lesion_set(default_channels()),
        seeds=seeds,
        total_steps=n,
        test_steps=n // 2,
        trainer="online",
    )


# ------------------------------------------------------------------ measures
def pair_counts(offered: np.ndarray, chosen: np.ndarray, num_items: int) -> np.ndarray:
    """``n[a, b]``: times ``a`` was chosen over ``b`` (pairwise trials with a response)."""
    offered = np.asarray(offered)
    chosen = np.asarray(chosen)
    if offered.ndim != 2 or offered.shape[1] != 2:
        raise ValueError(f"pairwise measures need offered of shape (T, 2), got {offered.shape}")
    n = np.zeros((num_items, num_items), np.int64)
    ok = chosen >= 0
    a, b, c = offered[ok, 0], offered[ok, 1], chosen[ok]
    other = np.where(c == a, b, a)
    np.add.at(n, (c, other), 1)
    return n


def reversal_rate(n: np.ndarray, pairs=None) -> float:
    """Mean minority share over pairs offered (with a response) at least twice."""
    rates = []
    items = range(n.shape[0])
    for a, b in pairs if pairs is not None else combinations(items, 2):
        tot = n[a, b] + n[b, a]
        if tot >= 2:
            rates.append(min(n[a, b], n[b, a]) / tot)
    return float(np.mean(rates)) if rates else float("nan")


def intransitive_triads(n: np.ndarray, items=None) -> float:
    """Share of cyclic triads among triads with a strict majority on all three pairs."""
    items = range(n.shape[0]) if items is None else items
    cyclic = total = 0
    for a, b, c in combinations(items, 3):
        rel = []
        for x, y in ((a, b), (b, c), (c, a)):
            if n[x, y] == n[y, x]:
                break
            rel.append(n[x, y] > n[y, x])
        else:
            total += 1
            cyclic += rel[0] == rel[1] == rel[2]  # a>b>c>a or a<b<c<a
    return cyclic / total if total else float("nan")


def transitive_closure(r: np.ndarray) -> np.ndarray:
    """Warshall's algorithm on a boolean relation ``(N, N)``."""
    r = np.asarray(r, bool).copy()
    for k in range(r.shape[0]):
        r |= r[:, k : k + 1] & r[k : k + 1, :]
    return r


def garp_violations(n: np.ndarray) -> float:
    """Share of majority relations ``b R0 a`` that contradict ``a R b`` (closure)."""
    n = np.asarray(n)
    r0 = n > n.T
    closure = transitive_closure(r0)
    observed = r0.sum()
    if observed == 0:
        return float("nan")
    violations = (closure.T & r0).sum()  # b chosen over a while a R b
    return float(violations / observed)


def session_measures(logs: dict, test: slice, class_of: np.ndarray) -> dict[str, float]:
    """All measures of one session's test phase (see module docstring)."""
    offered = np.asarray(logs["offered"])[test]
    equal = np.asarray(logs["equal"])[test].astype(bool)
    chosen = np.asarray(logs["chosen"])[test]
    ticks = np.asarray(logs["ticks"])[test].astype(float)
    timed_out = np.asarray(logs["timed_out"])[test].astype(bool) | (chosen < 0)
    value = np.asarray(logs["value"])[test].astype(float)
    num_items = len(class_of)
    nan = float("nan")
    mean = lambda x: float(x.mean()) if x.size else nan
    out = {
        "ticks_equal": mean(ticks[equal]),
        "ticks_unequal": mean(ticks[~equal]),
        "timeout_equal": mean(timed_out[equal]),
        "timeout_unequal": mean(timed_out[~equal]),
        "n_equal": float(equal.sum()),
        "n_unequal": float((~equal).sum()),
        "reward_rate": mean(value),
        "energy": mean(np.asarray(logs["energy"])[test].astype(float)),
        "starved": float(np.asarray(logs["starved"])[test].sum()),
    }
    if offered.shape[1] == 2:
        n = pair_counts(offered, chosen, num_items)
        same = [(a, b) for a, b in combinations(range(num_items), 2) if class_of[a] == class_of[b]]
        diff = [(a, b) for a, b in combinations(range(num_items), 2) if class_of[a] != class_of[b]]
        out["reversal_equal"] = reversal_rate(n, same)
        out["reversal_unequal"] = reversal_rate(n, diff)
        tri = []
        for c in np.unique(class_of):
            t = intransitive_triads(n, np.flatnonzero(class_of == c))
            if not np.isnan(t):
                tri.append(t)
        out["intransitive_triads"] = float(np.mean(tri)) if tri else nan
        out["garp_violations"] = garp_violations(n)
        best = np.asarray(class_of)[offered].max(axis=1)
        got = np.where(chosen >= 0, np.asarray(class_of)[np.clip(chosen, 0, None)], -1)
        answered = (~equal) & (chosen >= 0)
        out["accuracy_unequal"] = mean((got == best)[answered])
    return out


# ------------------------------------------------------------------ analysis
def block_curves(logs: dict, block: int) -> tuple[dict, np.ndarray]:
    """Per-block curves ``curve/*`` ``(S, C, U)`` of session logs ``(S, C, T)`` (blocks of
    ``block`` trials: deliberation and timeouts on equal and unequal trials, reward), and
    the step ending each block ``(U,)``."""
    equal = logs["equal"].astype(bool)
    ticks = logs["ticks"].astype(float)
    timeout = logs["timed_out"].astype(bool) | (logs["chosen"] < 0)
    n_s, n_c, t = equal.shape
    u = t // block
    shape = (n_s, n_c, u, block)
    cut = lambda x: x[..., : u * block].reshape(shape)
    eq = cut(equal)

    def mean_where(x, m):
        m = m.astype(float)
        return np.where(m.sum(-1) > 0, (x * m).sum(-1) / np.maximum(m.sum(-1), 1), np.nan)

    curves = {
        "curve/ticks_equal": mean_where(cut(ticks), eq),
        "curve/ticks_unequal": mean_where(cut(ticks), ~eq),
        "curve/timeout_equal": mean_where(cut(timeout), eq),
        "curve/timeout_unequal": mean_where(cut(timeout), ~eq),
        "curve/reward": cut(logs["value"].astype(float)).mean(-1),
    }
    return curves, (np.arange(u) + 1) * block


def analyse(spec, world, world_params, logs):
    """Test-phase measures ``test/*`` ``(S, C)`` and block curves ``curve/*`` ``(S, C, U)``
    of online sessions in ``Choice-v0`` (logs ``(S, C, T, ...)``); returns
    ``(metrics, block end steps)``."""
    class_of = np.asarray(world.item_class)
    n_s, n_c = logs["ticks"].shape[:2]
    start = spec.total_steps - spec.test_steps if spec.test_steps else 0
    test = slice(start, spec.total_steps)
    per_run = [
        [
            session_measures({k: v[s, c] for k, v in logs.items()}, test, class_of)
            for c in range(n_c)
        ]
        for s in range(n_s)
    ]
    names = list(per_run[0][0])
    metrics = {
        f"test/{name}": np.array([[per_run[s][c][name] for c in range(n_c)] for s in range(n_s)])
        for name in names
    }
    curves, steps = block_curves(logs, min(CURVE_BLOCK, spec.total_steps))
    metrics.update(curves)
    return metrics, steps


# ------------------------------------------------------------------ report
RATES = {"test/timeout_equal": "test/n_equal", "test/timeout_unequal": "test/n_unequal"}


def claim_table(df: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The per-run values (timeout rates with their trial counts) and the measures of the
    statistics table."""
    return with_trials(df, RATES), MEASURES


def statistics_table(df: pd.DataFrame) -> pd.DataFrame:
    """Every condition against intact on every test-phase measure of ``results.csv``."""
    return statistics(*claim_table(df))


def report(results_dir) -> None:
    """Write ``statistics.csv`` (:func:`statistics_table`), ``values.csv`` and the
    figure."""
    sns = seaborn()
    results_dir = Path(results_dir)
    df = pd.read_csv(results_dir / "results.csv")
    write_tables(results_dir, *claim_table(df))

    test = df[df["metric"].str.startswith("test/")].copy()
    order = condition_order(df)
    fig, axes = new_figure(3, (15, 5.2))
    panels = [
        (("test/ticks_equal", "test/ticks_unequal"), "Deliberation (ticks per trial)"),
        (("test/timeout_equal", "test/timeout_unequal"), "Timeout rate"),
        (("test/reversal_equal", "test/intransitive_triads"), "Inconsistency"),
    ]
    names = {
        "test/ticks_equal": "equal", "test/ticks_unequal": "unequal",
        "test/timeout_equal": "equal", "test/timeout_unequal": "unequal",
        "test/reversal_equal": "reversals (equal pairs)",
        "test/intransitive_triads": "intransitive triads",
    }
    for ax, (metrics, title) in zip(axes, panels, strict=True):
        sub = test[test["metric"].isin(metrics)].copy()
        sub["measure"] = sub["metric"].map(names)
        sns.barplot(data=sub, y="condition", x="value", hue="measure", order=order, ax=ax,
                    errorbar=t_errorbar, orient="h")
        ax.set_title(title)
        ax.set_xlabel(title.split(" (")[0].lower())
        ax.set_ylabel("")
        ax.legend(title="", loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8)
    for ax in axes[1:]:
        ax.set_yticklabels([])
    fig.suptitle(
        "Choice-v0, test phase: bars are means over seeds, whiskers " + INTERVALS,
        fontsize=10,
    )
    save_figure(fig, results_dir)


TASK = Task("paralysis", spec, report, analyse)
