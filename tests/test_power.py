"""Power: the seeds a claim needs, checked against published values and simulation; the
full specs have at least the seeds the power table asks for."""

import math

import numpy as np
import pandas as pd
import pytest

from experiments.analysis.claims import Claim, load_claims
from experiments.analysis.inference import power_one_sided, units_for_power
from experiments.analysis.power import pilot_effect, power_table
from experiments.reproduce import POWER_CSV, catalogue_seeds, known_experiments


@pytest.mark.parametrize("d, n", [(0.2, 156), (0.5, 27), (0.8, 12)])
def test_seeds_for_80_percent_power_match_the_published_values(d, n):
    # one-sided paired t-test, alpha 0.05 (Cohen 1988; G*Power gives the same n)
    assert units_for_power(d) == n
    assert power_one_sided(d, n) >= 0.8 > power_one_sided(d, n - 1)


def test_power_matches_a_simulation():
    rng = np.random.default_rng(0)
    from scipy import stats as sps

    d, n, sims = 0.6, 10, 20_000
    x = rng.normal(d, 1.0, (sims, n))
    t = x.mean(1) / (x.std(1, ddof=1) / np.sqrt(n))
    hits = np.mean(t > sps.t.ppf(0.95, n - 1))
    assert power_one_sided(d, n) == pytest.approx(hits, abs=0.015)


def test_no_seed_count_reaches_an_effect_on_the_wrong_side():
    assert units_for_power(-0.5) is None and units_for_power(0.0) is None
    assert units_for_power(0.01, max_units=1000) is None


def _claim(**kw):
    base = dict(id="c", experiment="x", kind="confirmatory", claim="", condition="lesion",
                metric="m", stat="diff", expect=">", value=0.0)
    return Claim(**{**base, **kw})


def test_the_pilot_effect_is_the_paired_contrast_over_its_sd():
    rng = np.random.default_rng(1)
    base = rng.normal(10, 3, 12)
    d = rng.normal(0.5, 1.0, 12)
    values = pd.DataFrame({"condition": ["intact"] * 12 + ["lesion"] * 12,
                           "seed": list(range(12)) * 2, "metric": "m",
                           "value": np.r_[base, base + d]})
    effect, paired, n = pilot_effect(_claim(), values)
    assert paired and n == 12 and effect == pytest.approx(d.mean() / d.std(ddof=1))
    effect, _, _ = pilot_effect(_claim(expect="<"), values)
    assert effect == pytest.approx(-d.mean() / d.std(ddof=1))  # the wrong side: negative
    assert math.isnan(pilot_effect(_claim(on="estimate"), values)[0])  # no test, no power
    table = power_table([_claim()], {"x": values}, {"c": {"quick": 8, "full": 64}})
    assert table["seeds_needed"].iloc[0] == units_for_power(effect=d.mean() / d.std(ddof=1))


def test_every_full_spec_has_the_seeds_its_confirmatory_claims_need():
    table = pd.read_csv(POWER_CSV)
    claims = {c.id: c for c in load_claims(known=known_experiments())}
    assert set(table["id"]) == set(claims)  # the table covers the registered claims
    short = []
    for _, r in table[(table["kind"] == "confirmatory") & table["seeds_needed"].notna()].iterrows():
        c = claims[r["id"]]
        full = catalogue_seeds(c.experiment, c.metric).get("full")
        if full is None or full < r["seeds_needed"]:
            short.append((c.id, full, int(r["seeds_needed"])))
    assert not short, short
