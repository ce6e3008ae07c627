"""Measures of choices in ``Choice-v0`` sessions: deliberation, timeouts, inconsistency.

All functions take per-trial logs of one run (numpy, host side):

* ``offered (T, k)`` int items, ``equal (T,)`` bool, ``chosen (T,)`` int (-1 for no
  response), ``ticks (T,)`` int, ``timed_out (T,)`` bool.

Inconsistency over repeated pairwise choices (``k = 2``), as in the preference-
consistency studies of ventromedial frontal patients (Fellows & Farah 2007; Camille
et al. 2011):

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

import numpy as np


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
