"""A custom JAX world in a few lines, registered and lesioned from a script.

``Corridor-v0``: a 1-D corridor. The agent starts in the middle; the right end holds
food (reward 1, the episode ends), the left end is a pit (the agent dies). Every step
costs energy, so a slow agent starves at the time limit's end. The world reports the
body and a ``hazard`` signal (how close the pit is), never a feeling.

    python examples/custom_jax_world.py --quick --out results/corridor
"""

import argparse

import jax
import jax.numpy as jnp
from flax import struct

import worlds
from affect import Lesion
from experiments.runner import run_experiment
from experiments.spec import ExperimentSpec
from worlds.signals import Signals


@struct.dataclass
class CorridorParams:
    step_cost: float = 0.05  # energy per step
    time_limit: int = 30


@struct.dataclass
class CorridorState:
    pos: jnp.ndarray  # (1,) int32
    energy: jnp.ndarray  # (1,) f32
    t: jnp.ndarray  # () int32
    signals: Signals


class Corridor(worlds.World):
    """Actions: 0 left, 1 right. Observation: one-hot position, then energy."""

    num_agents = 1
    num_actions = 2

    def __init__(self, length: int = 7):
        self.length = length
        self.obs_shape = (length + 1,)

    def default_params(self):
        return CorridorParams()

    def observe(self, state, params=None):
        """Where the agent is (one-hot) and its energy."""
        where = jax.nn.one_hot(state.pos, self.length)
        return jnp.concatenate([where, state.energy[:, None]], axis=1)

    def _hazard(self, pos):
        return jnp.clip(1.0 - pos / 3.0, 0.0, 1.0)  # 1 at the pit, 0 three cells away

    def reset_env(self, key, params):
        pos = jnp.full((1,), self.length // 2, jnp.int32)
        energy = jnp.ones((1,), jnp.float32)
        sig = Signals.of(energy, hazard=self._hazard(pos))
        state = CorridorState(pos, energy, jnp.zeros((), jnp.int32), sig)
        return self.observe(state), state

    def step_env(self, key, state, action, params):
        pos = jnp.clip(state.pos + jnp.where(action.reshape(1) == 1, 1, -1), 0, self.length - 1)
        fell, fed = pos == 0, pos == self.length - 1
        energy = jnp.clip(state.energy - params.step_cost, 0.0, 1.0)
        starved = fell | (energy <= 0)
        sig = Signals.of(energy, energy_prev=state.energy, ate=fed * 1.0, starved=starved,
                         loss=fell * 1.0, hazard=self._hazard(pos))
        t = state.t + 1
        new = CorridorState(pos, energy, t, sig)
        reward = fed.astype(jnp.float32)
        truncated = jnp.broadcast_to(t >= params.time_limit, (1,))
        return self.observe(new), new, reward, starved | fed, truncated, {}


worlds.register("Corridor-v0", Corridor, doc="1-D corridor: food to the right, a pit to the left")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds of training")
    parser.add_argument("--out", default="results/corridor")
    args = parser.parse_args(argv)
    spec = ExperimentSpec(
        name="corridor",
        world="Corridor-v0",
        conditions=(Lesion("intact"), Lesion("no-hunger", {"hunger": 0.0})),
        seeds=2 if args.quick else 8,
        total_steps=20_000 if args.quick else 200_000,
    )
    out = run_experiment(spec, args.out)
    print(f"wrote {out}/results.csv and {out}/figure.png")


if __name__ == "__main__":
    main()
