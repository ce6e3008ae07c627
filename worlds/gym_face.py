"""Gymnasium face for single-agent affectlab worlds.

``import worlds`` registers ``affectlab/<Id>`` for every world in the registry, so::

    import gymnasium, worlds
    env = gymnasium.make("affectlab/Foraging-v0", render_mode="ansi")

(or, without the import, ``gymnasium.make("worlds:affectlab/Foraging-v0")``).

The face is thin: it jits the world's ``reset_env``/``step_env`` once, returns numpy
observations and Python scalars, keeps ``terminated`` and ``truncated`` apart, and
leaves auto-reset to Gymnasium's wrappers. ``info["signals"]`` holds the body and
events of the step as Python floats/bools.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import jax
import numpy as np
from gymnasium import spaces

from worlds.registry import REGISTRY, make

NAMESPACE = "affectlab"


class AffectlabGymEnv(gymnasium.Env):
    """A single-agent affectlab world as a ``gymnasium.Env``.

    Args:
        world_id: registered id, e.g. ``"Foraging-v0"``.
        render_mode: ``None``, ``"ansi"`` or ``"rgb_array"``.
        params: world params to use instead of the registered defaults.
        **world_kwargs: passed to the world's constructor (e.g. ``layout``).
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 8}

    def __init__(
        self,
        world_id: str = "Foraging-v0",
        render_mode: str | None = None,
        params: Any = None,
        **world_kwargs: Any,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode {render_mode!r} not supported; use one of "
                f"{self.metadata['render_modes']} or None"
            )
        world, default_params = make(world_id, **world_kwargs)
        if world.num_agents != 1:
            raise ValueError(
                f"the Gymnasium face is single-agent; {world_id} has {world.num_agents} agents"
            )
        self.world = world
        self.params = default_params if params is None else params
        self.render_mode = render_mode
        high = max(1.0, float(getattr(self.params, "max_energy", 1.0)))
        low = float(getattr(world, "obs_low", 0.0))  # a world with signed features says so
        self.observation_space = spaces.Box(low, high, world.obs_shape, np.float32)
        if world.timed:  # (option or num_actions for no response, ticks)
            max_ticks = int(getattr(self.params, "deadline", 0)) + 1
            self.action_space = spaces.MultiDiscrete([world.num_actions + 1, max_ticks + 1])
        else:
            self.action_space = spaces.Discrete(world.num_actions)
        self._reset_fn = jax.jit(world.reset_env)
        self._step_fn = jax.jit(world.step_env)
        self._key = None
        self._state = None

    def _next_key(self) -> jax.Array:
        self._key, sub = jax.random.split(self._key)
        return sub

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Gymnasium ``reset``: ``(obs, info)`` as numpy."""
        super().reset(seed=seed)
        if seed is not None or self._key is None:
            self._key = jax.random.PRNGKey(int(self.np_random.integers(0, 2**31 - 1)))
        obs, self._state = self._reset_fn(self._next_key(), self.params)
        return np.asarray(obs[0], np.float32), {"signals": _signals_py(self._state.signals)}

    def step(self, action):
        """Gymnasium ``step``: ``(obs, reward, terminated, truncated, info)`` as numpy and Python
        scalars."""
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} not in {self.action_space}")
        act = np.asarray([action], np.int32)  # (1,) or (1, 2) for a timed world
        obs, self._state, reward, terminated, truncated, extra = self._step_fn(
            self._next_key(), self._state, act, self.params
        )
        info = {"signals": _signals_py(self._state.signals)}
        info.update({k: _py(v) for k, v in extra.items()})
        return (
            np.asarray(obs[0], np.float32),
            float(reward[0]),
            bool(terminated[0]),
            bool(truncated[0]),
            info,
        )

    def render(self):
        """The frame of the chosen render mode (``ansi`` text or ``rgb_array``)."""
        return self.world.render(self._state, self.render_mode)


def _py(value):
    """An info entry for the single agent (per-agent arrays) or the world (scalars)."""
    v = np.asarray(value)
    return (v[0] if v.ndim else v).tolist()


def _signals_py(signals) -> dict[str, float | bool]:
    out = {}
    for name, value in vars(signals).items():
        v = np.asarray(value)[0]
        out[name] = bool(v) if v.dtype == bool else float(v)
    return out


def register_gymnasium_ids() -> None:
    """Register ``affectlab/<Id>`` with Gymnasium for every registered world."""
    for world_id in REGISTRY:
        name = f"{NAMESPACE}/{world_id}"
        if name not in gymnasium.registry:
            gymnasium.register(
                id=name,
                entry_point="worlds.gym_face:AffectlabGymEnv",
                kwargs={"world_id": world_id},
                disable_env_checker=True,
            )
