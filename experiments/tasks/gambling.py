"""The ``gambling`` experiment: do affective markers steer choices away from decks with
delayed losses?

``IowaGambling-v0``: one 100-trial session per simulated participant, learning online
from the first card, under every lesion of :func:`~experiments.tasks.base.lesion_set`
(an acquired lesion takes effect after block 2, so blocks 3-5 are the test phase). The
report writes ``statistics.csv``, ``knowing_doing.txt`` and the figure in the layout
readers of the Iowa Gambling Task know: net score ``(C + D) - (A + B)`` per block of 20
trials, deck proportions per block, the anticipatory marker before bad and good decks.
A lesion's "no marker difference" holds by construction (its marker gains are 0); it is
checked so that a change which leaks the marker around the lesion shows up.

Measures of sessions, in the layout the literature uses.
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
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.inference import t_interval
from experiments.analysis.plots import new_figure, save_figure, seaborn, t_errorbar
from experiments.analysis.tables import statistics, values, write_tables
from experiments.spec import ExperimentSpec
from experiments.tasks.base import Task, default_channels, lesion_set

MEASURES = [
    ("test/net_score_late", "net score (C+D)-(A+B) per block, blocks 3-5"),
    ("test/net_score_first", "net score, block 1"),
    ("test/net_score_gain", "net score, blocks 3-5 minus block 1"),
    ("test/marker_gap", "anticipatory marker, bad minus good decks, blocks 2-5"),
    ("test/knowing", "knowing: share of good>bad deck pairs ranked right by final values"),
    ("test/doing", "doing: share of good-deck choices, last 40 trials"),
    ("test/knowing_minus_doing", "knowing minus doing"),
    ("test/money", "money won over the session ($)"),
]
BLOCK = 20
BAD, GOOD = (0, 1), (2, 3)


def _blocks(x: np.ndarray, block: int = BLOCK) -> np.ndarray:
    t = x.shape[-1]
    if t % block:
        raise ValueError(f"a session of {t} trials does not split into blocks of {block}")
    return x.reshape(x.shape[:-1] + (t // block, block))


def deck_proportions(deck: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """Share of choices of each deck per block, ``(..., B, 4)``."""
    b = _blocks(np.asarray(deck), block)
    return np.stack([(b == d).mean(-1) for d in range(4)], axis=-1)


def net_scores(deck: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """``(C + D) - (A + B)`` choices per block, ``(..., B)``."""
    b = _blocks(np.asarray(deck), block)
    good = np.isin(b, GOOD).sum(-1)
    bad = np.isin(b, BAD).sum(-1)
    return (good - bad).astype(float)


def anticipatory_markers(
    deck: np.ndarray, marker_chosen: np.ndarray, block: int = BLOCK
) -> tuple[np.ndarray, np.ndarray]:
    """Mean aversion (``-marker_chosen``) before bad and before good decks per block,
    ``(..., B)`` each (NaN where a block has no such choice)."""
    b = _blocks(np.asarray(deck), block)
    aversion = -_blocks(np.asarray(marker_chosen, float), block)

    def mean_where(m):
        n = m.sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, (aversion * m).sum(-1) / np.maximum(n, 1), np.nan)

    return mean_where(np.isin(b, BAD)), mean_where(np.isin(b, GOOD))


def knowing_doing(deck: np.ndarray, q: np.ndarray, last: int = 40) -> dict[str, np.ndarray]:
    """``knowing``, ``doing`` and ``knowing_minus_doing`` ``(...)`` (see the module
    docstring); ``q (..., T, 4)``, ``deck (..., T)``."""
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
        gap = (np.nanmean(bad[..., 1:] - good[..., 1:], axis=-1) if n_b > 1
               else np.full(net.shape[:-1], np.nan))  # one block: no block 2 on
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


def spec(quick: bool = False) -> ExperimentSpec:
    """Do affective markers steer choices away from decks with delayed losses?

    ``IowaGambling-v0``: one 100-trial session per simulated participant, learning
    online from the first card. Conditions: see
    :func:`~experiments.tasks.base.lesion_set`; an acquired lesion takes effect after
    block 2 (trial 40), so blocks 3-5 are the test phase. Quick: 100 participants per
    condition; full: 400.
    """
    return ExperimentSpec(
        name="gambling-quick" if quick else "gambling",
        world="IowaGambling-v0",
        conditions=lesion_set(default_channels()),
        seeds=100 if quick else 400,
        total_steps=100,
        test_steps=60,
        trainer="online",
    )


def analyse(spec, world, world_params, logs):
    """Measures ``test/*`` ``(S, C)`` and block curves ``curve/*`` ``(S, C, B)`` of online
    sessions in ``IowaGambling-v0`` (logs ``(S, C, T, ...)``); returns ``(metrics, block
    end steps)``."""
    del world, world_params  # the measures need the logs only
    block = BLOCK if spec.total_steps % BLOCK == 0 else spec.total_steps
    scalars, curves = session_measures(logs, block)
    steps = (np.arange(spec.total_steps // block) + 1) * block
    return {**scalars, **curves}, steps


def marker_gaps_by_block(df: pd.DataFrame) -> pd.DataFrame:
    """Per run, the anticipatory marker before bad minus good decks in every block from 2
    on, as tidy rows ``test/marker_gap_block<k>`` (condition, seed, metric, value)."""
    bad = df[df["metric"] == "curve/marker_bad"].set_index(["condition", "seed", "step"])
    good = df[df["metric"] == "curve/marker_good"].set_index(["condition", "seed", "step"])
    gap = (bad["value"] - good["value"]).rename("value").reset_index()
    first = gap["step"].min()
    gap = gap[gap["step"] > first]
    gap["metric"] = "test/marker_gap_block" + (gap["step"] // first).astype(int).astype(str)
    return gap[["condition", "seed", "metric", "value"]]


def knowing_doing_lines(df) -> list[str]:
    """The knowing-vs-doing measure per condition, with CIs (reported, not a claim)."""
    lines = []
    for cond in dict.fromkeys(df["condition"]):
        parts = []
        for metric in ("test/knowing", "test/doing", "test/knowing_minus_doing"):
            m = t_interval(values(df, cond, metric))
            parts.append(f"{metric[5:]} {m[0]:.2f} [{m[1]:.2f}, {m[2]:.2f}]")
        lines.append(f"  {cond}: " + "; ".join(parts))
    return lines


def claim_table(df: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The per-run values and measures of the statistics table: every measure of
    ``results.csv`` and the marker gap block by block (:func:`marker_gaps_by_block`)."""
    gaps = marker_gaps_by_block(df)
    blocks = [(m, f"anticipatory marker, bad minus good decks, block {m[-1]}")
              for m in dict.fromkeys(gaps["metric"])]
    per_run = pd.concat([df[["condition", "seed", "metric", "value"]], gaps], ignore_index=True)
    return per_run, MEASURES + blocks


def statistics_table(df: pd.DataFrame) -> pd.DataFrame:
    """Every condition against intact on every measure of :func:`claim_table`."""
    return statistics(*claim_table(df))


def report(results_dir) -> None:
    """Write ``statistics.csv`` (:func:`statistics_table`), ``knowing_doing.txt`` and the
    figure."""
    results_dir = Path(results_dir)
    df = pd.read_csv(results_dir / "results.csv")
    write_tables(results_dir, *claim_table(df))
    (results_dir / "knowing_doing.txt").write_text(
        "knowing vs doing (mean [95% t interval] over participants):\n"
        + "\n".join(knowing_doing_lines(df))
        + "\n"
    )
    draw_figure(df, results_dir)


def draw_figure(df: pd.DataFrame, folder: Path) -> None:
    """Net score per block, deck choices and the intact marker (``figure.png``/``.pdf``)."""
    sns = seaborn()
    shown = [c for c in dict.fromkeys(df["condition"])
             if c == "intact" or c.removesuffix("-acquired") in ("full-lesion", "vmpfc-lesion")]
    curves = df[df["metric"].str.startswith("curve/")].copy()
    curves["block"] = (curves["step"] // 20).astype(int)
    fig, axes = new_figure(3, (15, 4.6), font_scale=1.05)

    net = curves[(curves["metric"] == "curve/net_score") & curves["condition"].isin(shown)].copy()
    net["lesion"] = net["condition"].str.removesuffix("-acquired")
    net["onset"] = np.where(net["condition"].str.endswith("-acquired"), "acquired (after block 2)",
                            "developmental")
    sns.lineplot(data=net, x="block", y="value", hue="lesion", style="onset", marker="o",
                 style_order=["developmental", "acquired (after block 2)"],
                 errorbar=t_errorbar, ax=axes[0])
    axes[0].axhline(0, color="0.3", lw=0.8)
    axes[0].set(title="Net score (C+D)-(A+B) per block of 20", xlabel="block",
                ylabel="net score", xticks=sorted(net["block"].unique()))

    props = curves[curves["metric"].str.startswith("curve/prop_")
                   & curves["condition"].isin(["intact", "full-lesion", "vmpfc-lesion"])].copy()
    props["deck"] = props["metric"].str[-1]
    sns.barplot(data=props, x="deck", y="value", hue="condition", errorbar=t_errorbar, ax=axes[1])
    axes[1].set(title="Deck choices over the session", xlabel="deck (A, B bad; C, D good)",
                ylabel="proportion of choices")

    mk = curves[curves["metric"].isin(["curve/marker_bad", "curve/marker_good"])
                & (curves["condition"] == "intact")].copy()
    mk["before"] = mk["metric"].map({"curve/marker_bad": "bad decks (A, B)",
                                     "curve/marker_good": "good decks (C, D)"})
    sns.lineplot(data=mk, x="block", y="value", hue="before", marker="o", errorbar=t_errorbar,
                 ax=axes[2])
    axes[2].set(title="Intact: anticipatory marker before a choice", xlabel="block",
                ylabel="aversion (-marker of the chosen deck)",
                xticks=sorted(mk["block"].unique()))
    for ax in axes:
        ax.legend(title="", fontsize=8)
    fig.suptitle("IowaGambling-v0: means over participants, 95% t intervals "
                 "(the frustration lesion equals the full lesion here: a sated participant "
                 "feels no hunger)", fontsize=10)
    save_figure(fig, folder)


TASK = Task("gambling", spec, report, analyse)
