"""``Choice-v0``: repeated choices among ``k`` options, with a deadline on deliberation.

There are ``num_classes x per_class`` items (default 4 x 4 = 16). All items of a class
are worth the same (``class_values[c]`` points), so two items of one class are a pair
of identical socks. Each trial offers ``k = num_options`` distinct items (``k`` in
2..4):

* an *equal* trial (probability ``p_equal``) offers ``k`` items of one class;
* an *unequal* trial offers one item from each of ``k`` different classes (values differ
  by at least the gap between neighbouring classes, 0.25 by default).

The agent answers with an item and the deliberation ticks it took. A response after
``deadline`` ticks, or "no response", is a *miss*: no points and no food.

Observation (float32 ``(num_items + 1,)``):
    which items are offered (0/1 per item), then the agent's energy in ``[0, 1]``.
Action (``(2,)`` int32 per agent, a *timed* world):
    ``(item, ticks)``; ``item = num_items`` means no response. Choosing an item that is
    not offered is a miss. ``action_mask`` gives the offered items.
Reward:
    the chosen item's value in points (0 on a miss).
Body dynamics (per trial):
    ``energy <- clip(energy * (1 - metabolic_rate) - tick_cost * min(ticks, deadline)
    + food_scale * value, 0, 1)``: reserves burn in proportion to their size, so a good
    chooser settles near ``food_scale * mean value / metabolic_rate`` (about 0.7) and
    long deliberation or misses drain the body.
Termination:
    ``terminated`` when energy reaches 0 (starvation); ``truncated`` after
    ``time_limit`` trials (one session).
Signals:
    ``energy``, ``energy_prev``, ``ate`` (food taken in), ``starved``, ``alive``,
    ``missed`` (the deadline passed without a valid response); ``overate``, ``loss`` 0.
Info (per trial just played, for logging):
    ``offered (A, k)`` int32 items, ``equal (A,)`` bool, ``chosen (A,)`` int32 (-1 on a
    miss), ``ticks (A,)`` int32 (capped at ``deadline + 1``), ``value (A,)`` float32.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from worlds.base import World
from worlds.draws import distinct, pick
from worlds.signals import Signals


@struct.dataclass
class ChoiceParams:
    """Numbers of the task (sweepable pytree leaves)."""

    class_values: jnp.ndarray = struct.field(
        default_factory=lambda: jnp.asarray([0.25, 0.5, 0.75, 1.0], jnp.float32)
    )  # (num_classes,) points per item of each class
    p_equal: float = 0.5  # share of equal-value trials
    deadline: int = 60  # ticks a response may take
    food_scale: float = 0.1  # energy per point chosen
    metabolic_rate: float = 0.1  # fraction of energy burnt per trial
    tick_cost: float = 0.0005  # energy per tick of deliberation
    initial_energy: float = 0.6  # energy at the start of a session
    time_limit: int = 300  # trials per session


@struct.dataclass
class ChoiceState:
    """The state of a Choice session: the trial on offer (and whether its items are
    equal), the trial counter and the body."""

    offered: jnp.ndarray  # (A, k) int32 items on offer in this trial
    equal: jnp.ndarray  # (A,) bool, this trial is an equal-value trial
    energy: jnp.ndarray  # (A,) f32
    alive: jnp.ndarray  # (A,) bool
    t: jnp.ndarray  # () int32 trials played
    signals: Signals


class Choice(World):
    """Repeated choice among ``num_options`` items (see module docstring).

    Args:
        num_options: items per trial ``k`` (2..4).
        num_classes: value classes (at least ``k``).
        per_class: items per class (at least ``k``).
        num_agents: independent participants sharing nothing (default 1).
    """

    action_shape = (2,)

    def __init__(
        self, num_options: int = 2, num_classes: int = 4, per_class: int = 4, num_agents: int = 1
    ):
        for name, v, lo in [
            ("num_options", num_options, 2),
            ("num_classes", num_classes, 2),
            ("per_class", per_class, 2),
            ("num_agents", num_agents, 1),
        ]:
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"Choice: {name} must be an int >= {lo}, got {v!r}")
        if num_options > 4:
            raise ValueError(f"Choice: num_options must lie in 2..4, got {num_options}")
        if num_options > num_classes or num_options > per_class:
            raise ValueError(
                f"Choice: num_options={num_options} needs at least as many classes "
                f"({num_classes}) and items per class ({per_class})"
            )
        self.num_options = num_options
        self.num_classes = num_classes
        self.per_class = per_class
        self.num_agents = num_agents
        self.num_items = num_classes * per_class
        self.num_actions = self.num_items
        self.obs_shape = (self.num_items + 1,)
        # (num_items,) int32: the value class of every item (items of a class are equal)
        self.item_class = np.repeat(np.arange(num_classes), per_class).astype(np.int32)

    def default_params(self) -> ChoiceParams:
        """Default class values, evenly spaced in [0.25, 1]."""
        values = np.linspace(0.25, 1.0, self.num_classes).astype(np.float32)
        return ChoiceParams(class_values=jnp.asarray(values))

    def item_values(self, params: ChoiceParams) -> jnp.ndarray:
        """Points of every item, ``(num_items,)``."""
        return jnp.asarray(params.class_values)[self.item_class]

    # ----- trials -------------------------------------------------------------------------
    def _draw_trials(self, key, params):
        """Every agent's offer from one draw: ``(items (A, k), equal (A,))``."""
        k, per, n_cls = self.num_options, self.per_class, self.num_classes
        u = jax.random.uniform(key, (self.num_agents, 2 + per + n_cls + k))

        def one(u):
            equal = u[0] < params.p_equal
            # equal: k distinct items of one class
            same = pick(u[1], n_cls) * per + distinct(u[2:], per, k)
            # unequal: one item from each of k distinct classes
            classes = distinct(u[2 + per:], n_cls, k)
            mixed = classes * per + pick(u[2 + per + n_cls:], per)
            return jnp.where(equal, same, mixed).astype(jnp.int32), equal

        return jax.vmap(one)(u)

    def observe(self, state: ChoiceState, params=None) -> jnp.ndarray:
        """The items on offer (one-hot, ``(A, num_items)``) and the energy."""
        offered = jax.vmap(
            lambda items: jnp.zeros(self.num_items, jnp.float32).at[items].set(1.0)
        )(state.offered)
        return jnp.concatenate([offered, state.energy[:, None]], axis=1)

    def action_mask(self, state: ChoiceState, params=None) -> jnp.ndarray:
        """``(num_agents, num_items)`` bool: the items on offer this trial."""
        del params
        return jax.vmap(lambda items: jnp.zeros(self.num_items, bool).at[items].set(True))(
            state.offered
        )

    # ----- contract -----------------------------------------------------------------------
    def reset_env(self, key, params: ChoiceParams):
        """A new session: the first trial on offer, energy at ``initial_energy``."""
        offered, equal = self._draw_trials(key, params)
        energy = jnp.full((self.num_agents,), params.initial_energy, jnp.float32)
        state = ChoiceState(
            offered=offered,
            equal=equal,
            energy=energy,
            alive=jnp.ones((self.num_agents,), bool),
            t=jnp.zeros((), jnp.int32),
            signals=Signals.at_rest(energy),
        )
        return self.observe(state), state

    def step_env(self, key, state: ChoiceState, action, params: ChoiceParams):
        """Take an ``(item, ticks)`` action: pay for the ticks, reward the choice, offer the next
        trial."""
        action = jnp.asarray(action, jnp.int32).reshape(self.num_agents, 2)
        item, ticks = action[:, 0], jnp.maximum(action[:, 1], 0)
        deadline = jnp.asarray(params.deadline, jnp.int32)
        offered_ok = (state.offered == item[:, None]).any(axis=1)
        valid = offered_ok & (ticks <= deadline) & state.alive
        values = self.item_values(params)
        value = jnp.where(valid, values[jnp.clip(item, 0, self.num_items - 1)], 0.0)
        intake = params.food_scale * value
        spent = params.tick_cost * jnp.minimum(ticks, deadline).astype(jnp.float32)
        raw = state.energy * (1.0 - params.metabolic_rate) - spent + intake
        energy = jnp.where(state.alive, jnp.clip(raw, 0.0, 1.0), 0.0)
        starved = state.alive & (energy <= 0.0)
        alive = state.alive & ~starved
        missed = state.alive & ~valid
        signals = Signals.of(
            energy, energy_prev=state.energy, ate=intake, starved=starved, alive=alive,
            missed=missed,
        )
        info = {
            "offered": state.offered,
            "equal": state.equal,
            "chosen": jnp.where(valid, item, -1).astype(jnp.int32),
            "ticks": jnp.minimum(ticks, deadline + 1).astype(jnp.int32),
            "value": value.astype(jnp.float32),
        }
        offered, equal = self._draw_trials(key, params)
        t = state.t + 1
        new = ChoiceState(
            offered=offered, equal=equal, energy=energy, alive=alive, t=t, signals=signals
        )
        reward = value.astype(jnp.float32)
        truncated = jnp.broadcast_to(t >= params.time_limit, (self.num_agents,))
        return self.observe(new), new, reward, ~alive, truncated, info

    # ----- rendering ------------------------------------------------------------------------
    def render_ansi(self, state: ChoiceState, params: ChoiceParams | None = None) -> str:
        """The offer, the clock and the energy as text."""
        params = self.default_params() if params is None else params
        values = np.asarray(self.item_values(params))
        lines = []
        for a in range(self.num_agents):
            items = np.asarray(state.offered[a])
            kind = "equal" if bool(state.equal[a]) else "unequal"
            offer = "  ".join(f"[{i}] {values[i]:.2f}" for i in items)
            lines.append(
                f"trial {int(state.t)} ({kind}): {offer}   energy={float(state.energy[a]):.2f}"
            )
        return "\n".join(lines) + "\n"

    def render_rgb(self, state: ChoiceState, cell: int = 24) -> np.ndarray:
        """One row per agent: an offered item is green, brighter for higher value."""
        params = self.default_params()
        values = np.asarray(self.item_values(params))
        img = np.full((self.num_agents, self.num_items, 3), 235, np.uint8)
        for a in range(self.num_agents):
            for i in np.asarray(state.offered[a]):
                shade = int(90 + 150 * values[i] / max(values.max(), 1e-6))
                img[a, i] = (40, shade, 60)
        return np.kron(img, np.ones((cell, cell, 1), np.uint8))
