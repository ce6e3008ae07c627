"""``Commons-v0``: agents share a regrowing food supply, can share and take, and are seen.

``N`` agents (default 4, up to 16, static) walk a gridworld (an ASCII layout, as in
``Foraging``) whose food spots regrow at a rate that grows with the food *near* them
(the Harvest/Commons games, Perolat et al. 2017; Leibo et al. 2017): a spot with no
food within ``regrowth_radius`` never regrows, so over-harvesting collapses the
supply. Each agent has its own body (energy, starvation).

Actions (per agent, ``(N,)`` int32): 0 up, 1 right, 2 down, 3 left, 4 eat, 5 share,
6 take.

* **Eat**: as in ``Foraging`` (the lowest-index agent wins a contested spot).
* **Share** gives ``min(share_amount, own energy, receiver's room)`` energy to the
  neediest adjacent agent (lowest energy; Chebyshev distance 1; lowest index on ties).
* **Take** takes ``min(take_amount, target's energy, own room)`` from the richest
  adjacent agent. Shares and takes are resolved one agent at a time in a random order
  (so energy is conserved exactly: what one loses another gains).
* **Standing** (an image score in ``[-1, 1]``, Nowak & Sigmund 1998): an act of sharing
  seen by at least one other living agent within ``view_radius`` raises the actor's
  standing by ``standing_step``; a take seen lowers it by the same step. Standing is
  observable (in every agent's view).

Society rules (params; ``rules = 0`` switches them off, so learned agents decide alone):

* **refusal**: a share to an agent whose standing is below ``refuse_below`` is refused
  (nothing moves; the would-be receiver is ``refused``);
* **exclusion**: an agent whose standing is below ``exclude_below`` cannot eat while an
  agent in good standing (``>= 0``) is within ``view_radius`` of it (``refused``).

Order in a step: move, eat, share/take, standing, metabolic cost, regrowth.

Observation (per agent, float32): the egocentric ``(2r+1)^2`` view with four channels
(walls, food, other living agents, the standing of those agents), then the agent's own
energy and standing.
Reward: ``alive_reward`` per step alive (as in ``Foraging``).
Termination: an agent whose energy reaches 0 starves (``terminated``; it stays dead
until the episode ends); ``truncated`` after ``time_limit`` steps.
Signals: ``energy``, ``energy_prev``, ``ate``, ``overate``, ``starved``, ``alive``,
``loss`` (energy taken from the agent), ``missed`` (= ``refused``), ``shared``,
``took``, ``seen``, ``refused``, ``regard`` (the agent's standing after the step).
Info: ``food_stock ()`` food spots holding food, ``standing (N,)``, ``shared (N,)``,
``took (N,)``, ``refused (N,)``, ``excluded (N,)``, ``ate (N,)``, ``energy (N,)``,
``alive (N,)``.

Training measures (``step_extra``/``summarize_rollout``, read by the PPO trainer, one
value per rollout): ``social/food_stock`` (mean share of spots holding food: the
commons' sustainability), ``social/total_energy`` and ``social/alive`` (group welfare),
``social/gini_eaten`` (Gini coefficient of the food each agent ate in the rollout, per
world), ``social/share_rate``, ``social/take_rate``, ``social/refusals``,
``social/exclusions`` (per agent and step), ``social/standing`` (mean standing),
``social/standing_agent0`` and ``social/standing_others`` (agent 0 against the rest: the
lone lesioned agent of a mixed population is agent 0).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from worlds.draws import shuffle
from worlds.foraging import MOVES, Foraging
from worlds.layouts import Layout, parse_layout
from worlds.signals import Signals

EAT, SHARE, TAKE = 4, 5, 6
NUM_ACTIONS = 7
MAX_AGENTS = 16

COMMONS_DEFAULT = """
###########
#A.A...A.A#
#.FFF.FFF.#
#.FFF.FFF.#
#A.......A#
#....#....#
#A.......A#
#.FFF.FFF.#
#.FFF.FFF.#
#A.A...A.A#
###########
"""


@struct.dataclass
class CommonsParams:
    """Numbers of the task (all sweepable pytree leaves)."""

    metabolic_cost: float = 0.02  # energy lost per step
    food_energy: float = 0.3  # energy per food eaten
    max_energy: float = 1.0
    initial_energy: float = 0.5
    satiety: float = 0.9
    overeat_cost: float = 0.0
    regrowth_rate: float = 0.01  # regrowth probability per food spot with food nearby
    initial_food_prob: float = 0.8
    alive_reward: float = 0.1
    share_amount: float = 0.2
    take_amount: float = 0.2
    standing_step: float = 0.2  # change of standing per witnessed share or take
    rules: float = 1.0  # 1: society rules on, 0: off
    refuse_below: float = -0.3  # shares to agents below this standing are refused
    exclude_below: float = -0.6  # agents below this standing are kept from food
    time_limit: int = 200


@struct.dataclass
class CommonsState:
    """The state of the commons: food, bodies, positions and standing of every agent."""

    pos: jnp.ndarray  # (N, 2) int32
    energy: jnp.ndarray  # (N,) f32
    alive: jnp.ndarray  # (N,) bool
    food: jnp.ndarray  # (F,) bool
    standing: jnp.ndarray  # (N,) f32 in [-1, 1]
    t: jnp.ndarray  # () int32
    signals: Signals


class Commons(Foraging):
    """The commons (see module docstring).

    Args:
        layout: ASCII map (default: four 3x3 orchards).
        num_agents: 2..16 agents (static).
        view_radius: view and witnessing radius.
        regrowth_radius: food within this Chebyshev distance makes a spot regrow.
    """

    def __init__(
        self,
        layout: str | Layout | None = None,
        num_agents: int = 4,
        view_radius: int = 2,
        regrowth_radius: int = 2,
    ):
        if isinstance(num_agents, bool) or not isinstance(num_agents, int):
            raise ValueError(f"Commons: num_agents must be an int, got {num_agents!r}")
        if not 2 <= num_agents <= MAX_AGENTS:
            raise ValueError(f"Commons: num_agents must lie in 2..{MAX_AGENTS}, got {num_agents}")
        if isinstance(regrowth_radius, bool) or not isinstance(regrowth_radius, int) or (
            regrowth_radius < 1
        ):
            raise ValueError(
                f"Commons: regrowth_radius must be an int >= 1, got {regrowth_radius!r}"
            )
        if not isinstance(layout, Layout):
            layout = parse_layout(COMMONS_DEFAULT if layout is None else layout)
        if num_agents > len(layout.start_cells):
            raise ValueError(
                f"Commons: {num_agents} agents need as many free start cells, but the layout "
                f"has {len(layout.start_cells)}"
            )
        super().__init__(layout, num_agents, view_radius)
        self.num_channels = 4
        self.obs_shape = (self.view * self.view * self.num_channels + 2,)
        self.num_actions = NUM_ACTIONS
        spots = self._spots
        cheb = np.abs(spots[:, None, :] - spots[None, :, :]).max(-1)
        self._near = ((cheb <= regrowth_radius) & (cheb > 0)).astype(np.float32)  # (F, F)
        self.regrowth_radius = regrowth_radius

    def default_params(self) -> CommonsParams:
        """Default regrowth, costs and society rules."""
        return CommonsParams()

    @staticmethod
    def check_params(params: CommonsParams) -> None:
        """Raise ``ValueError`` for society rules out of range (host-side values)."""
        for name in ("refuse_below", "exclude_below"):
            v = float(getattr(params, name))
            if not -1.0 <= v <= 1.0:
                raise ValueError(f"CommonsParams.{name} must lie in [-1, 1], got {v}")
        if float(params.rules) not in (0.0, 1.0):
            raise ValueError(f"CommonsParams.rules must be 0 or 1, got {params.rules}")
        if float(params.standing_step) < 0:
            raise ValueError("CommonsParams.standing_step must be >= 0")

    # ----- observation ------------------------------------------------------------------
    def observe(self, state: CommonsState, params=None) -> jnp.ndarray:
        """Egocentric views (walls, food, others, their standing) with energy and standing."""
        r = self.view_radius
        size = self._walls_padded.size
        food_grid = jnp.zeros(size, jnp.float32).at[self._spot_flat_padded].set(
            state.food.astype(jnp.float32)
        )
        centre = (state.pos[:, 0] + r) * self._pw + (state.pos[:, 1] + r)
        cells = centre[:, None] + self._view_offsets[None, :]
        alive = state.alive.astype(jnp.float32)
        agents = jnp.zeros(size, jnp.float32).at[centre].add(alive)
        standing = jnp.zeros(size, jnp.float32).at[centre].add(alive * state.standing)
        me = (self._view_offsets[None, :] == 0).astype(jnp.float32)
        others = agents[cells] - me * alive[:, None]
        others_standing = standing[cells] - me * (alive * state.standing)[:, None]
        walls = jnp.asarray(self._walls_padded.reshape(-1))[cells]
        view = jnp.stack([walls, food_grid[cells], jnp.clip(others, 0, 1), others_standing], -1)
        view = view.reshape(self.num_agents, -1)
        return jnp.concatenate([view, state.energy[:, None], state.standing[:, None]], axis=-1)

    # ----- contract -----------------------------------------------------------------------
    def reset_env(self, key, params: CommonsParams):
        """A fresh commons from the layout: agents placed, food grown, standing neutral."""
        pos, food = self._start(key, params)
        energy = jnp.full((self.num_agents,), params.initial_energy, jnp.float32)
        state = CommonsState(
            pos=pos,
            energy=energy,
            alive=jnp.ones((self.num_agents,), bool),
            food=food,
            standing=jnp.zeros((self.num_agents,), jnp.float32),
            t=jnp.zeros((), jnp.int32),
            signals=Signals.at_rest(energy),
        )
        return self.observe(state), state

    def step_env(self, key, state: CommonsState, action, params: CommonsParams):
        """Every agent moves, eats, shares or takes at once; standing follows what was seen."""
        n = self.num_agents
        u = jax.random.uniform(key, (n + self.num_food_spots,))  # the one draw
        action = jnp.asarray(action, jnp.int32).reshape(n)
        alive = state.alive
        rules = params.rules > 0
        pos, others, in_view, cheb = self._move(state, action)  # 1. movement
        # 2. eating, with exclusion of agents in bad standing
        consumed, intake, overate, energy, excluded = self._eat(
            state, params, action, pos, in_view, rules)
        # 3. shares and takes, one actor at a time in a random order
        order = shuffle(u[:n])
        energy, shared, took, taken, refused_at = _transfers(
            state, params, action, energy, others & (cheb <= 1), order, rules)
        # 4. standing: acts seen by another living agent in view
        seen = jnp.any(in_view, axis=1) & ((shared > 0) | (took > 0))
        delta = params.standing_step * ((shared > 0).astype(jnp.float32) - (took > 0))
        standing = jnp.clip(state.standing + jnp.where(seen, delta, 0.0), -1.0, 1.0)
        # 5. metabolic cost, starvation
        energy = jnp.where(alive, jnp.clip(energy - params.metabolic_cost, 0.0, None), 0.0)
        starved = alive & (energy <= 0.0)
        alive_next = alive & ~starved
        food = self._regrow(state.food, consumed, params, u[n:])  # 6. regrowth
        refused = refused_at | excluded
        signals = Signals.of(
            energy, energy_prev=state.energy, ate=intake, overate=overate, starved=starved,
            alive=alive_next, loss=taken, missed=refused, shared=shared, took=took,
            seen=seen, refused=refused, regard=standing,
        )
        t = state.t + 1
        new = CommonsState(pos, energy, alive_next, food, standing, t, signals)
        reward = jnp.where(alive_next, params.alive_reward - params.overeat_cost * overate, 0.0)
        info = {
            "food_stock": food.sum().astype(jnp.int32),
            "standing": standing,
            "shared": shared,
            "took": took,
            "refused": refused,
            "excluded": excluded,
            "ate": intake.astype(jnp.float32),
            "energy": energy,
            "alive": alive_next,
        }
        truncated = jnp.broadcast_to(t >= params.time_limit, (n,))
        return self.observe(new), new, reward.astype(jnp.float32), ~alive_next, truncated, info

    def _move(self, state: CommonsState, action):
        """New positions ``(N, 2)``, which living others each agent has ``(N, N)``, which it
        sees, and the Chebyshev distances ``(N, N)``."""
        n, alive = self.num_agents, state.alive
        target = state.pos + jnp.asarray(MOVES)[jnp.minimum(action, EAT)]
        blocked = jnp.asarray(self._walls)[target[:, 0], target[:, 1]]
        pos = jnp.where((blocked | ~alive)[:, None], state.pos, target)
        cheb = jnp.abs(pos[:, None, :] - pos[None, :, :]).max(-1)  # (N, N)
        others = ~jnp.eye(n, dtype=bool) & alive[None, :] & alive[:, None]
        return pos, others, others & (cheb <= self.view_radius), cheb

    def _eat(self, state: CommonsState, params: CommonsParams, action, pos, in_view, rules):
        """Who eats (the first in index order on a spot; agents in bad standing with a
        good one in view are excluded): spots consumed, intake, overeating, energy, and
        who was excluded."""
        n, alive = self.num_agents, state.alive
        good_near = jnp.any(in_view & (state.standing[None, :] >= 0.0), axis=1)
        excluded = rules & alive & (state.standing < params.exclude_below) & good_near
        spot = jnp.asarray(self._spot_index)[pos[:, 0], pos[:, 1]]
        has_food = (spot >= 0) & state.food[jnp.maximum(spot, 0)]
        wants = alive & (action == EAT) & has_food & ~excluded
        same = spot[:, None] == spot[None, :]
        earlier = jnp.tril(jnp.ones((n, n), bool), k=-1)
        eats = wants & ~jnp.any(same & earlier & wants[None, :], axis=1)
        consumed = jnp.zeros(self.num_food_spots, bool).at[
            jnp.where(eats, spot, self.num_food_spots)
        ].set(True, mode="drop")
        intake = eats * params.food_energy
        raw = state.energy + intake
        overate = jnp.where(eats, jnp.maximum(raw - params.satiety, 0.0), 0.0)
        energy = jnp.where(alive, jnp.minimum(raw, params.max_energy), 0.0)
        return consumed, intake, overate, energy, excluded

    def _regrow(self, food_before, consumed, params: CommonsParams, u):
        """Density-dependent regrowth (a spot eaten this step does not regrow), from one
        uniform per spot ``u``."""
        food = food_before & ~consumed
        nearby = jnp.asarray(self._near) @ food.astype(jnp.float32)
        p = jnp.clip(params.regrowth_rate * nearby, 0.0, 1.0)
        regrow = u < p
        return food | (~food_before & regrow)

    # ----- training measures ------------------------------------------------------------------
    def step_extra(self, info) -> dict:
        """Per-step measures of a batch of worlds (leading world axis)."""
        return {
            "food_stock": info["food_stock"].astype(jnp.float32) / self.num_food_spots,
            "energy": info["energy"],
            "alive": info["alive"].astype(jnp.float32),
            "ate": info["ate"],
            "shared": (info["shared"] > 0).astype(jnp.float32),
            "took": (info["took"] > 0).astype(jnp.float32),
            "refused": info["refused"].astype(jnp.float32),
            "excluded": info["excluded"].astype(jnp.float32),
            "standing": info["standing"],
        }

    def summarize_rollout(self, extra) -> dict:
        """Scalars of one rollout from :meth:`step_extra` stacked over steps ``(T, W, ...)``."""
        return {
            "social/food_stock": extra["food_stock"].mean(),
            "social/total_energy": extra["energy"].sum(-1).mean(),
            "social/alive": extra["alive"].mean(),
            "social/gini_eaten": gini(extra["ate"].sum(0)).mean(),
            "social/share_rate": extra["shared"].mean(),
            "social/take_rate": extra["took"].mean(),
            "social/refusals": extra["refused"].mean(),
            "social/exclusions": extra["excluded"].mean(),
            "social/standing": extra["standing"].mean(),
            "social/standing_agent0": extra["standing"][..., 0].mean(),
            "social/standing_others": extra["standing"][..., 1:].mean(),
            **{  # each agent's standing (``agent0`` above is also ``standing/0``)
                f"social/standing/{i}": extra["standing"][..., i].mean()
                for i in range(self.num_agents)
            },
        }


def gini(x: jnp.ndarray) -> jnp.ndarray:
    """Gini coefficient over the last axis of non-negative quantities (0: equal shares,
    ``1 - 1/n``: one holds all); 0 when nothing at all is held."""
    x = jnp.asarray(x, jnp.float32)
    n = x.shape[-1]
    diff = jnp.abs(x[..., :, None] - x[..., None, :]).sum((-1, -2))
    total = x.sum(-1)
    return jnp.where(total > 0, diff / (2.0 * n * jnp.maximum(total, 1e-12)), 0.0)


def _transfers(state: CommonsState, params: CommonsParams, action, energy, adjacent, order,
               rules):
    """Shares and takes, one actor at a time in ``order``: an agent that shares gives to
    its neediest neighbour (unless the rules refuse one in bad standing), one that takes
    grabs from its richest. Returns ``(energy, shared, took, taken, refused_at)``, each
    ``(N,)``."""
    n, alive = action.shape[0], state.alive

    def transfer(k, carry):
        energy, shared, took, taken, refused_at = carry
        i = order[k]
        e_i = energy[i]
        neigh = adjacent[i]
        needy = jnp.argmin(jnp.where(neigh, energy, jnp.inf))
        rich = jnp.argmax(jnp.where(neigh, energy, -jnp.inf))
        any_n = neigh.any()
        act = action[i]
        # share
        refuse = rules & (state.standing[needy] < params.refuse_below)
        give = jnp.minimum(jnp.minimum(params.share_amount, e_i),
                           params.max_energy - energy[needy])
        do_share = alive[i] & any_n & (act == SHARE)
        give = jnp.where(do_share & ~refuse, jnp.maximum(give, 0.0), 0.0)
        refused_at = refused_at.at[needy].set(refused_at[needy] | (do_share & refuse))
        energy = energy.at[i].add(-give).at[needy].add(give)
        # take
        grab = jnp.minimum(jnp.minimum(params.take_amount, energy[rich]),
                           params.max_energy - energy[i])
        do_take = alive[i] & any_n & (act == TAKE)
        grab = jnp.where(do_take, jnp.maximum(grab, 0.0), 0.0)
        energy = energy.at[rich].add(-grab).at[i].add(grab)
        shared = shared.at[i].add(give)
        took = took.at[i].add(grab)
        taken = taken.at[rich].add(grab)
        return energy, shared, took, taken, refused_at

    zeros = jnp.zeros((n,), jnp.float32)
    return jax.lax.fori_loop(0, n, transfer,
                             (energy, zeros, zeros, zeros, jnp.zeros((n,), bool)))
