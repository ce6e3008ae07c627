"""The payoff schemes of the Iowa Gambling Task in the calibration set, as task
parameters of ``IowaGambling-v0``, checked card by card against recorded sessions.

Steingroever et al. (2015) number three schemes:

* **1** -- Bechara et al. (1994), fixed card sequences: ``IowaGambling-v0``;
* **2** -- the same decks with every loss of deck C $50, the cards of each block of ten in
  a random order per participant: ``IowaGamblingShuffled-v0``. Checked block by block
  (each full block of ten draws from a deck holds the scheme's ten losses, in some order);
* **3** -- Bechara & Damasio (2000): fixed sequences whose wins and losses grow over the
  task. Its schedule is read, card by card, from the recorded sessions of that scheme
  (the most common outcome of each deck's ``n``-th draw) when a fit needs it, and never
  stored; :func:`schedule_agreement` says how many recorded cards it reproduces.
"""

from __future__ import annotations

import numpy as np

from experiments.fit.data import Sessions
from worlds.iowa import BLOCK, CONSTANT_C, LOSSES, IowaParams


def draw_index(choice: np.ndarray) -> np.ndarray:
    """``(N, T)``: how many cards the participant had drawn from the chosen deck before
    each trial (-1 where nothing was chosen)."""
    out = np.full(choice.shape, -1, np.int64)
    for deck in range(4):
        hit = choice == deck
        out = np.where(hit, np.cumsum(hit, axis=1) - 1, out)
    return out


def schedule_from_sessions(sessions: Sessions) -> tuple[np.ndarray, np.ndarray]:
    """``(gains, losses)``, ``(4, N)`` whole dollars: the most common outcome of each
    deck's ``n``-th draw over the sessions (``N`` the most draws from any deck; a draw
    nobody made repeats the deck's last known card)."""
    draws = draw_index(sessions.choice)
    n = int(draws.max()) + 1
    gains, losses = np.zeros((4, n), np.int32), np.zeros((4, n), np.int32)
    for deck in range(4):
        for k in range(n):
            sel = (sessions.choice == deck) & (draws == k) & sessions.valid
            if not sel.any():
                gains[deck, k], losses[deck, k] = gains[deck, k - 1], losses[deck, k - 1]
                continue
            pairs, counts = np.unique(np.stack([sessions.gain[sel], -sessions.loss[sel]], 1),
                                      axis=0, return_counts=True)
            gains[deck, k], losses[deck, k] = pairs[np.argmax(counts)].round()
    return gains, losses


def schedule_agreement(sessions: Sessions, params: IowaParams) -> float:
    """Share of recorded cards equal, card by card, to a fixed schedule's (the ``n``-th
    draw from a deck against the schedule's ``n``-th card of it)."""
    gains, losses = (np.asarray(x) for x in params.tables())
    draws = draw_index(sessions.choice)
    played = sessions.valid & (draws >= 0)
    deck, k = sessions.choice[played], draws[played] % gains.shape[1]
    same = (gains[deck, k] == sessions.gain[played]) & (losses[deck, k] == -sessions.loss[played])
    return float(same.mean())


def block_agreement(sessions: Sessions, losses: np.ndarray = CONSTANT_C) -> float:
    """Share of full blocks of ten draws from a deck whose losses are, as a multiset, the
    block's ten losses of the shuffled schedule ``losses``."""
    good = total = 0
    for i in range(len(sessions.subjects)):
        for deck in range(4):
            sel = (sessions.choice[i] == deck) & sessions.valid[i]
            lost = -sessions.loss[i][sel]
            for b in range(len(lost) // BLOCK):
                want = np.sort(losses[deck, (BLOCK * b) % losses.shape[1]:][:BLOCK])
                good += np.array_equal(np.sort(lost[BLOCK * b:BLOCK * (b + 1)]), want)
                total += 1
    return good / max(total, 1)


def scheme_params(scheme: int, sessions: Sessions | None = None) -> IowaParams:
    """``IowaGambling-v0``'s parameters for payoff ``scheme`` (1, 2 or 3; 3 reads its
    schedule from ``sessions`` of that scheme)."""
    if scheme == 1:
        return IowaParams(losses=LOSSES)
    if scheme == 2:
        return IowaParams(losses=CONSTANT_C, shuffle=True)
    if scheme == 3:
        if sessions is None:
            raise ValueError("payoff scheme 3 is read from recorded sessions; pass them")
        gains, losses = schedule_from_sessions(sessions)
        return IowaParams(gains=gains, losses=losses)
    raise ValueError(f"unknown payoff scheme {scheme!r}; known: 1, 2, 3")
