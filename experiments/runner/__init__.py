"""The runner: validated spec -> jobs -> tidy results, manifest, report.

* :mod:`~experiments.runner.run`: :func:`run_experiment`, the entry point;
* :mod:`~experiments.runner.jobs`: one job (seeds x conditions in one compiled program);
* :mod:`~experiments.runner.pool`: worker processes and timeouts;
* :mod:`~experiments.runner.monitor`: the progress line, reruns of lost jobs, failures;
* :mod:`~experiments.runner.store`: the staging folder (finished jobs, journal, lock);
* :mod:`~experiments.runner.results`: the tidy results table and the manifest.
"""

from experiments.runner.errors import RunnerError
from experiments.runner.jobs import run_job
from experiments.runner.pool import keep_workers
from experiments.runner.results import tidy
from experiments.runner.run import check_out_dir, check_spec, run_experiment, spec_summary

__all__ = ["RunnerError", "check_out_dir", "check_spec", "keep_workers", "run_experiment",
           "run_job", "spec_summary", "tidy"]
