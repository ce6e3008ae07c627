"""The lesion matrix: harm is oriented per task, needed channels and double dissociations
are found, the catalogued suites are valid."""

import dataclasses

import numpy as np
import pandas as pd

from experiments.analysis.tables import per_run
from experiments.estimate import seconds_of
from experiments.suites import SUITES
from experiments.suites.lesion_matrix import (
    condition_name,
    dissociations,
    effects_table,
    matrix_values,
    parse_condition,
)


def _write(d, metric, values_by_condition):
    d.mkdir()
    rows = []
    for cond, vals in values_by_condition.items():
        for seed, v in enumerate(vals):
            rows.append({"condition": cond, "seed": seed, "step": 100, "metric": metric,
                         "value": v})
    pd.DataFrame(rows).to_csv(d / "results.csv", index=False)
    return d


def test_needed_channels_and_a_double_dissociation(tmp_path):
    rng = np.random.default_rng(0)
    noise = lambda: rng.normal(0, 0.1, 12)  # noqa: E731
    # paralysis: lower ticks are better; frustration lesion slows, hunger does nothing
    par = _write(tmp_path / "paralysis", "test/ticks_equal", {
        "intact": 10 + noise(), "frustration@0": 30 + noise(), "hunger@0": 10 + noise()})
    # gambling: higher is better; hunger lesion hurts, frustration does nothing
    gam = _write(tmp_path / "gambling", "test/net_score_late", {
        "intact": 20 + noise(), "frustration@0": 20 + noise(), "hunger@0": 5 + noise()})
    eff = effects_table(matrix_values({"paralysis": par, "gambling": gam}))
    get = lambda t, c: eff[(eff.task == t) & (eff.condition == c)].iloc[0]  # noqa: E731
    assert get("paralysis", "frustration@0")["harm_g"] > 0  # slower = worse
    assert get("gambling", "hunger@0")["harm_g"] > 0  # lower score = worse
    assert bool(get("paralysis", "frustration@0")["needed"])
    assert not bool(get("paralysis", "hunger@0")["needed"])
    lines = dissociations(eff)
    assert "  frustration: paralysis" in lines and "  hunger: gambling" in lines
    assert "  hunger (gambling) / frustration (paralysis)" in lines or \
        "  frustration (paralysis) / hunger (gambling)" in lines


def test_condition_names_round_trip():
    for c, g, o in [("hunger", 0.25, "acquired"), ("social", 0.0, "developmental")]:
        assert parse_condition(condition_name(c, g, o)) == (c, g, o)
    assert parse_condition("intact") is None


def test_per_run_late_and_mean():
    df = pd.DataFrame({"condition": ["a"] * 4, "seed": [0] * 4, "step": [1, 2, 3, 4],
                       "metric": ["m"] * 4, "value": [0.0, 0.0, 0.0, 4.0]})
    assert per_run(df, "m", "mean")["value"].iloc[0] == 1.0
    assert per_run(df, "m", "late")["value"].iloc[0] == 4.0  # last quarter of steps


def test_catalogued_suites_validate():
    suites = SUITES
    assert {"lesion-matrix"} <= set(suites)
    for make in suites.values():
        for quick in (True, False):
            suite = make(quick).validate()
            assert suite.members


def test_a_suite_runs_its_cheapest_members_first(tmp_path, monkeypatch):
    """The full lesion matrix's online members (minutes) run before its trained ones
    (hours), so an interrupted run has finished as many members as it could; the report
    still gets every member's folder under its label (the call is recorded here)."""
    from experiments.suites import SUITES
    from experiments.suites import base as suites_base

    suite = SUITES["lesion-matrix"](False)
    ran, seen, per_job = [], {}, []

    def record(spec, out, **kw):
        ran.append(spec.work())
        per_job.append(kw.get("seeds_per_job"))
        return out

    monkeypatch.setattr(suites_base, "run_experiment", record)
    monkeypatch.setattr(suites_base, "write_run_claims", lambda *a, **k: None)
    suite = dataclasses.replace(suite, report=lambda out, dirs: seen.update(dirs))
    suites_base.run_suite(suite, tmp_path / "m", progress=False)
    assert ran == sorted(ran) and len(ran) == len(suite.members)
    assert ran[-1] > 100 * ran[0]  # a trained member after the online ones
    assert list(seen) == [label for label, _ in suite.members]
    assert all(seen[label] == tmp_path / "m" / label for label in seen)
    # by expected time where the catalogue's rates say it: Commons steps cost more than
    # Foraging's, so the foraging member (more work) runs before the social one
    ran.clear()
    cost = seconds_of(False)
    suites_base.run_suite(suite, tmp_path / "m2", progress=False, cost=cost, seeds_per_job=5)
    assert per_job[-len(suite.members):] == [5] * len(suite.members)
    by_work = {spec.work(): label for label, spec in suite.members}
    assert [by_work[w] for w in ran][-2:] == ["foraging", "social"]
    assert [cost(dict(suite.members)[by_work[w]]) for w in ran] == sorted(
        cost(spec) for _, spec in suite.members)


def test_the_figure_has_a_heat_map_per_onset_and_a_dose_panel_per_task(tmp_path):
    """Five tasks: two heat maps (full lesions, ``*`` exactly where the paired CI excludes
    0) and five dose-response panels, one colour per channel in every panel."""
    from experiments.suites.lesion_matrix import HEADLINES, graded_lesions, matrix_figure

    rng = np.random.default_rng(3)
    dirs = {}
    for task, (_, heads) in HEADLINES.items():
        runs = {}
        for lesion in graded_lesions(["hunger", "frustration"], gains=(0.0, 0.5),
                                     acquired_gains=(0.0,)):
            shift = 3.0 if lesion.name == "hunger@0" else 0.0
            runs[lesion.name] = 10 + shift + rng.normal(0, 0.5, 8)
        metrics = dict.fromkeys(h.metric for h in heads.values())
        d = tmp_path / task
        d.mkdir()
        frames = [pd.DataFrame({"condition": c, "seed": np.arange(8), "step": 1,
                                "metric": m, "value": v})
                  for m in metrics for c, v in runs.items()]
        pd.concat(frames).to_csv(d / "results.csv", index=False)
        dirs[task] = d
    effects = effects_table(matrix_values(dirs))
    fig = matrix_figure(effects)
    titles = [ax.get_title() for ax in fig.axes]
    for onset in ("developmental", "acquired"):
        assert any(t.startswith(f"Full lesion, {onset}") for t in titles)
    assert sum(t.split(":")[0] in HEADLINES for t in titles) == len(HEADLINES)
    heat = next(ax for ax in fig.axes if ax.get_title().startswith("Full lesion, dev"))
    starred = sorted(t.get_text() for t in heat.texts if t.get_text().endswith("*"))
    full = effects[(effects.gain == 0) & (effects.onset == "developmental")]
    beyond = full[(full.harm_low > 0) | (full.harm_high < 0)]
    assert len(starred) == len(beyond) >= 1
    dose = next(ax for ax in fig.axes if ax.get_title().startswith("paralysis:"))
    colours = {ln.get_label().split(",")[0]: ln.get_color() for ln in dose.lines
               if "," in ln.get_label()}
    assert len(set(colours.values())) == len(colours) == 2
    only = matrix_figure(effects[effects.onset == "developmental"])  # no acquired lesions
    assert [ax.get_title() for ax in only.axes].count(heat.get_title()) == 1
    assert not any(ax.get_title().startswith("Full lesion, acq") for ax in only.axes)
