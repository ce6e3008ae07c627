"""affectlab experiments: specs, runner, tidy results, statistics, figures and the CLI."""

import affect  # noqa: F401  (first: a shadowed worlds/ stops here with one sentence)
from worlds.shadowing import check_not_shadowed

check_not_shadowed()
