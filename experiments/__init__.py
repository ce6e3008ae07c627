"""affectlab experiments: specs, runner, tidy results, statistics, figures and the CLI."""
