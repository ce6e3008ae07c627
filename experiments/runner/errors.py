"""The runner's error."""


class RunnerError(RuntimeError):
    """A job failed or timed out, a worker died, or another run holds the output folder."""
