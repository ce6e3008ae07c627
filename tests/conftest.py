import jax
import pytest

import affect  # noqa: F401  (registers channels)
import worlds  # noqa: F401  (registers worlds)

SMALL_MAP = """
#####
#F.A#
#.#.#
#..F#
#####
"""


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)
