"""How many seeds a claim needs: power from a pilot run's per-seed values.

For every tested claim (``on = "ci"``; rates over trials excepted), the pilot's
standardized effect at the claim's threshold is the mean of the claim's per-seed contrast
over its SD (paired: ``x - k * intact - c`` per seed, as the claim's test uses it; unpaired:
the difference over the pooled SD, halved in variance terms so that the one-sample
formula gives seeds per group; equivalence: the distance of the mean from the nearer
margin). :func:`~experiments.analysis.inference.units_for_power` turns it into the seeds
that give 80% power to the claim's one-sided t-test at ``alpha``: ``0.05 / m`` for the
``m`` confirmatory claims (the first Holm step: conservative for the family), 0.05 for the
others. A pilot's effect is itself noisy (a small pilot overstates or understates it);
the table says what the pilot supports, not more.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from experiments.analysis.claims import ALPHA, Claim
from experiments.analysis.inference import (
    MIN_UNITS,
    fieller_interval,
    power_one_sided,
    units_for_power,
)
from experiments.analysis.tables import samples

POWER = 0.8
MAX_SEEDS = 1_000  # beyond this a claim is reported as not reachable


def pilot_effect(claim: Claim, values: pd.DataFrame) -> tuple[float, bool, int]:
    """``(effect, paired, n)``: the pilot's standardized effect on the claim's side of its
    threshold (NaN where there is no test or too few values), whether the pilot was
    paired, and its number of seeds."""
    if claim.on != "ci" or claim.expect == "includes" or claim.stat not in (
            "mean", "diff", "ratio"):
        return math.nan, False, 0
    x, base, paired = samples(values, claim.condition, claim.metric)
    if claim.stat == "ratio" and math.isnan(fieller_interval(x, base, paired=paired)[1]):
        return math.nan, paired, 0  # intact's mean not clearly away from 0: no ratio test
    greater = claim.expect in (">", ">=")
    v = claim.value
    if claim.stat == "mean":
        c, paired = x[~np.isnan(x)] - v, True
        n = c.size
    elif paired:
        k, const = (v, 0.0) if claim.stat == "ratio" else (1.0, v)
        if claim.expect == "within":
            k, const = 1.0, v
        c = x - k * base - const
        c = c[~np.isnan(c)]
        n = c.size
    else:
        return _unpaired_effect(claim, x, base, greater), False, int(min(
            np.sum(~np.isnan(x)), np.sum(~np.isnan(base))))
    if n < MIN_UNITS:
        return math.nan, paired, n
    sd = float(c.std(ddof=1))
    m = float(c.mean())
    if claim.expect == "within":
        dist = claim.margin - abs(m)
        return (dist / sd if sd > 0 else math.copysign(math.inf, dist)), paired, n
    if sd == 0:
        return (math.inf if (m > 0) == greater and m != 0 else -math.inf), paired, n
    return (m if greater else -m) / sd, paired, n


def _unpaired_effect(claim: Claim, x, base, greater: bool) -> float:
    x, base = x[~np.isnan(x)], base[~np.isnan(base)]
    if min(x.size, base.size) < MIN_UNITS:
        return math.nan
    k, const = (claim.value, 0.0) if claim.stat == "ratio" else (1.0, claim.value)
    m = float(x.mean() - k * base.mean() - const)
    sd = math.sqrt((x.var(ddof=1) + k * k * base.var(ddof=1)) / 2)
    d = (m if greater else -m) / sd if sd > 0 else math.nan
    return d / math.sqrt(2)  # n per group of a two-sample test ~ a one-sample test at d/sqrt2


def power_table(claims: list[Claim], values: dict[str, pd.DataFrame],
                seeds: dict[str, dict[str, int]]) -> pd.DataFrame:
    """One row per claim: the pilot's effect and seeds, the seeds needed for 80% power
    (``None`` where unreachable within :data:`MAX_SEEDS` or the pilot shows no effect on
    the claim's side) and the power of the quick and full specs' seed counts.

    ``values``: the pilot's per-run values by experiment; ``seeds``: ``{claim id:
    {"quick": n, "full": n}}`` (the seeds of the run the claim is measured on).
    """
    m = sum(c.kind == "confirmatory" and c.on == "ci" and c.expect != "includes"
            for c in claims)
    rows = []
    for c in claims:
        alpha = ALPHA / max(m, 1) if c.kind == "confirmatory" else ALPHA
        vals = values.get(c.experiment)
        effect, paired, n = (math.nan, False, 0) if vals is None else pilot_effect(c, vals)
        need = units_for_power(effect, POWER, alpha, MAX_SEEDS) if np.isfinite(
            effect) or effect == math.inf else None
        s = seeds.get(c.id, {})
        row = {"id": c.id, "experiment": c.experiment, "kind": c.kind, "alpha": alpha,
               "pilot_seeds": n, "paired": paired, "effect": effect,
               "seeds_needed": need}
        for size in ("quick", "full"):
            k = s.get(size)
            row[f"{size}_seeds"] = k
            row[f"{size}_power"] = (power_one_sided(effect, k, alpha)
                                    if k and np.isfinite(effect) else
                                    (1.0 if effect == math.inf and k else math.nan))
        rows.append(row)
    return pd.DataFrame(rows)


def power_markdown(table: pd.DataFrame, pilot: str) -> str:
    """The power table as the markdown written into ``docs/power.md``."""
    lines = [f"Pilot: `{pilot}`. Target: 80% power of each claim's one-sided test; alpha "
             "= 0.05 / (number of confirmatory tested claims) for confirmatory claims, 0.05 "
             "for the others. *effect*: the pilot's standardized effect at the claim's "
             "threshold (> 0: on the claimed side). *needed*: seeds (per condition) for "
             f"80% power; '-' where the pilot shows no effect on the claimed side, no test "
             f"exists, or more than {MAX_SEEDS} seeds would be needed.", "",
             "| claim | kind | pilot seeds | effect | needed | quick seeds (power) | "
             "full seeds (power) |", "|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        eff = "-" if pd.isna(r["effect"]) else f"{r['effect']:.2f}"
        need = "-" if pd.isna(r["seeds_needed"]) else f"{int(r['seeds_needed'])}"
        cells = []
        for size in ("quick", "full"):
            k, pw = r[f"{size}_seeds"], r[f"{size}_power"]
            cells.append("-" if pd.isna(k) else (f"{int(k)}" if pd.isna(pw)
                                                  else f"{int(k)} ({pw:.2f})"))
        lines.append(f"| `{r['id']}` | {r['kind']} | {r['pilot_seeds']} | {eff} | {need} | "
                     f"{cells[0]} | {cells[1]} |")
    return "\n".join(lines)
