"""Train an agent, save it, load it, and evaluate it (intact and lesioned) in another
world with the same observation size; a world that does not fit gives a clear error.

    python examples/save_and_load.py --quick --out agents/forager
"""

import argparse

import jax
import numpy as np

from affect import Lesion
from affect.agent import evaluate_agent, load_agent, save_agent, train_agent
from affect.ppo import AgentConfig


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="agents/forager")
    args = parser.parse_args(argv)
    config = AgentConfig(num_envs=16, total_steps=16_384 if args.quick else 1_000_000)
    agent, metrics = train_agent("Foraging-v0", seed=0, config=config)
    print(f"trained: eval return {metrics['eval/episode_return']:.2f}")
    path = save_agent(agent, args.out)
    loaded = load_agent(path)
    obs = np.zeros((4, loaded.obs_dim), np.float32)
    key = jax.random.PRNGKey(0)
    assert (np.asarray(agent.act(key, obs)) == np.asarray(loaded.act(key, obs))).all()
    for lesion in (Lesion("intact"), Lesion("no-hunger", {"hunger": 0.0}, onset="acquired")):
        m = evaluate_agent(loaded, "ForagingAbundant-v0", lesion, episodes=16)
        print(f"ForagingAbundant-v0, {lesion.name}: return {m['eval/episode_return']:.2f}, "
              f"survival {m['eval/survival']:.2f}")
    try:
        evaluate_agent(loaded, "Choice-v0")
    except ValueError as err:
        print(f"Choice-v0 does not fit: {err}")


if __name__ == "__main__":
    main()
