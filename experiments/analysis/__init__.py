"""Statistics, tables, plots and claim checks: functions that read results, never run them.

* :mod:`experiments.analysis.stats`: bootstrap intervals, effect sizes, permutation tests
  (numpy only, seeded, deterministic);
* :mod:`experiments.analysis.inference`: paired t intervals, sign-flip tests, Fieller's
  ratio interval, equivalence tests, Clopper-Pearson bounds, Holm's adjustment, power;
* :mod:`experiments.analysis.tables`: tidy per-run values and the statistics table that
  compares every condition with intact (paired over seeds);
* :mod:`experiments.analysis.plots`: figures (seaborn on a matplotlib ``Figure``, saved
  as PNG and PDF);
* :mod:`experiments.analysis.claims`: the claims of ``claims.toml``, tested on a run's
  per-run values;
* :mod:`experiments.analysis.power`: the seeds each claim needs, from a pilot run.
"""
