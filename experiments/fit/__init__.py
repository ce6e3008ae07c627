"""Fitting models to human choices: data, models, replay likelihoods, fits, recovery."""
