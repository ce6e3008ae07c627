"""``Detour-v0``: a goal behind a wall, a deceptive gradient, and two levers that undo
each other.

Map (default; ``#`` wall, ``.`` floor, ``S`` start, ``G`` goal, ``L``/``R`` levers)::

    ###########
    #....G....#
    #.#######.#
    #.##L.R##.#
    #.###.###.#
    #....S....#
    ###########

The goal lies straight above the start, behind a wall. The pocket above the start is
the place closest to the goal, and the reward gradient points into it; the way to the
goal (12 steps) first leads away from it, along either side. In the pocket are two
levers, *sub-goals that undo each other*: pulling one (stepping on it) fixes it and
breaks the other, and pays ``lever_reward`` each time it is fixed. Going back and forth
between them is two plans that each look like progress and together go nowhere: an agent
can be caught oscillating between them (or between any two cells) until time runs out.

Observation (float32 vector, 5 * 9 + 4 = 49): an egocentric 3x3 view with channels wall,
goal, lever L, lever R, and "this lever is the one fixed"; then the goal's direction
(sign of row and column offsets, a "smell" that points through walls), whether lever L
is fixed, and the body's energy.
Action (int32 in 0..3): up, right, down, left (a move into a wall stays put).
Reward: ``goal_reward`` on reaching the goal (the episode then terminates);
``lever_reward`` for fixing a lever that was broken; ``gradient_scale`` times the decrease
in straight-line (Manhattan) distance to the goal, walls ignored: the deceptive gradient
(potential-based, so it does not change which policy is best, only what looks best
nearby).
Termination: reaching the goal (success), or starvation (energy 0; with the default
``metabolic_cost`` this does not happen within the time limit). Truncation: ``t >=
time_limit``.
Body: energy starts at ``initial_energy`` and falls by ``metabolic_cost`` per step.
Signals: ``energy``, ``energy_prev``, ``alive``, ``starved``, and ``missed``: the step
returned the agent to a cell it occupied in the last ``cycle_window`` steps (no progress;
this is how frustration hears of repeated states).

Loop measures (per episode, reported in ``info`` on the episode's last step):
``looped``: the agent stayed in a short cycle (every step a return to a cell of the last
``cycle_window`` steps) for at least ``loop_steps`` consecutive steps; ``caught``: the
longest such run, in steps; ``escaped``: it looped, and the goal was reached afterwards;
``success``: the goal was reached.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import struct

from worlds.base import World
from worlds.measures import EPISODE_RETURN, SUCCESS, SURVIVAL, WORLD_REWARD
from worlds.signals import Signals

DETOUR_MAP = """
###########
#....G....#
#.#######.#
#.##L.R##.#
#.###.###.#
#....S....#
###########
"""

# A held-out layout (``DetourHeldOut-v0``, for robustness tests): the pocket and levers
# are where they were, but the way round starts by going *down* and is longer (16 steps).
DETOUR_HELD_OUT_MAP = """
###########
#....G....#
#.#######.#
#.##L.R##.#
#.###.###.#
#.##.S.##.#
#.###.###.#
#.........#
###########
"""

MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int32)
CHANNELS = 5  # wall, goal, lever L, lever R, fixed lever


@struct.dataclass
class DetourParams:
    """Parameters of Detour: costs, lever effects and the loop detector."""

    goal_reward: float = 2.0
    lever_reward: float = 0.05  # paid for fixing a broken lever
    gradient_scale: float = 0.05  # reward per unit decrease of distance to the goal
    metabolic_cost: float = 0.005
    initial_energy: float = 1.0
    cycle_window: int = 4  # a return to a cell of the last this-many steps is a repeat
    loop_steps: int = 10  # consecutive repeats that make an episode "looped"
    time_limit: int = 60


@struct.dataclass
class DetourState:
    """The state of a Detour episode: position, levers, body and the loop detector's window."""

    pos: jnp.ndarray  # (1, 2) int32
    energy: jnp.ndarray  # (1,) f32
    lever: jnp.ndarray  # () int32: 0 none fixed, 1 L fixed, 2 R fixed
    recent: jnp.ndarray  # (W, 2) int32: positions of the last W steps (W = MAX_WINDOW)
    run: jnp.ndarray  # () int32: consecutive repeat steps so far
    caught: jnp.ndarray  # () int32: longest run this episode
    looped: jnp.ndarray  # () bool
    t: jnp.ndarray  # () int32
    signals: Signals


MAX_WINDOW = 8  # static length of the position history (cycle_window <= this)


def _parse(text: str):
    rows = [r.strip() for r in text.strip("\n").splitlines() if r.strip()]
    if len({len(r) for r in rows}) != 1:
        raise ValueError("Detour map rows must have equal length")
    grid = np.array([list(r) for r in rows])
    bad = set(grid.ravel()) - set("#.SGLR")
    if bad:
        raise ValueError(f"Detour map has unknown characters {sorted(bad)}; allowed: # . S G L R")
    cells = {}
    for ch in "SGLR":
        where = np.argwhere(grid == ch)
        if len(where) != 1:
            raise ValueError(f"Detour map needs exactly one {ch!r}, found {len(where)}")
        cells[ch] = where[0].astype(np.int32)
    walls = grid == "#"
    if not (walls[0].all() and walls[-1].all() and walls[:, 0].all() and walls[:, -1].all()):
        raise ValueError("Detour map border must be walls")
    return walls, cells


class Detour(World):
    """The detour task (see the module docstring). Single-agent."""

    num_agents = 1
    num_actions = 4
    obs_low = -1.0  # the goal's direction is signed
    measures = (EPISODE_RETURN, SUCCESS, SURVIVAL, WORLD_REWARD)

    def __init__(self, layout: str = DETOUR_MAP):
        self.layout_text = layout
        self._walls, cells = _parse(layout)
        self._start, self._goal = cells["S"], cells["G"]
        self._lever_l, self._lever_r = cells["L"], cells["R"]
        h, w = self._walls.shape
        padded = np.ones((h + 2, w + 2), bool)
        padded[1:-1, 1:-1] = self._walls
        self._walls_padded = padded
        self.obs_shape = (9 * CHANNELS + 4,)

    def default_params(self) -> DetourParams:
        """Default costs, lever effects and loop-detector settings."""
        return DetourParams()

    def check_params(self, params: DetourParams) -> None:
        """Raise ``ValueError`` for windows the static history cannot hold."""
        if not 1 <= int(params.cycle_window) <= MAX_WINDOW:
            raise ValueError(f"cycle_window must lie in [1, {MAX_WINDOW}], got "
                             f"{params.cycle_window}")
        if int(params.loop_steps) < 1:
            raise ValueError(f"loop_steps must be >= 1, got {params.loop_steps}")

    # --------------------------------------------------------------------------------
    def observe(self, state: DetourState, params=None) -> jnp.ndarray:
        """The 3x3 view (walls, goal, levers), the goal's direction, the lever state, energy."""
        pos = state.pos[0]
        rows = pos[0] + jnp.arange(-1, 2)
        cols = pos[1] + jnp.arange(-1, 2)
        rr, cc = jnp.meshgrid(rows, cols, indexing="ij")
        walls = jnp.asarray(self._walls_padded)[rr + 1, cc + 1].astype(jnp.float32)

        def at(cell):
            return ((rr == cell[0]) & (cc == cell[1])).astype(jnp.float32)

        lever_l, lever_r = at(self._lever_l), at(self._lever_r)
        fixed = jnp.where(state.lever == 1, lever_l, 0.0) + jnp.where(state.lever == 2,
                                                                      lever_r, 0.0)
        view = jnp.stack([walls, at(self._goal), lever_l, lever_r, fixed], -1).reshape(-1)
        smell = jnp.sign(jnp.asarray(self._goal) - pos).astype(jnp.float32)
        extra = jnp.concatenate([smell, (state.lever == 1).astype(jnp.float32)[None],
                                 state.energy])
        return jnp.concatenate([view, extra])[None]

    def reset_env(self, key, params: DetourParams):
        """A fresh episode at the start cell, levers reset."""
        del key
        pos = jnp.asarray(self._start)[None]
        energy = jnp.full((1,), params.initial_energy, jnp.float32)
        state = DetourState(
            pos=pos,
            energy=energy,
            lever=jnp.zeros((), jnp.int32),
            recent=jnp.broadcast_to(pos, (MAX_WINDOW, 2)) * 0 - 1,  # no history yet
            run=jnp.zeros((), jnp.int32),
            caught=jnp.zeros((), jnp.int32),
            looped=jnp.zeros((), bool),
            t=jnp.zeros((), jnp.int32),
            signals=Signals.at_rest(energy),
        )
        return self.observe(state), state

    def step_env(self, key, state: DetourState, action, params: DetourParams):
        """Move or pull a lever; report missed progress and loops."""
        del key
        a = jnp.asarray(action, jnp.int32).reshape(())
        old = state.pos[0]
        target = old + jnp.asarray(MOVES)[a]
        blocked = jnp.asarray(self._walls)[target[0], target[1]]
        pos = jnp.where(blocked, old, target)
        goal = jnp.asarray(self._goal)
        dist = lambda p: jnp.abs(p - goal).sum().astype(jnp.float32)  # noqa: E731
        reached = jnp.all(pos == goal)
        on_l = jnp.all(pos == jnp.asarray(self._lever_l))
        on_r = jnp.all(pos == jnp.asarray(self._lever_r))
        fixes = (on_l & (state.lever != 1)) | (on_r & (state.lever != 2))
        lever = jnp.where(on_l, 1, jnp.where(on_r, 2, state.lever))
        # repeats: a return to a cell of the last cycle_window steps (the previous
        # position counts: bumping into a wall is a repeat too)
        window = jnp.arange(MAX_WINDOW) < params.cycle_window - 1
        history = jnp.concatenate([old[None], state.recent[:-1]], 0)  # t-1, t-2, ...
        repeat = (jnp.all(history == pos[None], -1) & jnp.concatenate(
            [jnp.ones((1,), bool), window[:-1]])).any()
        run = jnp.where(repeat, state.run + 1, 0)
        caught = jnp.maximum(state.caught, run)
        looped = state.looped | (run >= params.loop_steps)
        energy = jnp.clip(state.energy - params.metabolic_cost, 0.0, 1.0)
        starved = (energy <= 0.0) & ~reached  # (1,)
        reward = (
            params.gradient_scale * (dist(old) - dist(pos))
            + params.lever_reward * fixes
            + params.goal_reward * reached
        )
        t = state.t + 1
        signals = Signals.of(energy, energy_prev=state.energy, starved=starved,
                             alive=~starved, missed=repeat[None])
        new = DetourState(pos=pos[None], energy=energy, lever=lever.astype(jnp.int32),
                          recent=history, run=run.astype(jnp.int32),
                          caught=caught.astype(jnp.int32), looped=looped, t=t,
                          signals=signals)
        terminated = reached | starved  # (1,)
        truncated = (t >= params.time_limit)[None]
        info = {"success": reached, "looped": looped, "caught": caught,
                "escaped": looped & reached}
        return self.observe(new), new, reward[None].astype(jnp.float32), terminated, truncated, info

    # ----- per-episode measures for training metrics -------------------------------------
    def step_extra(self, info) -> dict:
        """Episode measures on the steps where an episode ended (leading world axis)."""
        done = info["done"].astype(jnp.float32)
        return {
            "done": done,
            "success": done * info["success"],
            "looped": done * info["looped"],
            "caught": done * info["caught"],
            "escaped": done * info["escaped"],
        }

    def summarize_rollout(self, extra) -> dict:
        """Per-episode loop measures (loop rate, caught steps, escapes, success) of a rollout."""
        n = extra["done"].sum()
        looped = extra["looped"].sum()
        rate = lambda x, d: jnp.where(d > 0, x / jnp.maximum(d, 1), jnp.nan)  # noqa: E731
        return {
            "detour/success": rate(extra["success"].sum(), n),
            "detour/loop_rate": rate(looped, n),
            "detour/caught_steps": rate(extra["caught"].sum(), n),
            "detour/escape_rate": rate(extra["escaped"].sum(), looped),
        }

    # ----- rendering ---------------------------------------------------------------------
    def render_ansi(self, state: DetourState) -> str:
        """The map, levers and agent as text."""
        grid = np.where(self._walls, "#", " ").astype("<U1")
        grid[tuple(self._goal)] = "G"
        lever = int(state.lever)
        grid[tuple(self._lever_l)] = "L" if lever == 1 else "l"
        grid[tuple(self._lever_r)] = "R" if lever == 2 else "r"
        r, c = np.asarray(state.pos)[0]
        grid[r, c] = "@"
        lines = ["".join(row) for row in grid]
        lines.append(f"t={int(state.t)} run={int(state.run)} energy={float(state.energy[0]):.2f}")
        return "\n".join(lines) + "\n"

    def render_rgb(self, state: DetourState, cell: int = 16) -> np.ndarray:
        """The map, levers and agent as an RGB image ``(H, W, 3)`` uint8."""
        h, w = self._walls.shape
        img = np.full((h, w, 3), 235, np.uint8)
        img[self._walls] = (60, 60, 60)
        img[tuple(self._goal)] = (40, 170, 60)
        lever = int(state.lever)
        img[tuple(self._lever_l)] = (60, 90, 200) if lever == 1 else (170, 180, 230)
        img[tuple(self._lever_r)] = (60, 90, 200) if lever == 2 else (170, 180, 230)
        r, c = np.asarray(state.pos)[0]
        img[r, c] = (200, 60, 60)
        return np.kron(img, np.ones((cell, cell, 1), np.uint8))
