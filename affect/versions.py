"""The model's versions and the mechanisms that tell them apart (for ablations and manifests).

:data:`MODEL_VERSION` names the frozen model every experiment simulates (recorded in each
run's ``manifest.json``). Version 2 changed the online agent's tags, decision bound and
valuation; every change is a constant of :class:`~affect.deliberation.DeliberationParams`
(the same for every world and every lesion, a traced number that a fit or an ablation
varies) or the online learning rate (``AgentConfig.online_learning_rate``), listed in
:data:`MECHANISMS` with its version-1 value, so that the model of version 1 is
:data:`V1` and an ablation can switch each change alone (:func:`split` tells the
decision constants from the agent's).
PPO training reads none of these constants: the experiments trained with PPO
(foraging, loops, social and the PPO members of the suites) are the same in both
versions.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from affect.deliberation import DeliberationParams
from affect.policy import AgentConfig

MODEL_VERSION = "2"


class Mechanism(NamedTuple):
    """One change of the model: the constants it sets and their version-1 values."""

    name: str
    v1: dict[str, float]  # the constants' values in version 1
    trial: dict[str, float]  # the values an ablation tries (the defaults where adopted)
    adopted: bool  # part of the current version
    source: str

    def describe(self) -> str:
        """``name: v1 -> trial`` in words."""
        change = ", ".join(f"{k} {self.v1[k]:g} -> {self.trial[k]:g}" for k in self.v1)
        return f"{self.name} ({change})"


def _defaults(*names: str) -> dict[str, float]:
    d = DeliberationParams()
    return {n: float(getattr(d, n)) for n in names}


MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism("delta-markers", {"marker_rate": 1.0}, _defaults("marker_rate"), True,
              "tags as delta-rule averages of felt outcomes (Rescorla & Wagner 1972; the "
              "expectancy learners of the IGT, Busemeyer & Stout 2002), not leaky sums"),
    Mechanism("forgetting", {"marker_forget": 0.0}, _defaults("marker_forget"), True,
              "every tag fades each decision, chosen or not (decay-reinforcement, Erev & "
              "Roth 1998; fitted to the IGT by Ahn et al. 2008)"),
    Mechanism("late-collapse", {"urgency_shape": 1.0}, _defaults("urgency_shape"), True,
              "a bound flat at first that collapses later (Drugowitsch et al. 2012; a "
              "delayed Weibull collapse fitted to people, Hawkins et al. 2015)"),
    Mechanism("concave-value", {"value_shape": 1.0}, _defaults("value_shape"), True,
              "diminishing sensitivity of the learner's value of world reward, in units "
              "of the reward spread (Kahneman & Tversky 1979; PVL models of the IGT, "
              "Ahn et al. 2008)"),
    Mechanism("human-anchored", {"marker_weight": 1.0, "online_learning_rate": 3e-4},
              {"marker_weight": DeliberationParams().marker_weight,
               "online_learning_rate": AgentConfig().online_learning_rate}, True,
              "the learning rate and the markers' weight set to the medians fitted to the "
              "527 healthy participants of the IGT calibration set (Steingroever et al. "
              "2015), with the forgetting and the value's curvature (affectlab fit igt "
              "manylabs --free learning_rate,marker_gain,marker_forget,value_shape)"),
    Mechanism("time-cost", {"time_cost": 0.0}, {"time_cost": 0.5}, False,
              "a collapse every agent has, set by the opportunity cost of time (reward "
              "rate; Drugowitsch et al. 2012, Tajima et al. 2016); tried, not adopted"),
)

V1: dict[str, float] = {k: v for m in MECHANISMS for k, v in m.v1.items()}
"""The constants that differ between version 1 and the current one, at their v1 values."""


def variants() -> dict[str, dict[str, float]]:
    """The ablation's variants as :class:`DeliberationParams` overrides: ``v1``, each
    mechanism alone on top of v1 (``+name``), and the current version (``v2``, no
    override) with each rejected mechanism added (``v2+name``)."""
    out = {"v1": dict(V1)}
    for m in MECHANISMS:
        out[f"+{m.name}"] = {**V1, **m.trial}
    out[f"v{MODEL_VERSION}"] = {}
    for m in MECHANISMS:
        if not m.adopted:
            out[f"v{MODEL_VERSION}+{m.name}"] = dict(m.trial)
    return out


def split(overrides: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """A variant's overrides as ``(DeliberationParams fields, AgentConfig fields)``."""
    delib = {f.name for f in dataclasses.fields(DeliberationParams)}
    agent = {f.name for f in dataclasses.fields(AgentConfig)}
    bad = set(overrides) - delib - agent
    if bad:
        raise KeyError(f"unknown model constants {sorted(bad)}")
    return ({k: v for k, v in overrides.items() if k in delib},
            {k: v for k, v in overrides.items() if k in agent})
