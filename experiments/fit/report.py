"""Tables and figures of fits and recoveries: model comparison by BIC, the fitted
parameters' distributions, true-vs-fitted scatter plots."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from experiments.analysis.plots import new_figure, save_figure, seaborn

MANYLABS = (
    "Steingroever, H., Fridberg, D. J., Horstmann, A., et al. (2015). Data from 617 "
    "healthy participants performing the Iowa gambling task: A \"many labs\" collaboration. "
    "Journal of Open Psychology Data, 3(1), e5. https://doi.org/10.5334/jopd.ak (CC BY-SA 4.0)"
)
"""The citation of the calibration set, written next to every result computed from it."""


def comparison(fits: pd.DataFrame) -> pd.DataFrame:
    """Per model: participants, mean log-likelihood per trial, mean and summed BIC, mean
    BIC difference to the best model on average, and the share of participants whose
    BIC the model wins (ties split)."""
    bic = fits.pivot(index="subjID", columns="model", values="bic")
    best = bic.min(axis=1)
    wins = bic.eq(best, axis=0)
    share = wins.div(wins.sum(axis=1), axis=0).mean()
    per_trial = (fits["loglik"] / fits["trials"]).groupby(fits["model"]).mean()
    rows = []
    for model in bic.columns:
        rows.append({"model": model, "participants": int(bic[model].notna().sum()),
                     "loglik_per_trial": float(per_trial[model]),
                     "mean_bic": float(bic[model].mean()), "sum_bic": float(bic[model].sum()),
                     "mean_bic_minus_best": float((bic[model] - best).mean()),
                     "share_best_bic": float(share[model])})
    return pd.DataFrame(rows).sort_values("sum_bic").reset_index(drop=True)


def fit_figure(fits: pd.DataFrame, params: dict[str, list], folder: Path,
               title: str, chance: float | None = None) -> list[Path]:
    """Histograms of the first model's fitted parameters (``params``: model name ->
    its free :class:`~experiments.fit.models.Param`), each model's share of best BIC,
    and each model's log-likelihood per trial, with ``chance`` dashed where given
    (``figure.png``/``.pdf``)."""
    sns = seaborn()
    first = next(iter(params))
    free = params[first]
    fig, axes = new_figure(len(free) + 2, (3.3 * (len(free) + 2), 3.7))
    rows = fits[fits["model"] == first]
    for ax, p in zip(axes, free, strict=False):
        sns.histplot(rows[p.name], bins=25, ax=ax, color="0.35", log_scale=p.log)
        ax.set(title=f"{first}: {p.name}", xlabel=p.name + (" (log scale)" if p.log else ""),
               ylabel="participants")
    table = comparison(fits)
    order = list(params)
    sns.barplot(data=table, x="model", y="share_best_bic", ax=axes[-2], color="C0",
                order=order)
    axes[-2].set(title="Share of participants best by BIC", ylabel="share", xlabel="",
                 ylim=(0, 1))
    per_trial = fits.assign(ll_per_trial=fits["loglik"] / fits["trials"])
    sns.violinplot(data=per_trial, x="model", y="ll_per_trial", ax=axes[-1], color="0.85",
                   cut=0, inner="quartile", order=order)
    if chance is not None:
        axes[-1].axhline(chance, color="0.4", lw=0.8, ls="--")
    axes[-1].set(title="Log-lik. per trial" + (" (dashed: chance)" if chance is not None
                                                else ""), xlabel="",
                 ylabel="log-likelihood / trial")
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, folder)


def recovery_figure(table: pd.DataFrame, summary: pd.DataFrame, model: str,
                    folder: Path) -> list[Path]:
    """True against fitted values per free parameter, with ``r`` in each title."""
    names = list(summary["parameter"])
    fig, axes = new_figure(len(names), (3.4 * len(names), 3.4))
    for ax, row in zip(axes, summary.itertuples(), strict=False):
        t, f = table[f"true_{row.parameter}"], table[f"fit_{row.parameter}"]
        ax.scatter(t, f, s=12, alpha=0.7, color="C0")
        lo, hi = min(t.min(), f.min()), max(t.max(), f.max())
        ax.plot([lo, hi], [lo, hi], color="0.4", lw=0.8, ls="--")
        if row.scale == "log":
            ax.set(xscale="log", yscale="log")
        ax.set(title=f"{row.parameter}: r = {row.r:.2f} ({row.scale})", xlabel="true",
               ylabel="fitted")
    fig.suptitle(f"Parameter recovery, {model}: {len(table)} simulated participants",
                 fontsize=9)
    return save_figure(fig, folder)
