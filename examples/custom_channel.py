"""A user-defined affect channel (fear near hazards), composed with the built-in ones and
lesioned like them.

Fear rises when a hazard is near or something hurt, and fades when safe. It is felt as
dread (a small negative reward while afraid), lowers the value prior of frightening
states, urges, and sharpens the policy. Run on ``Corridor-v0`` (whose world reports how
close the pit is): intact vs fear-lesioned agents.

    python examples/custom_channel.py --quick --out results/fear
"""

import argparse

import jax.numpy as jnp
from custom_jax_world import Corridor  # noqa: F401  (registers Corridor-v0)
from flax import struct

from affect import Lesion
from affect.channels import Channel, ChannelOutput, register_channel
from affect.ppo import AgentConfig
from experiments.runner import run_experiment
from experiments.spec import ExperimentSpec


@struct.dataclass
class FearParams:
    decay: float = 0.7  # how much fear is left after a safe step
    pain_weight: float = 1.0  # fear from a loss (something hurt)
    dread: float = 0.1  # felt reward per unit of fear (negative)
    prior: float = 0.5  # value prior -prior * fear


def fear_step(params, fear, signals, learning):
    """One agent, one step (the channel signature every channel has)."""
    threat = jnp.clip(signals.hazard + params.pain_weight * signals.loss, 0.0, 1.0)
    fear = jnp.maximum(params.decay * fear, threat).astype(jnp.float32)
    return fear, ChannelOutput(
        feelings=fear[None],
        reward=(-params.dread * fear).astype(jnp.float32),
        marker=(-params.prior * fear).astype(jnp.float32),
        urgency=fear,
        log_temperature=(-0.5 * fear).astype(jnp.float32),
        log_discount=jnp.zeros((), jnp.float32),
    )


FEAR = register_channel(
    Channel(
        name="fear",
        num_features=1,
        default_params=FearParams,
        init=lambda params: jnp.zeros((), jnp.float32),
        step=fear_step,
        doc="fear near hazards (an example of a user channel)",
    )
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="results/fear")
    args = parser.parse_args(argv)
    spec = ExperimentSpec(
        name="fear",
        world="Corridor-v0",
        agent=AgentConfig(affect_channels=AgentConfig().affect_channels + ("fear",)),
        conditions=(
            Lesion("intact"),
            Lesion("fear-lesion", {"fear": 0.0}),
            Lesion("no-fear-marker", {"fear": {"marker": 0.0}}),
        ),
        seeds=2 if args.quick else 8,
        total_steps=20_000 if args.quick else 200_000,
    )
    out = run_experiment(spec, args.out)
    print(f"wrote {out}/results.csv and {out}/figure.png")


if __name__ == "__main__":
    main()
