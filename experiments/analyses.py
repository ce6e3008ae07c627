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


def _analyse_choice(spec, world, world_params, logs):
    from experiments.choice_metrics import session_measures

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


def _analyse_iowa(spec, world, world_params, logs):
    from experiments.iowa_metrics import BLOCK, session_measures

    block = BLOCK if spec.total_steps % BLOCK == 0 else spec.total_steps
    scalars, curves = session_measures(logs, block)
    steps = (np.arange(spec.total_steps // block) + 1) * block
    return {**scalars, **curves}, steps


def _analysis_for(world):
    from worlds.choice import Choice
    from worlds.iowa import IowaGambling

    for cls, fn in ((Choice, _analyse_choice), (IowaGambling, _analyse_iowa)):
        if isinstance(world, cls):
            return fn
    return None


def has_analysis(world) -> bool:
    """Whether online sessions in ``world`` can be analysed (Choice, IowaGambling)."""
    return _analysis_for(world) is not None


def analyse_sessions(spec, world, world_params, logs):
    """Measures of every run (see module docstring)."""
    fn = _analysis_for(world)
    if fn is None:
        raise ValueError(f"no analysis for online sessions in {spec.world} yet")
    return fn(spec, world, world_params, logs)
