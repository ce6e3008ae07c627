"""Turn per-step session logs of the online trainer into tidy measures.

``analyse_sessions(spec, world, world_params, logs)`` receives ``logs`` as arrays
``(S, C, T, ...)`` (seeds x conditions x steps) and returns ``(metrics, steps)``:
scalar measures of the test phase ``(S, C)`` and block curves ``(S, C, U)`` with the
step at the end of each block.
"""

from __future__ import annotations

import numpy as np

CURVE_BLOCK = 100  # steps per block of the curves


def _block_curves(logs, block: int):
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


def has_analysis(world) -> bool:
    """Whether online sessions in ``world`` can be analysed (``Choice`` worlds so far)."""
    from worlds.choice import Choice

    return isinstance(world, Choice)


def analyse_sessions(spec, world, world_params, logs):
    """Measures of every run (see module docstring). Only ``Choice`` worlds so far."""
    from experiments.choice_metrics import session_measures

    if not has_analysis(world):
        raise ValueError(f"no analysis for online sessions in {spec.world} yet")
    class_of = np.asarray(world._item_class)
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
    curves, steps = _block_curves(logs, min(CURVE_BLOCK, spec.total_steps))
    metrics.update(curves)
    return metrics, steps
