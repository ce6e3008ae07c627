"""A multi-agent affectlab world as a PettingZoo ``ParallelEnv`` (numpy, per-agent dicts).

::

    from worlds.pettingzoo_face import parallel_env
    env = parallel_env("Commons-v0", num_agents=8)
    obs, infos = env.reset(seed=0)
    obs, rewards, terminations, truncations, infos = env.step(
        {a: env.action_space(a).sample() for a in env.agents}
    )

Agents are named ``agent_0 .. agent_{N-1}``. An agent that starves is reported
``terminated`` once and then leaves ``env.agents``; when the episode ends (time limit)
every remaining agent is ``truncated`` and ``env.agents`` empties. ``infos[agent]``
holds the agent's signals (body and social events) as Python numbers. Per-agent dicts
exist only in this face; the world itself keeps the leading agent axis.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import jax
import numpy as np
from pettingzoo import ParallelEnv

from worlds.registry import make


class AffectlabParallelEnv(ParallelEnv):
    """A PettingZoo ``ParallelEnv`` over a multi-agent affectlab world (numpy in and out, agents
    as ``agent_<i>`` keys)."""

    metadata = {"render_modes": ["ansi", "rgb_array"], "name": "affectlab_parallel_v0"}

    def __init__(self, world_id: str = "Commons-v0", render_mode: str | None = None,
                 params: Any = None, **world_kwargs: Any):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} not supported")
        world, default_params = make(world_id, **world_kwargs)
        if world.timed:
            raise ValueError(f"{world_id} is a timed world; the PettingZoo face is for grids")
        self.world, self.render_mode = world, render_mode
        self.params = default_params if params is None else params
        self.possible_agents = [f"agent_{i}" for i in range(world.num_agents)]
        self.agents: list[str] = []
        bound = float(max(world.num_agents, getattr(self.params, "max_energy", 1.0)))
        self._obs_space = gymnasium.spaces.Box(-bound, bound, world.obs_shape, np.float32)
        self._act_space = gymnasium.spaces.Discrete(world.num_actions)
        self._reset = jax.jit(world.reset_env)
        self._step = jax.jit(world.step_env)
        self._state = None
        self._key = jax.random.PRNGKey(0)

    def observation_space(self, agent):
        """The observation space of ``agent``."""
        return self._obs_space

    def action_space(self, agent):
        """The action space of ``agent``."""
        return self._act_space

    def _obs_dict(self, obs):
        obs = np.asarray(obs, np.float32)
        return {a: obs[int(a.split("_")[1])] for a in self.agents}

    def _infos(self, signals, names):
        out = {}
        for a in names:
            i = int(a.split("_")[1])
            out[a] = {k: np.asarray(v)[i].item() for k, v in vars(signals).items()}
        return out

    def reset(self, seed: int | None = None, options: dict | None = None):
        """PettingZoo ``reset``: per-agent observations and infos."""
        if seed is not None:
            self._key = jax.random.PRNGKey(seed)
        self._key, k = jax.random.split(self._key)
        obs, self._state = self._reset(k, self.params)
        self.agents = list(self.possible_agents)
        return self._obs_dict(obs), self._infos(self._state.signals, self.agents)

    def step(self, actions: dict):
        """PettingZoo ``step``: per-agent observations, rewards, terminations, truncations,
        infos; dead agents leave."""
        if not self.agents:
            raise RuntimeError("step() after the episode ended: call reset()")
        unknown = set(actions) - set(self.agents)
        if unknown:
            raise KeyError(f"actions for agents not in play: {sorted(unknown)}")
        act = np.zeros(self.world.num_agents, np.int32)
        for a, x in actions.items():
            act[int(a.split("_")[1])] = int(x)
        self._key, k = jax.random.split(self._key)
        obs, self._state, reward, term, trunc, _ = self._step(k, self._state, act, self.params)
        reward, term, trunc = np.asarray(reward), np.asarray(term), np.asarray(trunc)
        live = self.agents
        idx = {a: int(a.split("_")[1]) for a in live}
        rewards = {a: float(reward[i]) for a, i in idx.items()}
        terminations = {a: bool(term[i]) for a, i in idx.items()}
        truncations = {a: bool(trunc[i]) and not bool(term[i]) for a, i in idx.items()}
        observations = self._obs_dict(obs)
        infos = self._infos(self._state.signals, live)
        self.agents = [a for a in live if not (terminations[a] or truncations[a])]
        return observations, rewards, terminations, truncations, infos

    def render(self):
        """The frame of the chosen render mode."""
        return self.world.render(self._state, self.render_mode)

    def close(self):
        """Nothing to release."""
        pass


def parallel_env(world_id: str = "Commons-v0", **kwargs) -> AffectlabParallelEnv:
    """Build the PettingZoo face of a registered multi-agent world."""
    return AffectlabParallelEnv(world_id, **kwargs)
