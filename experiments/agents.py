"""Trained agents: the final network parameters of every run, saved next to the results.

The runner writes ``agents.npz`` into the output folder of every PPO experiment: one
array per parameter, named by its path in the parameter tree (``params/Dense_0/kernel``),
with leading axes ``(seeds, conditions)`` (then ``agents`` where every agent of a
multi-agent world has its own network), plus ``seeds`` and ``conditions``.

    from experiments.agents import load_agents

    agents = load_agents("results/social-quick")
    params = agents.run(seed=3, condition="intact")   # one run's parameters
    static, world_params, affect_params = agents.setup()  # what they were trained in
    agent = agents.agent(seed=3, condition="intact")  # an affect.agent.Agent

    from affect.agent import evaluate_agent
    evaluate_agent(agent, "Commons-v0")

The parameters plug into :func:`affect.ppo.policy_value` and
:func:`affect.ppo.make_evaluate` with the static setup of the spec they were trained
under (the spec is read from the folder's manifest).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax.core import unfreeze
from flax.traverse_util import flatten_dict, unflatten_dict

from affect.agent import Agent
from affect.ppo import make_static
from affect.storage import atomic_savez
from experiments.spec import ExperimentSpec

SEP = "/"


def flatten_params(tree) -> dict[str, Any]:
    """A parameter tree (nested dicts) as ``{"a/b/c": leaf}``."""
    return flatten_dict(unfreeze(tree), sep=SEP)


def unflatten_params(flat: dict[str, Any]) -> dict:
    """The inverse of :func:`flatten_params`."""
    return unflatten_dict(flat, sep=SEP)


def write_agents(path: Path, spec: ExperimentSpec, results: list[dict[str, Any]]) -> None:
    """Write the jobs' final parameters, in seed order, atomically to ``path``."""
    results = sorted(results, key=lambda r: r["seeds"][0])
    names = results[0]["agents"].keys()
    arrays = {f"p::{k}": np.concatenate([r["agents"][k] for r in results]) for k in names}
    arrays["seeds"] = np.asarray([s for r in results for s in r["seeds"]])
    arrays["conditions"] = np.asarray([c.name for c in spec.conditions])
    atomic_savez(path, arrays)


@dataclasses.dataclass(frozen=True)
class Agents:
    """The trained agents of one finished run folder."""

    spec: ExperimentSpec
    seeds: tuple[int, ...]
    conditions: tuple[str, ...]
    params: dict  # parameter tree, leaves (seeds, conditions, ...)

    def index(self, seed: int, condition: str) -> tuple[int, int]:
        """``(seed index, condition index)`` of one run; a ``KeyError`` naming the run's
        seeds or conditions otherwise."""
        if seed not in self.seeds:
            raise KeyError(f"seed {seed} is not in this run (seeds: {list(self.seeds)})")
        if condition not in self.conditions:
            raise KeyError(f"condition {condition!r} is not in this run "
                           f"(conditions: {list(self.conditions)})")
        return self.seeds.index(seed), self.conditions.index(condition)

    def run(self, seed: int, condition: str) -> dict:
        """One run's parameters (what ``train`` ended with for this seed and condition)."""
        s, c = self.index(seed, condition)
        return jax.tree_util.tree_map(lambda x: x[s, c], self.params)

    def agent(self, seed: int, condition: str):
        """One run's agent as an :class:`affect.agent.Agent` (for ``evaluate_agent``,
        ``save_agent``, or your own world of the same observation size)."""
        static, _, affect_params = self.setup()
        return Agent(self.spec.agent_config(), int(np.prod(static.world.obs_shape)),
                     static.world.num_actions, self.run(seed, condition), affect_params,
                     f"{self.spec.world} ({self.spec.name}, seed {seed}, {condition})")

    def setup(self):
        """``(static, world_params, affect_params)`` of the spec the agents were trained
        under, for :func:`affect.ppo.make_evaluate` and :func:`affect.ppo.policy_value`."""
        world, world_params = self.spec.make_world()
        static = make_static(world, self.spec.agent_config())
        return static, world_params, static.module.default_params()


def load_agents(run_dir: str | Path) -> Agents:
    """The agents of a finished run folder (``agents.npz`` and ``manifest.json``)."""
    run_dir = Path(run_dir)
    path = run_dir / "agents.npz"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: trained agents are saved by every PPO experiment (JAX "
            "and Gymnasium worlds) since 2026-12-02; online sessions (paralysis, gambling) "
            "keep none. Run it again with --fresh to get them")
    spec = ExperimentSpec.from_dict(json.loads((run_dir / "manifest.json").read_text())["spec"])
    with np.load(path) as z:
        flat = {k[3:]: z[k] for k in z.files if k.startswith("p::")}
        seeds = tuple(int(s) for s in z["seeds"])
        conditions = tuple(str(c) for c in z["conditions"])
    return Agents(spec, seeds, conditions, unflatten_params(flat))
