"""``IowaGambling-v0``: the four-deck Iowa Gambling Task with the published schedule.

Bechara, Damasio, Damasio & Anderson (1994), "Insensitivity to future consequences
following damage to human prefrontal cortex", *Cognition* 50, 7-15, Fig. 1. Every card
of decks A and B pays $100, every card of C and D $50; some cards also carry a loss.
The losses follow a fixed 40-card sequence per deck (below, card by card; "payoff scheme
1" of Steingroever et al. 2015, *Journal of Open Psychology Data* 3(1):e5, with deck C
in its corrected form: older copies have errors in C's second and fourth groups of ten).
The 41st draw from a deck starts its sequence again.

* **A** (frequent losses, $150-$350): per 10 cards, losses of 1250 in total, net -250;
* **B** (one loss of $1250 per 10 cards): net -250;
* **C** (frequent losses, $25-$75): losses of 250 in total, net +250;
* **D** (one loss of $250 per 10 cards): net +250.

The participant draws one card per trial for ``time_limit`` trials (100). Every deck is
always on offer; an action outside 0..3 draws nothing (a *miss*).

Other schedules are parameters (:class:`IowaParams`: ``gains`` and ``losses`` card by
card, ``shuffle``): ``IowaGamblingShuffled-v0`` is payoff scheme 2 of Steingroever et
al. (2015), the decks above with every loss of deck C $50 and the cards of each block of
ten in a random order per session; a schedule read from recorded sessions (payoff scheme
3, Bechara & Damasio 2000, whose wins and losses grow) is built by
``experiments.fit.schemes``.

Observation (float32 ``(5,)``): which decks can be drawn from (always all four, 0/1
each, the layout of ``Choice-v0``), then the body's energy (the task has no food; the
participant is sated, energy 1).
Action (``()`` int32 per agent): the deck, 0..3 for A..D.
Reward: ``reward_scale * (gain - loss)`` of the card (``reward_scale = 0.01``: one unit
per $100, a task parameter).
Signals: ``loss = reward_scale * loss`` (>= 0), ``missed`` on a miss, energy constant at
1 (``ate``, ``overate`` 0; nobody starves).
Termination: none; ``truncated`` after ``time_limit`` trials.
Info (per trial just played): ``deck (A,)`` int32 (-1 on a miss), ``card (A,)`` int32
(the card's place in its deck's schedule, 0..N-1; -1 on a miss), ``gain (A,)`` and
``loss (A,)`` in dollars, ``net (A,)`` in dollars, ``good (A,)`` bool (deck C or D).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from worlds.base import World
from worlds.signals import Signals

DECKS = "ABCD"
GAINS = np.array([100, 100, 50, 50], np.int32)
"""Gain per card of each deck, in dollars."""

# Losses per card, in dollars, in the order the cards are drawn (Bechara et al. 1994).
# Four rows (decks A..D) of 40 cards, written as four blocks of 10.
LOSSES = np.array(
    [
        # deck A
        [0, 0, 150, 0, 300, 0, 200, 0, 250, 350]
        + [0, 350, 0, 250, 200, 0, 300, 150, 0, 0]
        + [0, 300, 0, 350, 0, 200, 250, 150, 0, 0]
        + [350, 200, 250, 0, 0, 0, 150, 300, 0, 0],
        # deck B
        [0, 0, 0, 0, 0, 0, 0, 0, 1250, 0]
        + [0, 0, 0, 1250, 0, 0, 0, 0, 0, 0]
        + [1250, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        + [0, 1250, 0, 0, 0, 0, 0, 0, 0, 0],
        # deck C
        [0, 0, 50, 0, 50, 0, 50, 0, 50, 50]
        + [0, 25, 75, 0, 0, 0, 25, 75, 0, 50]
        + [0, 0, 0, 50, 25, 50, 0, 0, 75, 50]
        + [0, 0, 0, 25, 25, 0, 75, 0, 50, 75],
        # deck D
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 250]
        + [0, 0, 0, 0, 0, 0, 0, 0, 0, 250]
        + [0, 0, 0, 0, 0, 0, 0, 0, 250, 0]
        + [0, 0, 0, 0, 250, 0, 0, 0, 0, 0],
    ],
    np.int32,
)
CARDS_PER_DECK = LOSSES.shape[1]
CONSTANT_C = np.where((np.arange(4)[:, None] == 2) & (LOSSES > 0), 50, LOSSES).astype(np.int32)
"""Payoff scheme 2 of Steingroever et al. (2015): the losses of :data:`LOSSES` with every
loss of deck C $50 (each block of ten cards still loses $250 per deck C, $1250 per A/B)."""
BLOCK = 10
"""Cards per block: a shuffled schedule permutes the cards within each block of ten."""


@struct.dataclass
class IowaParams:
    """Numbers of the task (sweepable pytree leaves) and its payoff schedule.

    ``gains`` and ``losses`` are ``(4, N)`` whole dollars per card, in the order the cards
    of each deck are drawn (``None``: the published schedule, :data:`GAINS` and
    :data:`LOSSES`); the ``N + 1``-th draw from a deck starts its sequence again. With
    ``shuffle`` (static) each session draws the cards of every block of ten in a random
    order (payoff scheme 2 of Steingroever et al. 2015).
    """

    reward_scale: float = 0.01  # reward units per dollar
    time_limit: int = 100  # trials (cards drawn) in one session
    gains: jnp.ndarray | None = None  # (4, N) int32 dollars won per card
    losses: jnp.ndarray | None = None  # (4, N) int32 dollars lost per card (>= 0)
    shuffle: bool = struct.field(pytree_node=False, default=False)

    def tables(self) -> tuple[jnp.ndarray, jnp.ndarray]:
        """``(gains, losses)``, ``(4, N)`` int32 each (the published schedule by default)."""
        losses = jnp.asarray(LOSSES if self.losses is None else self.losses, jnp.int32)
        gains = (jnp.broadcast_to(jnp.asarray(GAINS)[:, None], losses.shape)
                 if self.gains is None else jnp.asarray(self.gains, jnp.int32))
        if gains.shape != losses.shape or gains.ndim != 2 or gains.shape[0] != 4:
            raise ValueError(f"IowaParams: gains {gains.shape} and losses {losses.shape} must "
                             "both be (4, N)")
        return gains, losses


@struct.dataclass
class IowaState:
    """The state of an IGT session: cards drawn from each deck, the trial, the body's signals."""

    drawn: jnp.ndarray  # (A, 4) int32 cards drawn from each deck so far
    t: jnp.ndarray  # () int32 trials played
    signals: Signals
    order: jnp.ndarray  # (A, 4, N) int32 the card each draw turns up (shuffled schedules)


class IowaGambling(World):
    """The Iowa Gambling Task (see module docstring).

    Args:
        num_agents: independent participants sharing nothing (default 1).
    """

    num_actions = 4
    obs_shape = (5,)

    def __init__(self, num_agents: int = 1):
        if isinstance(num_agents, bool) or not isinstance(num_agents, int) or num_agents < 1:
            raise ValueError(f"IowaGambling: num_agents must be an int >= 1, got {num_agents!r}")
        self.num_agents = num_agents

    def default_params(self) -> IowaParams:
        """The published schedule (Bechara et al. 1994) as arrays."""
        return IowaParams()

    def action_mask(self, state: IowaState, params=None) -> jnp.ndarray:
        """``(num_agents, 4)`` bool: every deck may be drawn."""
        del params
        return jnp.ones(state.drawn.shape, bool)

    def observe(self, state: IowaState, params=None) -> jnp.ndarray:
        """The decks available and a constant cue, ``(A, 5)``."""
        available = self.action_mask(state).astype(jnp.float32)
        return jnp.concatenate([available, jnp.ones((self.num_agents, 1), jnp.float32)], axis=1)

    def reset_env(self, key, params: IowaParams):
        """A new session: no card drawn yet (and, for a shuffled schedule, the order of the
        cards within every block of ten, from one random draw)."""
        a = self.num_agents
        n = params.tables()[1].shape[1]
        order = jnp.broadcast_to(jnp.arange(n, dtype=jnp.int32), (a, 4, n))
        if params.shuffle:
            if n % BLOCK:
                raise ValueError(f"a shuffled schedule needs whole blocks of {BLOCK} cards, "
                                 f"got {n}")
            u = jax.random.uniform(key, (a, 4, n // BLOCK, BLOCK))
            ranks = jnp.argsort(u, axis=-1).astype(jnp.int32)  # a permutation per block
            order = (ranks + BLOCK * jnp.arange(n // BLOCK, dtype=jnp.int32)[:, None]).reshape(
                a, 4, n)
        state = IowaState(
            drawn=jnp.zeros((a, 4), jnp.int32),
            t=jnp.zeros((), jnp.int32),
            signals=Signals.at_rest(jnp.ones((a,), jnp.float32)),
            order=order,
        )
        return self.observe(state), state

    def step_env(self, key, state: IowaState, action, params: IowaParams):
        """Draw a card from the chosen deck: its gain and loss by the schedule."""
        del key
        deck = jnp.asarray(action, jnp.int32).reshape(self.num_agents)
        in_range = (deck >= 0) & (deck < 4)
        d = jnp.clip(deck, 0, 3)
        gains, losses = params.tables()
        n = losses.shape[1]
        draw = jnp.take_along_axis(state.drawn, d[:, None], axis=1)[:, 0] % n
        card = state.order[jnp.arange(self.num_agents), d, draw]
        valid = in_range
        gain = jnp.where(valid, gains[d, card], 0)
        loss = jnp.where(valid, losses[d, card], 0)
        net = gain - loss
        drawn = state.drawn + jax.nn.one_hot(d, 4, dtype=jnp.int32) * valid[:, None]
        scale = jnp.asarray(params.reward_scale, jnp.float32)
        energy = jnp.ones((self.num_agents,), jnp.float32)
        signals = Signals.of(energy, loss=scale * loss.astype(jnp.float32), missed=~valid)
        t = state.t + 1
        new = IowaState(drawn=drawn, t=t, signals=signals, order=state.order)
        info = {
            "deck": jnp.where(valid, deck, -1).astype(jnp.int32),
            "card": jnp.where(valid, card, -1).astype(jnp.int32),
            "gain": gain.astype(jnp.int32),
            "loss": loss.astype(jnp.int32),
            "net": net.astype(jnp.int32),
            "good": valid & (d >= 2),
        }
        reward = scale * net.astype(jnp.float32)
        terminated = jnp.zeros((self.num_agents,), bool)
        truncated = jnp.broadcast_to(t >= params.time_limit, (self.num_agents,))
        return self.observe(new), new, reward, terminated, truncated, info

    # ----- rendering ------------------------------------------------------------------------
    def render_ansi(self, state: IowaState, params: IowaParams | None = None) -> str:
        """The trial, the money and the cards drawn per deck as text."""
        lines = []
        for a in range(self.num_agents):
            left = "  ".join(f"{DECKS[i]}:{int(state.drawn[a, i]):3d} drawn" for i in range(4))
            lines.append(f"trial {int(state.t)}   {left}")
        return "\n".join(lines) + "\n"

    def render_rgb(self, state: IowaState, cell: int = 24) -> np.ndarray:
        """One row per agent, one cell per deck: darker the more it was drawn from."""
        drawn = np.asarray(state.drawn, np.float32)
        share = drawn / np.maximum(drawn.sum(axis=1, keepdims=True), 1.0)
        shade = (240 - 180 * share).astype(np.uint8)
        img = np.stack([shade, shade, np.full_like(shade, 200)], axis=-1)
        return np.kron(img, np.ones((cell, cell, 1), np.uint8))
