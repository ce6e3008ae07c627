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


def _online_agent(world_id: str, total_steps: int):
    """``(world, params, static, net)`` of the default agent in online mode (seed 0)."""
    from affect.networks import init_params
    from affect.ppo import AgentConfig, input_dim, make_static

    world, params = worlds.make(world_id)
    cfg = AgentConfig(total_steps=total_steps, num_envs=1, num_steps=1, num_minibatches=1)
    static = make_static(world, cfg)
    net = init_params(static.network, jax.random.PRNGKey(0), input_dim(static))
    return world, params, static, net


@pytest.fixture(scope="session")
def online_agent():
    """A factory: ``online_agent(world_id, total_steps) -> (world, params, static, net)``."""
    return _online_agent
