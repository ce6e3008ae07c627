"""``Foraging-v0``: a gridworld where an agent must eat to stay alive.

Observation (per agent, float32 vector of ``(2r+1)**2 * C + 1``):
    an egocentric ``(2r+1) x (2r+1)`` view (``r = view_radius``, default 2) with
    channels ``wall``, ``food`` (and ``other agent`` when ``num_agents > 1``), each
    0/1, flattened row-major; followed by the agent's own energy in ``[0, 1]``
    (interoception: the body is sensed; what it *feels like* is the affect module's).
Action (per agent, int32 in ``0..4``):
    0 up, 1 right, 2 down, 3 left (blocked by walls), 4 eat (eats the food on the
    agent's cell if there is any).
Reward (per agent):
    ``alive_reward`` for every step survived, minus ``overeat_cost`` times the amount
    eaten past ``satiety``; 0 on the step of starvation and after it.
Termination:
    an agent is ``terminated`` when its energy reaches 0 (starvation); dead agents stay
    terminated until the world resets. ``truncated`` when ``t >= time_limit``.
Body dynamics:
    every step costs ``metabolic_cost`` energy; eating adds ``food_energy`` (energy is
    capped at ``max_energy``; the amount that goes past ``satiety`` is ``overate``);
    an eaten food spot regrows with probability ``respawn_prob`` per step.
Signals:
    ``energy``, ``energy_prev``, ``ate``, ``overate``, ``starved``, ``alive`` (see
    :class:`~worlds.signals.Signals`); ``loss`` and ``missed`` stay 0.

Variants (params presets): ``scarce`` (default, ``Foraging-v0``) and ``abundant``
(``ForagingAbundant-v0``: more food spots and faster regrowth, and eating past
satiety has a cost, so a hunger drive calibrated for scarcity can misfire).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from worlds.base import World
from worlds.draws import distinct, distinct_uniforms
from worlds.layouts import FORAGING_ABUNDANT, FORAGING_DEFAULT, Layout, parse_layout
from worlds.measures import EPISODE_RETURN, HOMEOSTASIS, SURVIVAL, WORLD_REWARD
from worlds.signals import Signals

# Moves for actions 0..3 (row, col); action 4 (eat) does not move.
MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1], [0, 0]], dtype=np.int32)
EAT = 4
NUM_ACTIONS = 5


@struct.dataclass
class ForagingParams:
    """Numbers of the task (all sweepable pytree leaves)."""

    metabolic_cost: float = 0.02  # energy lost per step
    food_energy: float = 0.3  # energy gained per food eaten
    max_energy: float = 1.0  # energy is capped here
    initial_energy: float = 0.5  # energy at the start of an episode
    satiety: float = 0.9  # eating past this level is "overeating"
    overeat_cost: float = 0.0  # reward penalty per unit of energy eaten past satiety
    respawn_prob: float = 0.05  # per-step regrowth probability of an eaten food spot
    initial_food_prob: float = 0.5  # probability that a food spot holds food at reset
    alive_reward: float = 0.1  # extrinsic reward per step survived
    time_limit: int = 200  # episode truncation (steps)


@struct.dataclass
class ForagingState:
    """The state of a Foraging episode: food, position and body."""

    pos: jnp.ndarray  # (A, 2) int32 row, col
    energy: jnp.ndarray  # (A,) f32
    alive: jnp.ndarray  # (A,) bool
    food: jnp.ndarray  # (F,) bool, food present at each spot
    t: jnp.ndarray  # () int32
    signals: Signals  # body as of this state


VARIANTS = {
    "scarce": (FORAGING_DEFAULT, {}),
    "abundant": (
        FORAGING_ABUNDANT,
        {"respawn_prob": 0.15, "initial_food_prob": 0.9, "overeat_cost": 1.0},
    ),
}


class Foraging(World):
    """Gridworld foraging with a metabolic body. See the module docstring."""

    measures = (EPISODE_RETURN, SURVIVAL, HOMEOSTASIS, WORLD_REWARD)

    def __init__(
        self,
        layout: str | Layout | None = None,
        num_agents: int = 1,
        view_radius: int = 2,
        variant: str = "scarce",
    ):
        if variant not in VARIANTS:
            raise ValueError(f"unknown Foraging variant {variant!r}; known: {sorted(VARIANTS)}")
        if not isinstance(num_agents, int) or num_agents < 1:
            raise ValueError(f"num_agents must be a positive int, got {num_agents!r}")
        if not isinstance(view_radius, int) or view_radius < 1:
            raise ValueError(f"view_radius must be a positive int, got {view_radius!r}")
        text, self._param_overrides = VARIANTS[variant]
        if layout is None:
            layout = text
        self.layout = layout if isinstance(layout, Layout) else parse_layout(layout)
        self.variant = variant
        self.num_agents = num_agents
        self.view_radius = view_radius
        if num_agents > len(self.layout.start_cells):
            raise ValueError(
                f"{num_agents} agents but the layout has only "
                f"{len(self.layout.start_cells)} start cells"
            )
        r = view_radius
        h, w = self.layout.shape
        self.num_channels = 2 if num_agents == 1 else 3
        self.view = 2 * r + 1
        self.obs_shape = (self.view * self.view * self.num_channels + 1,)
        self.num_actions = NUM_ACTIONS
        # Static host arrays: walls padded by r (outside the map is wall).
        walls_p = np.ones((h + 2 * r, w + 2 * r), dtype=np.float32)
        walls_p[r : r + h, r : r + w] = self.layout.walls
        self._walls = self.layout.walls
        self._walls_padded = walls_p
        self._pw = w + 2 * r
        spots = self.layout.food_spots
        self._spots = spots
        self._spot_flat_padded = (spots[:, 0] + r) * self._pw + (spots[:, 1] + r)
        idx = -np.ones((h, w), dtype=np.int32)
        idx[spots[:, 0], spots[:, 1]] = np.arange(len(spots), dtype=np.int32)
        self._spot_index = idx
        dr, dc = np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1), indexing="ij")
        self._view_offsets = (dr * self._pw + dc).reshape(-1).astype(np.int32)
        # Per cell of the map, what its view sees of the static walls and which food spot
        # (len(spots): none) each view cell is: a view is then two gathers, no scatter.
        spot_padded = np.full(walls_p.shape, len(spots), np.int32)
        spot_padded[spots[:, 0] + r, spots[:, 1] + r] = np.arange(len(spots), dtype=np.int32)
        rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        centres = ((rows + r) * self._pw + (cols + r)).reshape(-1)  # (h*w,)
        cells = centres[:, None] + self._view_offsets[None, :]  # (h*w, V*V)
        self._view_walls = walls_p.reshape(-1)[cells]  # (h*w, V*V) float32
        self._view_spots = spot_padded.reshape(-1)[cells]  # (h*w, V*V) int32

    # ------------------------------------------------------------------------------------
    def default_params(self) -> ForagingParams:
        """The default parameters with the overrides this world was built with (the registered
        variants differ here)."""
        return ForagingParams(**self._param_overrides)

    @property
    def num_food_spots(self) -> int:
        """Number of cells where food can grow."""
        return len(self._spots)

    def observe(self, state: ForagingState, params=None) -> jnp.ndarray:
        """Egocentric views for all agents: ``(A, obs_dim)`` float32."""
        w = self.layout.shape[1]
        at = state.pos[:, 0] * w + state.pos[:, 1]  # (A,) map cell of each agent
        walls = jnp.asarray(self._view_walls)[at]  # (A, V*V)
        food_ext = jnp.concatenate([state.food, jnp.zeros((1,), bool)]).astype(jnp.float32)
        food = food_ext[jnp.asarray(self._view_spots)[at]]
        chans = [walls, food]
        if self.num_agents > 1:
            r = self.view_radius
            size = self._walls_padded.size
            centre = (state.pos[:, 0] + r) * self._pw + (state.pos[:, 1] + r)  # (A,)
            cells = centre[:, None] + self._view_offsets[None, :]  # (A, V*V)
            agent_grid = (
                jnp.zeros(size, jnp.float32).at[centre].add(state.alive.astype(jnp.float32))
            )
            others = agent_grid[cells] - (self._view_offsets[None, :] == 0) * state.alive[:, None]
            chans.append(jnp.clip(others, 0.0, 1.0))
        view = jnp.stack(chans, axis=-1).reshape(self.num_agents, -1)
        return jnp.concatenate([view, state.energy[:, None]], axis=-1)

    def _start(self, key: jax.Array, params: ForagingParams):
        """Distinct random start cells ``(A, 2)`` and the food grown at reset ``(F,)``, from
        one draw."""
        n_start = len(self.layout.start_cells)
        n_pick = distinct_uniforms(n_start, self.num_agents)
        u = jax.random.uniform(key, (n_pick + self.num_food_spots,))
        pos = jnp.asarray(self.layout.start_cells)[distinct(u, n_start, self.num_agents)]
        return pos, u[n_pick:] < params.initial_food_prob

    def reset_env(self, key: jax.Array, params: ForagingParams):
        """A fresh episode: agents at random start cells, food grown with probability
        ``initial_food_prob``, energy at ``initial_energy``."""
        pos, food = self._start(key, params)
        energy = jnp.full((self.num_agents,), params.initial_energy, jnp.float32)
        state = ForagingState(
            pos=pos,
            energy=energy,
            alive=jnp.ones((self.num_agents,), bool),
            food=food,
            t=jnp.zeros((), jnp.int32),
            signals=Signals.at_rest(energy),
        )
        return self.observe(state), state

    def step_env(self, key: jax.Array, state: ForagingState, action: jax.Array, params):
        """Move and eat; pay the metabolic cost; regrow food; starve at zero energy."""
        action = jnp.asarray(action, jnp.int32).reshape(self.num_agents)
        alive = state.alive
        # Movement (dead agents and eating agents stay).
        target = state.pos + jnp.asarray(MOVES)[action]
        blocked = jnp.asarray(self._walls)[target[:, 0], target[:, 1]]
        pos = jnp.where((blocked | ~alive)[:, None], state.pos, target)
        # Eating: agent on a food spot with food, choosing "eat"; lowest index wins ties.
        spot = jnp.asarray(self._spot_index)[pos[:, 0], pos[:, 1]]  # (A,)
        has_food = (spot >= 0) & state.food[jnp.maximum(spot, 0)]
        wants = alive & (action == EAT) & has_food
        if self.num_agents > 1:
            same = spot[:, None] == spot[None, :]
            earlier = jnp.tril(jnp.ones((self.num_agents,) * 2, bool), k=-1)
            beaten = jnp.any(same & earlier & wants[None, :], axis=1)
            eats = wants & ~beaten
        else:
            eats = wants
        consumed = (
            jnp.zeros(self.num_food_spots, bool)
            .at[jnp.where(eats, spot, self.num_food_spots)]
            .set(True, mode="drop")
        )
        # Body.
        intake = eats * params.food_energy
        raw = state.energy - params.metabolic_cost + intake
        overate = jnp.where(eats, jnp.maximum(raw - params.satiety, 0.0), 0.0)
        energy = jnp.where(alive, jnp.clip(raw, 0.0, params.max_energy), 0.0)
        starved = alive & (energy <= 0.0)
        alive_next = alive & ~starved
        # Food regrowth (a spot eaten this step does not regrow this step).
        regrow = jax.random.uniform(key, (self.num_food_spots,)) < params.respawn_prob
        food = (state.food & ~consumed) | (~state.food & regrow)
        t = state.t + 1
        reward = jnp.where(alive_next, params.alive_reward - params.overeat_cost * overate, 0.0)
        signals = Signals.of(
            energy,
            energy_prev=state.energy,
            ate=intake,
            overate=overate,
            starved=starved,
            alive=alive_next,
        )
        state = ForagingState(
            pos=pos, energy=energy, alive=alive_next, food=food, t=t, signals=signals
        )
        terminated = ~alive_next
        truncated = jnp.broadcast_to(t >= params.time_limit, (self.num_agents,))
        return self.observe(state), state, reward.astype(jnp.float32), terminated, truncated, {}

    # ----- rendering (host side) ----------------------------------------------------------
    def render_ansi(self, state: ForagingState) -> str:
        """Text map: ``#`` wall, ``*`` food, ``o`` eaten spot, digits agents (alive)."""
        grid = np.where(self._walls, "#", " ").astype("<U1")
        food = np.asarray(state.food)
        for (rr, cc), f in zip(self._spots, food, strict=True):
            grid[rr, cc] = "*" if f else "o"
        pos, alive = np.asarray(state.pos), np.asarray(state.alive)
        for i, (rr, cc) in enumerate(pos):
            if alive[i]:
                grid[rr, cc] = str(i % 10)
        energy = " ".join(f"{e:.2f}" for e in np.asarray(state.energy))
        lines = ["".join(row) for row in grid]
        lines.append(f"t={int(state.t)} energy={energy}")
        return "\n".join(lines) + "\n"

    def render_rgb(self, state: ForagingState, cell: int = 16) -> np.ndarray:
        """RGB image ``(H*cell, W*cell, 3)`` uint8."""
        h, w = self.layout.shape
        img = np.full((h, w, 3), 235, np.uint8)
        img[self._walls] = (60, 60, 60)
        food = np.asarray(state.food)
        for (rr, cc), f in zip(self._spots, food, strict=True):
            img[rr, cc] = (40, 170, 60) if f else (190, 220, 190)
        pos, alive = np.asarray(state.pos), np.asarray(state.alive)
        energy = np.asarray(state.energy)
        for i, (rr, cc) in enumerate(pos):
            if alive[i]:
                shade = int(80 + 175 * float(np.clip(energy[i], 0, 1)))
                img[rr, cc] = (shade, 60, 60)
        return np.kron(img, np.ones((cell, cell, 1), np.uint8))
