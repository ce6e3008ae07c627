"""The ``paralysis`` experiment's statistics, claims and figure (reads results only).

``report(results_dir)`` writes ``statistics.csv`` (every condition against intact, on
every test-phase measure: means with 95% bootstrap CIs, difference and ratio with CIs,
Hedges' g with CI), ``claims.csv`` (the issue's claims, measured, pass/fail) and
``figure.png``/``figure.pdf``; it returns the claims table for printing.

The claims compare the full developmental lesion with intact agents (the developmental
onset is the patients' case where signalling is absent throughout; the acquired onset
is reported in the statistics table).
"""

from __future__ import annotations

from pathlib import Path

from experiments.figures import save_figure
from experiments.report import format_claims, statistics, values
from experiments.stats import bootstrap_ci, bootstrap_two_sample, diff_of_means, ratio_of_means

__all__ = ["MEASURES", "check_claims", "draw", "format_claims"]

MEASURES = [
    ("test/ticks_equal", "deliberation ticks, equal trials"),
    ("test/ticks_unequal", "deliberation ticks, unequal trials"),
    ("test/timeout_equal", "timeout rate, equal trials"),
    ("test/timeout_unequal", "timeout rate, unequal trials"),
    ("test/reversal_equal", "choice reversals, equal pairs"),
    ("test/reversal_unequal", "choice reversals, unequal pairs"),
    ("test/intransitive_triads", "intransitive triads (equal items)"),
    ("test/garp_violations", "GARP violations (majority relation)"),
    ("test/accuracy_unequal", "accuracy, unequal trials"),
    ("test/reward_rate", "reward per trial"),
    ("test/energy", "energy"),
    ("test/starved", "starvations in the test phase"),
]
LESION = "full-lesion"
INCONSISTENCY = "test/reversal_equal"


def check_claims(df, lesion: str = LESION):
    """The issue's claims, measured: a list of dicts (claim, measured, passed)."""
    t = lambda c, m: values(df, c, m)
    claims = []

    def add(claim, measured, passed):
        claim = f"{lesion} vs intact, {claim}"
        claims.append({"claim": claim, "measured": measured, "passed": bool(passed)})

    r_eq = bootstrap_two_sample(t(lesion, "test/ticks_equal"), t("intact", "test/ticks_equal"),
                                ratio_of_means)
    add("equal trials: lesioned deliberate >= 3x as long as intact",
        f"ratio {r_eq[0]:.2f} [95% CI {r_eq[1]:.2f}, {r_eq[2]:.2f}]", r_eq[0] >= 3)
    to_l = bootstrap_ci(t(lesion, "test/timeout_equal"))
    to_i = bootstrap_ci(t("intact", "test/timeout_equal"))
    ratio = to_l[0] / to_i[0] if to_i[0] > 0 else float("inf") if to_l[0] > 0 else float("nan")
    add("equal trials: lesioned time out on >= 10x as many trials",
        f"lesioned {to_l[0]:.3f} [{to_l[1]:.3f}, {to_l[2]:.3f}] vs intact {to_i[0]:.4f} "
        f"[{to_i[1]:.4f}, {to_i[2]:.4f}] (ratio {ratio:.1f})",
        to_l[0] > 0 and ratio >= 10)
    add("equal trials: intact timeout rate <= 2%",
        f"{100 * to_i[0]:.2f}% [{100 * to_i[1]:.2f}, {100 * to_i[2]:.2f}]", to_i[0] <= 0.02)
    r_un = bootstrap_two_sample(t(lesion, "test/ticks_unequal"),
                                t("intact", "test/ticks_unequal"), ratio_of_means)
    add("unequal trials: lesioned/intact deliberation ratio <= 1.5",
        f"ratio {r_un[0]:.2f} [95% CI {r_un[1]:.2f}, {r_un[2]:.2f}]", r_un[0] <= 1.5)
    d = bootstrap_two_sample(t(lesion, INCONSISTENCY), t("intact", INCONSISTENCY), diff_of_means)
    add("choice inconsistency (reversals on equal pairs) higher with the lesion, CI excludes 0",
        f"difference {d[0]:+.3f} [95% CI {d[1]:+.3f}, {d[2]:+.3f}]", d[1] > 0)
    return claims


def draw(results_dir) -> list:
    """Write statistics.csv, claims.csv and the figure; return the claims."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    results_dir = Path(results_dir)
    df = pd.read_csv(results_dir / "results.csv")
    stats = statistics(df, MEASURES)
    stats.to_csv(results_dir / "statistics.csv", index=False)
    claims = check_claims(df)
    pd.DataFrame(claims).to_csv(results_dir / "claims.csv", index=False)

    test = df[df["metric"].str.startswith("test/")].copy()
    order = list(dict.fromkeys(df["condition"]))
    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2), constrained_layout=True)
    panels = [
        (("test/ticks_equal", "test/ticks_unequal"), "Deliberation (ticks per trial)"),
        (("test/timeout_equal", "test/timeout_unequal"), "Timeout rate"),
        (("test/reversal_equal", "test/intransitive_triads"), "Inconsistency"),
    ]
    names = {
        "test/ticks_equal": "equal", "test/ticks_unequal": "unequal",
        "test/timeout_equal": "equal", "test/timeout_unequal": "unequal",
        "test/reversal_equal": "reversals (equal pairs)",
        "test/intransitive_triads": "intransitive triads",
    }
    for ax, (metrics, title) in zip(axes, panels, strict=True):
        sub = test[test["metric"].isin(metrics)].copy()
        sub["measure"] = sub["metric"].map(names)
        sns.barplot(data=sub, y="condition", x="value", hue="measure", order=order, ax=ax,
                    errorbar=("ci", 95), n_boot=2000, seed=0, orient="h")
        ax.set_title(title)
        ax.set_xlabel(title.split(" (")[0].lower())
        ax.set_ylabel("")
        ax.legend(title="", loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8)
    for ax in axes[1:]:
        ax.set_yticklabels([])
    fig.suptitle(
        "Choice-v0, test phase: bars are means over seeds, whiskers 95% bootstrap CIs",
        fontsize=10,
    )
    save_figure(fig, results_dir)
    return claims
