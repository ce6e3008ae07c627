"""The world contract every affectlab world follows (after gymnax 1.0).

A world is an immutable object holding only *static* things (shapes, layout); all
numbers that may be swept live in a ``params`` pytree. Its two public functions are
pure and ``jit``/``vmap``-able::

    obs, state = world.reset(key, params)
    obs, state, reward, terminated, truncated, info = world.step(key, state, action, params)

Shapes carry a leading agent axis ``A = world.num_agents`` (``A == 1`` for a
single-agent world): ``obs (A, *obs_shape)``, ``action (A,)`` int32,
``reward (A,)`` float32, ``terminated (A,)`` and ``truncated (A,)`` bool.

``action`` is ``(A,)`` int32 for most worlds. A *timed* world, where deliberation time
is part of the task (``Choice-v0``), sets ``action_shape = (2,)`` and takes ``(A, 2)``
int32 rows ``(option, ticks)``: the option chosen (``num_actions`` for "no response")
and the deliberation ticks it took. ``world.action_mask(state, params)`` gives the
options available now, ``(A, num_actions)`` bool (all True unless a world says otherwise).

``terminated`` means the agent's episode ended inside the task (e.g. it starved: no
value after it); ``truncated`` means a time limit cut it (the value bootstraps
through it). Never confuse the two.

A world writes ``reset_env`` and ``step_env``, and may write ``observe(state, params)``,
the observation of a state. The base class owns auto-reset: when every agent is done,
``step`` returns the first observation and state of a new episode, and ``info`` carries
what the old episode ended with:

* ``info["final_observation"]``: ``(A, *obs_shape)``, the observation the step
  produced before any reset;
* ``info["signals"]``: the :class:`~worlds.signals.Signals` of the step (pre-reset);
* ``info["done"]``: bool scalar, whether the world was reset.

Every world state has a ``signals`` field: the body as of the returned observation
(after a reset, a fresh body with no events).

Speed: under ``vmap`` both branches of the auto-reset are computed every step. A world
that writes ``observe`` has its view computed once, of the state chosen (the step's
own observation is then computed only where ``info["final_observation"]`` is used), and
the built-in worlds draw their random numbers in one call per ``reset_env`` and per
``step_env`` (:mod:`worlds.draws`).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from worlds.measures import DEFAULT, Measure


class World:
    """Base class of all worlds. Subclasses set the static attributes below.

    Attributes:
        num_agents: number of agents (static).
        obs_shape: per-agent observation shape (static).
        num_actions: size of the discrete action space (static).
        action_shape: ``()`` or ``(2,)`` for a timed world (static).
        measures: what its experiments measure (:mod:`worlds.measures`): the reports
            draw these; episode return and world reward by default.
    """

    num_agents: int = 1
    obs_shape: tuple[int, ...] = ()
    num_actions: int = 0
    action_shape: tuple[int, ...] = ()  # () or (2,) for a timed world: (option, ticks)
    measures: tuple[Measure, ...] = DEFAULT

    # ----- what a world writes -------------------------------------------------------
    def default_params(self) -> Any:
        """The world's default parameters (a pytree dataclass: every leaf may be swept)."""
        raise NotImplementedError

    def reset_env(self, key: jax.Array, params: Any) -> tuple[jax.Array, Any]:
        """``(obs, state)`` of a fresh episode; worlds write this, callers use :meth:`reset`."""
        raise NotImplementedError

    def step_env(self, key: jax.Array, state: Any, action: jax.Array, params: Any):
        """One step without auto-reset, ``(obs, state, reward, terminated, truncated, info)``;
        worlds write this, callers use :meth:`step`."""
        raise NotImplementedError

    def observe(self, state: Any, params: Any = None) -> jax.Array:
        """The observation of ``state``, ``(A, *obs_shape)`` (optional: a world that writes it
        has its view computed once per auto-reset step, not once per branch)."""
        raise NotImplementedError

    def action_mask(self, state: Any, params: Any = None) -> jax.Array:
        """Options available in ``state``: ``(A, num_actions)`` bool (default: all)."""
        del state, params
        return jnp.ones((self.num_agents, self.num_actions), bool)

    @property
    def timed(self) -> bool:
        """Whether the world takes ``(option, ticks)`` actions."""
        return tuple(self.action_shape) == (2,)

    # ----- what the base class owns ----------------------------------------------------
    def reset(self, key: jax.Array, params: Any = None) -> tuple[jax.Array, Any]:
        """Start an episode. Returns ``obs (A, *obs_shape)`` and the state."""
        if params is None:
            params = self.default_params()
        return self.reset_env(key, params)

    def step(self, key: jax.Array, state: Any, action: jax.Array, params: Any = None):
        """Advance one step, auto-resetting when every agent is done.

        Returns ``(obs, state, reward, terminated, truncated, info)``; see the module
        docstring for shapes and ``info`` keys.
        """
        if params is None:
            params = self.default_params()
        key_step, key_reset = jax.random.split(key)
        obs_st, state_st, reward, terminated, truncated, info = self.step_env(
            key_step, state, action, params
        )
        done = jnp.all(terminated | truncated)
        obs_re, state_re = self.reset_env(key_reset, params)
        state = jax.tree_util.tree_map(lambda r, s: jnp.where(done, r, s), state_re, state_st)
        if type(self).observe is World.observe:
            obs = jnp.where(done, obs_re, obs_st)
        else:  # the view of the chosen state only; XLA drops the branches' unused views
            obs = self.observe(state, params)
        info = dict(info)
        info["final_observation"] = obs_st
        info["signals"] = state_st.signals
        info["done"] = done
        return obs, state, reward, terminated, truncated, info

    def render(self, state: Any, mode: str | None):
        """``render_ansi`` (``"ansi"``) or ``render_rgb`` (``"rgb_array"``) of ``state``;
        ``None`` without a state or a mode (what the Gymnasium and PettingZoo faces return)."""
        if state is None or mode is None:
            return None
        return self.render_ansi(state) if mode == "ansi" else self.render_rgb(state)

    # ----- description ------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The world's class name."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"{self.name}(num_agents={self.num_agents}, obs_shape={self.obs_shape})"
