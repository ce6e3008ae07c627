"""The claim checks hold their level: under simulated nulls (the lesion changes nothing),
a claim passes in at most 7.5% of experiments at a nominal 5%, with 4, 8 and 16 seeds,
paired (every condition shares the seed's parameters: here a large per-seed effect) and
unpaired; and at 16 seeds it is not uselessly conservative (at least 2.5%)."""

import numpy as np
import pandas as pd
import pytest

from experiments.analysis.claims import Claim, check_claim
from experiments.analysis.inference import MIN_UNITS

SIMS = 1000  # the rate's standard error is 0.7 points: the bounds are 3.6 of them away


def _experiment(rng, n, paired, effect=0.0, ratio=False):
    """One simulated experiment's values: intact and lesion over ``n`` seeds each."""
    seed_effect = rng.normal(0, 3, n) + 10.0  # seeds differ far more than the noise
    intact = seed_effect + rng.normal(0, 1, n)
    lesion_base = seed_effect if paired else rng.normal(0, 3, n) + 10.0
    lesion = lesion_base + rng.normal(0, 1, n)
    lesion = lesion * (1 + effect) if ratio else lesion + effect
    lesion_seeds = np.arange(n) if paired else np.arange(n) + 1000
    return pd.DataFrame({
        "condition": ["intact"] * n + ["lesion"] * n,
        "seed": np.r_[np.arange(n), lesion_seeds],
        "metric": "m", "value": np.r_[intact, lesion]})


CLAIMS = {
    "diff > 0": Claim(id="d", experiment="x", kind="confirmatory", claim="", condition="lesion",
                      metric="m", stat="diff", expect=">", value=0.0),
    "ratio > 1": Claim(id="r", experiment="x", kind="confirmatory", claim="",
                       condition="lesion", metric="m", stat="ratio", expect=">", value=1.0),
}


def _pass_rate(claim, n, paired, rng, sims=SIMS):
    return np.mean([check_claim(claim, _experiment(rng, n, paired))["passed"]
                    for _ in range(sims)])


@pytest.mark.parametrize("n", [4, 8, 16])
@pytest.mark.parametrize("paired", [True, False])
def test_claim_checks_hold_their_level_under_the_null(n, paired):
    rate = _pass_rate(CLAIMS["diff > 0"], n, paired, np.random.default_rng(100 * n + paired))
    assert rate <= 0.075, rate
    if n == 16:
        assert rate >= 0.025, rate  # not uselessly conservative where power is possible


def test_ratio_claims_hold_their_level_under_the_null():
    rate = _pass_rate(CLAIMS["ratio > 1"], 8, True, np.random.default_rng(7))
    assert 0.025 <= rate <= 0.075, rate


def test_a_real_paired_effect_is_found_where_an_unpaired_analysis_misses_it():
    rng = np.random.default_rng(3)
    found = np.mean([check_claim(CLAIMS["diff > 0"], _experiment(rng, 8, True, 2.0))["passed"]
                     for _ in range(100)])
    assert found > 0.9, found  # power from pairing: the seeds' spread cancels
    values = _experiment(np.random.default_rng(5), 8, True, 1.5)
    unpaired = values.assign(seed=np.where(values["condition"] == "lesion",
                                           values["seed"] + 1000, values["seed"]))
    assert check_claim(CLAIMS["diff > 0"], values)["p"] < check_claim(
        CLAIMS["diff > 0"], unpaired)["p"]


def test_the_fewest_seeds_tested_is_the_smallest_n_of_the_coverage_study():
    assert MIN_UNITS == 4
    few = _experiment(np.random.default_rng(0), MIN_UNITS - 1, True, 10.0)
    row = check_claim(CLAIMS["diff > 0"], few)
    assert row["passed"] is False and "too few seeds" in row["measured"]
