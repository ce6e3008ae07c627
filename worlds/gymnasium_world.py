"""Any Gymnasium environment as an affectlab world, with a user-written signals function.

The agent's affect module needs a body and events (:class:`~worlds.signals.Signals`);
a Gymnasium environment has observations, rewards and ``info``. The user supplies one
small function that maps a step to signals::

    import numpy as np
    import worlds

    def cliff_signals(step):          # arrays with a leading environment axis
        fell = step.reward <= -100    # CliffWalking: -100 for stepping off the cliff
        return {"energy": 1.0 - step.t / 100, "loss": fell.astype(float)}

    world = worlds.from_gymnasium("CliffWalking-v1", cliff_signals, max_episode_steps=100)
    worlds.register("MyCliff-v0", lambda: world)   # then use "MyCliff-v0" in a spec

``step`` is a :class:`GymStep`: ``obs`` (before an automatic reset), ``reward``,
``terminated``, ``truncated``,
``info`` (as the vector environment returns it; for environments whose episode ended in
this step, ``info["final_info"]`` holds the ended episode's entries) and ``t``
(steps into the episode, 1 after the first step; 0 with the observation of a reset).
The function returns a mapping from :class:`~worlds.signals.Signals` field names to
scalars or ``(N,)`` arrays; fields it leaves out take their resting values
(``energy`` 1, no events), ``energy_prev`` is tracked for it, and ``alive`` is ``not
starved``.

The environment must have a ``Discrete`` action space and a ``Box`` (flattened) or
``Discrete`` (one-hot) observation space; it runs on the host (numpy), so training uses
:mod:`affect.host`, the same PPO update as the JAX worlds around a Gymnasium vector
environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import gymnasium
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.wrappers import TimeLimit

from worlds.base import World
from worlds.measures import DEFAULT, Measure
from worlds.signals import BOOL_FIELDS, Signals

SIGNAL_FIELDS = tuple(Signals.__dataclass_fields__)
_SETTABLE = tuple(f for f in SIGNAL_FIELDS if f not in ("energy_prev", "alive"))


class GymStep(NamedTuple):
    """What a signals function sees: one step of ``N`` environments (numpy)."""

    obs: Any
    reward: np.ndarray  # (N,) float
    terminated: np.ndarray  # (N,) bool
    truncated: np.ndarray  # (N,) bool
    info: dict
    t: np.ndarray  # (N,) int, steps into the episode


@struct.dataclass
class GymParams:
    """Host worlds have no swept parameters; an empty pytree keeps the world contract."""

    time_limit: int = 100  # steps per episode (the evaluation horizon)


class GymnasiumWorld(World):
    """A Gymnasium environment behind the world contract's description (host-run).

    Build one with :func:`from_gymnasium`. It has the contract's shapes
    (``num_agents``, ``obs_shape``, ``num_actions``, ``action_shape``) and
    ``host = True``: its ``reset``/``step`` are not JAX functions; :mod:`affect.host`
    drives :meth:`make_vector_env` instead.
    """

    host = True
    num_agents = 1
    action_shape = ()

    def __init__(
        self,
        env: str | Callable[[], Any],
        signals: Callable[[GymStep], Mapping[str, Any]],
        max_episode_steps: int | None = None,
        measures: tuple[Measure, ...] = DEFAULT,
        **make_kwargs,
    ):
        if not callable(signals):
            raise TypeError(f"signals must be a function of a GymStep, got {signals!r}")
        self.env_id = env if isinstance(env, str) else getattr(env, "__name__", repr(env))
        self._env = env
        self._make_kwargs = make_kwargs
        self.signals_fn = signals
        self.measures = tuple(measures)
        if not all(isinstance(m, Measure) for m in self.measures):
            raise TypeError(f"measures must be worlds.measures.Measure objects, got {measures!r}")
        probe = self._make_one()
        try:
            act_space, obs_space = probe.action_space, probe.observation_space
            spec_steps = probe.spec.max_episode_steps if probe.spec is not None else None
        finally:
            probe.close()
        if not isinstance(act_space, gymnasium.spaces.Discrete):
            kind = "continuous" if isinstance(act_space, gymnasium.spaces.Box) else "non-discrete"
            raise ValueError(
                f"{self.env_id}: affectlab agents choose among discrete actions, but this "
                f"environment's action space is {act_space} ({kind}). Discretise it with a "
                "gymnasium ActionWrapper, or pick an environment with a Discrete action space."
            )
        if isinstance(obs_space, gymnasium.spaces.Discrete):
            self._obs_kind, dim = "discrete", int(obs_space.n)
        elif isinstance(obs_space, gymnasium.spaces.Box):
            self._obs_kind, dim = "box", int(np.prod(obs_space.shape))
        else:
            raise ValueError(
                f"{self.env_id}: observation space {obs_space} is not supported; use a Box "
                "or Discrete observation space (e.g. gymnasium's FlattenObservation wrapper)"
            )
        limit = max_episode_steps if max_episode_steps is not None else spec_steps
        if limit is None:
            raise ValueError(
                f"{self.env_id} has no time limit: give max_episode_steps (the agent needs "
                "episodes that end, and the evaluation needs a horizon)"
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"max_episode_steps must be a positive int, got {limit!r}")
        self.time_limit = limit
        self.num_actions = int(act_space.n)
        self.obs_shape = (dim,)

    @property
    def name(self) -> str:
        """The wrapped environment's id."""
        return f"Gymnasium[{self.env_id}]"

    def default_params(self) -> GymParams:
        """The empty :class:`GymParams`."""
        return GymParams(time_limit=self.time_limit)

    # ----- host-side pieces ----------------------------------------------------------------
    def _make_one(self):
        if isinstance(self._env, str):
            return gymnasium.make(self._env, **self._make_kwargs)
        return self._env(**self._make_kwargs)

    def make_vector_env(self, num_envs: int):
        """A synchronous vector environment that resets an episode in the step that ends
        it (``final_obs``/``final_info`` in ``info``), with the time limit applied."""
        def factory():
            return TimeLimit(self._make_one(), max_episode_steps=self.time_limit)

        return SyncVectorEnv([factory] * num_envs, autoreset_mode=AutoresetMode.SAME_STEP)

    def encode(self, obs) -> np.ndarray:
        """Observations of ``N`` environments as float32 ``(N, D)``."""
        obs = np.asarray(obs)
        if self._obs_kind == "discrete":
            return np.eye(self.obs_shape[0], dtype=np.float32)[obs.astype(np.int64)]
        return obs.reshape(obs.shape[0], -1).astype(np.float32)

    def signal_arrays(self, step: GymStep, energy_prev: np.ndarray) -> dict[str, np.ndarray]:
        """Call the user's signals function, check what it returns, and fill in the rest:
        every :class:`~worlds.signals.Signals` field as a numpy array ``(N,)`` (float32 or
        bool), with ``energy_prev`` tracked and ``alive = not starved``."""
        n = np.asarray(step.reward).shape[0]
        out = self.signals_fn(step)
        if not isinstance(out, Mapping):
            raise TypeError(
                f"the signals function for {self.env_id} must return a mapping of Signals "
                f"fields (e.g. {{'energy': ..., 'loss': ...}}), got {type(out).__name__}"
            )
        unknown = sorted(set(out) - set(_SETTABLE))
        if unknown:
            raise ValueError(
                f"the signals function for {self.env_id} returned unknown field(s) {unknown}; "
                f"it may set {list(_SETTABLE)}"
            )
        fields = {name: np.zeros(n, bool if name in BOOL_FIELDS else np.float32)
                  for name in SIGNAL_FIELDS}
        fields["energy"][:] = 1.0
        for name, value in out.items():
            try:
                arr = np.broadcast_to(np.asarray(value, dtype=float), (n,))
            except (TypeError, ValueError):
                raise ValueError(
                    f"the signals function for {self.env_id}: field {name!r} must be a number "
                    f"or an array of shape ({n},), got {value!r}"
                ) from None
            if not np.isfinite(arr).all():
                raise ValueError(
                    f"the signals function for {self.env_id}: field {name!r} is not finite"
                )
            fields[name] = arr.astype(fields[name].dtype)
        fields["energy_prev"] = np.asarray(energy_prev, np.float32)
        fields["alive"] = ~fields["starved"]
        return fields

    def signals(self, step: GymStep, energy_prev: np.ndarray) -> Signals:
        """:meth:`signal_arrays` as a :class:`~worlds.signals.Signals` pytree."""
        return Signals(**{k: jnp.asarray(v) for k, v in
                          self.signal_arrays(step, energy_prev).items()})

    # ----- the JAX contract does not apply ----------------------------------------------------
    def _host_only(self, *_, **__):
        raise TypeError(
            f"{self.name} runs on the host: train it with affect.host (an ExperimentSpec or "
            "affect.agent.train_agent do this for you), not with jit-compiled world steps"
        )

    reset_env = _host_only
    step_env = _host_only


def from_gymnasium(
    env: str | Callable[[], Any],
    signals: Callable[[GymStep], Mapping[str, Any]],
    max_episode_steps: int | None = None,
    measures: tuple[Measure, ...] = DEFAULT,
    **make_kwargs,
) -> GymnasiumWorld:
    """Wrap a Gymnasium environment (an id, or a function returning an ``Env``) with a
    signals function; see the module docstring. ``measures``: what its experiments
    measure (:mod:`worlds.measures`; episode return and world reward by default: add
    ``SURVIVAL`` if the body can die)."""
    return GymnasiumWorld(env, signals, max_episode_steps, measures, **make_kwargs)
