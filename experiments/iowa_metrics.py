"""Measures of Iowa Gambling Task sessions, in the layout the literature uses.

All functions take per-trial logs of many runs as numpy arrays with leading axes
``(..., T)`` (``T`` trials of one session; ``q`` has a trailing deck axis):

* ``deck (..., T)`` int, the deck drawn (0..3 for A..D, -1 for a miss);
* ``marker_chosen (..., T)`` float, the marker bias of the deck about to be chosen,
  read before the choice (negative: aversive);
* ``q (..., T, 4)`` float, the learned action values before each choice.

Blocks are the usual 5 blocks of 20 trials (Bechara et al. 1994, 1997):

* :func:`deck_proportions`: share of choices of each deck per block ``(..., B, 4)``;
* :func:`net_scores`: ``(C + D) - (A + B)`` choices per block ``(..., B)``;
* :func:`anticipatory_markers`: mean aversion (``-marker_chosen``) before choices of bad
  (A, B) and of good (C, D) decks per block, ``(..., B)`` each (NaN where a block has no
  such choice): the toolkit's analogue of anticipatory skin-conductance responses
  (Bechara et al. 1997);
* :func:`knowing_doing`: *knowing*, the share of the four (good, bad) deck pairs that
  the final action values rank the right way round; *doing*, the share of good-deck
  choices in the last 40 trials; and their gap (Bechara et al. 1997: patients who
  could say which decks were bad still chose them).
"""

from __future__ import annotations

import warnings

import numpy as np

BLOCK = 20
BAD, GOOD = (0, 1), (2, 3)


def _blocks(x: np.ndarray, block: int = BLOCK) -> np.ndarray:
    t = x.shape[-1]
    if t % block:
        raise ValueError(f"a session of {t} trials does not split into blocks of {block}")
    return x.reshape(x.shape[:-1] + (t // block, block))


def deck_proportions(deck: np.ndarray, block: int = BLOCK) -> np.ndarray:
    b = _blocks(np.asarray(deck), block)
    return np.stack([(b == d).mean(-1) for d in range(4)], axis=-1)


def net_scores(deck: np.ndarray, block: int = BLOCK) -> np.ndarray:
    b = _blocks(np.asarray(deck), block)
    good = np.isin(b, GOOD).sum(-1)
    bad = np.isin(b, BAD).sum(-1)
    return (good - bad).astype(float)


def anticipatory_markers(
    deck: np.ndarray, marker_chosen: np.ndarray, block: int = BLOCK
) -> tuple[np.ndarray, np.ndarray]:
    b = _blocks(np.asarray(deck), block)
    aversion = -_blocks(np.asarray(marker_chosen, float), block)

    def mean_where(m):
        n = m.sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, (aversion * m).sum(-1) / np.maximum(n, 1), np.nan)

    return mean_where(np.isin(b, BAD)), mean_where(np.isin(b, GOOD))


def knowing_doing(deck: np.ndarray, q: np.ndarray, last: int = 40) -> dict[str, np.ndarray]:
    q_end = np.asarray(q, float)[..., -1, :]
    pairs = [(g, b) for g in GOOD for b in BAD]
    knowing = np.mean([q_end[..., g] > q_end[..., b] for g, b in pairs], axis=0)
    tail = np.asarray(deck)[..., -last:]
    answered = (tail >= 0).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.isin(tail, GOOD).sum(-1) / np.maximum(answered, 1)
        doing = np.where(answered > 0, share, np.nan)
    return {"knowing": knowing, "doing": doing, "knowing_minus_doing": knowing - doing}


def session_measures(logs: dict, block: int = BLOCK) -> tuple[dict, dict]:
    """Scalar measures ``(...)`` and block curves ``(..., B)`` of IGT sessions."""
    deck = np.asarray(logs["deck"])
    props = deck_proportions(deck, block)
    net = net_scores(deck, block)
    bad, good = anticipatory_markers(deck, logs["marker_chosen"], block)
    n_b = net.shape[-1]
    late = slice(2, n_b) if n_b >= 3 else slice(0, n_b)
    with warnings.catch_warnings():  # a run without a bad (or good) choice has no gap
        warnings.simplefilter("ignore", RuntimeWarning)
        gap = np.nanmean(bad[..., 1:] - good[..., 1:], axis=-1) if n_b > 1 else np.nan
    scalars = {
        "test/net_score_late": net[..., late].mean(-1),
        "test/net_score_first": net[..., 0],
        "test/net_score_gain": net[..., late].mean(-1) - net[..., 0],
        "test/marker_gap": gap,
        "test/money": np.asarray(logs["net"], float).sum(-1),
        **{f"test/{k}": v for k, v in knowing_doing(deck, logs["q"]).items()},
    }
    curves = {
        "curve/net_score": net,
        "curve/marker_bad": bad,
        "curve/marker_good": good,
        **{f"curve/prop_{'ABCD'[d]}": props[..., d] for d in range(4)},
    }
    return scalars, curves
