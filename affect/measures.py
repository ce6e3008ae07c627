"""Training measures of a rollout: the shared ones and the world's own.

Every rollout of every trainer reports ``charts/*`` (episode return, length, survival,
world reward) and ``affect/*`` (homeostatic deviation, felt reward); a world adds its
own through ``step_extra(info)`` (per step) and ``summarize_rollout(extra)``.
``traj`` is a stacked :class:`affect.ppo.Transition` with leading axes ``(T, N)``.
"""

from __future__ import annotations

import jax.numpy as jnp


def rollout_metrics(traj, setpoint: float) -> dict[str, jnp.ndarray]:
    """Scalar metrics of one rollout (NaN where no episode finished)."""
    n_done = traj.done.sum()
    mean_done = lambda x: jnp.where(n_done > 0, x.sum() / jnp.maximum(n_done, 1), jnp.nan)
    alive = ~traj.starved
    return {
        "charts/episode_return": mean_done(traj.finished_return),
        "charts/episode_length": mean_done(traj.finished_length.astype(jnp.float32)),
        # survived: not terminated, or terminated alive and not starving (a goal reached)
        "charts/survival": mean_done(
            (traj.done & (~traj.terminated | (traj.valid & ~traj.starved))).astype(jnp.float32)
        ),
        "affect/homeostatic_deviation": (jnp.abs(traj.energy - setpoint) * alive).sum()
        / jnp.maximum(alive.sum(), 1),
        "affect/felt_reward": traj.felt_reward.mean(),
        "charts/world_reward": traj.world_reward.mean(),
    }


def world_extra(world, info) -> dict:
    """The world's own per-step measures (``world.step_extra(info)``), or ``{}``."""
    fn = getattr(world, "step_extra", None)
    return {} if fn is None else fn(info)


def world_metrics(world, traj) -> dict:
    """The world's own rollout measures (``world.summarize_rollout(extra)``), or ``{}``."""
    fn = getattr(world, "summarize_rollout", None)
    return {} if fn is None or not traj.extra else fn(traj.extra)
