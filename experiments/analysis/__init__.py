"""Statistics, tables, plots and claim checks: functions that read results, never run them.

* :mod:`experiments.analysis.stats`: bootstrap intervals, effect sizes, permutation tests
  (numpy only, seeded, deterministic);
* :mod:`experiments.analysis.tables`: tidy per-run values and the statistics table that
  compares every condition with intact;
* :mod:`experiments.analysis.plots`: figures (seaborn on a matplotlib ``Figure``, saved
  as PNG and PDF);
* :mod:`experiments.analysis.claims`: the claims of ``claims.toml``, checked on a
  statistics table.
"""
