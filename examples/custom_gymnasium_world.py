"""The agent in your own Gymnasium environment: one signals function, then the same
lesion experiment, results and figure as for affectlab's worlds.

``Orchard`` is an ordinary Gymnasium environment written by a user: walk along a row of
trees, pick fruit (+1), and avoid the thorn bush at the left end (-1; picking there
hurts). ``orchard_signals`` tells the agent's body what happened: energy from the step
budget, a loss when the thorns hurt, the thorns' proximity as a hazard.

    python examples/custom_gymnasium_world.py --quick --out results/orchard
"""

import argparse

import gymnasium
import numpy as np

import worlds
from affect import Lesion
from affect.ppo import AgentConfig
from experiments.runner import run_experiment
from experiments.spec import ExperimentSpec


class Orchard(gymnasium.Env):
    """Positions 0..5; 0 is the thorn bush. Actions: 0 left, 1 right, 2 pick."""

    metadata = {"render_modes": []}

    def __init__(self, size: int = 6):
        self.size = size
        self.observation_space = gymnasium.spaces.Discrete(size)
        self.action_space = gymnasium.spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = int(self.np_random.integers(1, self.size))
        return self.pos, {"thorns": False}

    def step(self, action):
        if action == 0:
            self.pos = max(self.pos - 1, 0)
        elif action == 1:
            self.pos = min(self.pos + 1, self.size - 1)
        thorns = action == 2 and self.pos == 0
        fruit = action == 2 and self.pos == self.size - 1 and self.np_random.random() < 0.5
        reward = -1.0 if thorns else float(fruit)
        return self.pos, reward, False, False, {"thorns": thorns}


def orchard_signals(step):
    """The body and events of each environment, from the step (numpy, leading env axis)."""
    thorns = np.asarray(step.info.get("thorns", False), bool)
    return {
        "energy": 1.0 - step.t / 50,  # a step budget: 50 steps per episode
        "ate": (np.asarray(step.reward) > 0) * 1.0,
        "loss": thorns * 1.0,
        "hazard": np.clip(1.0 - np.asarray(step.obs) / 2.0, 0.0, 1.0),
    }


def orchard():
    """The world: ``"custom_gymnasium_world:orchard"`` names it in a spec (no registration
    needed), and every worker process rebuilds it from that name."""
    return worlds.from_gymnasium(Orchard, orchard_signals, max_episode_steps=50)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="results/orchard")
    args = parser.parse_args(argv)
    spec = ExperimentSpec(
        name="orchard",
        world="custom_gymnasium_world:orchard",  # this file, importable by the workers
        agent=AgentConfig(num_envs=8, num_steps=32, eval_envs=8),
        conditions=(Lesion("intact"), Lesion("no-frustration", {"frustration": 0.0})),
        seeds=1 if args.quick else 4,
        total_steps=8_192 if args.quick else 100_000,
    )
    out = run_experiment(spec, args.out)
    print(f"wrote {out}/results.csv and {out}/figure.png")


if __name__ == "__main__":
    main()
