"""affectlab worlds: pure-JAX environments with one functional contract.

``worlds.make("Foraging-v0") -> (world, params)``; importing this package also
registers the Gymnasium ids (``gymnasium.make("affectlab/Foraging-v0")``).
"""

from worlds.base import World
from worlds.choice import Choice, ChoiceParams, ChoiceState
from worlds.commons import Commons, CommonsParams, CommonsState
from worlds.detour import DETOUR_HELD_OUT_MAP, Detour, DetourParams, DetourState
from worlds.foraging import Foraging, ForagingParams, ForagingState
from worlds.gymnasium_world import GymnasiumWorld, GymStep, from_gymnasium
from worlds.iowa import CONSTANT_C, IowaGambling, IowaParams, IowaState
from worlds.layouts import Layout, parse_layout
from worlds.registry import REGISTRY, check_world_id, make, register, registered
from worlds.shadowing import check_not_shadowed
from worlds.signals import Signals

check_not_shadowed()

register("Foraging-v0", Foraging, doc="gridworld foraging under scarcity")
register(
    "ForagingAbundant-v0",
    lambda **kw: Foraging(variant="abundant", **kw),
    doc="foraging with abundant food and a cost for eating past satiety",
)
register("Choice-v0", Choice, doc="repeated choice among k items; equal/unequal trials; deadline")
register("Commons-v0", Commons, doc="shared regrowing food; share, take, standing; N agents")
register("IowaGambling-v0", IowaGambling, doc="four-deck Iowa Gambling Task, Bechara 1994 schedule")
register("IowaGamblingShuffled-v0", IowaGambling,
         params=lambda w: IowaParams(losses=CONSTANT_C, shuffle=True),
         doc="IGT payoff scheme 2: deck C's losses all $50, each block of ten cards shuffled")
register("Detour-v0", Detour,
         doc="goal behind a wall; deceptive gradient; levers that undo each other")
register("DetourHeldOut-v0", lambda **kw: Detour(layout=DETOUR_HELD_OUT_MAP, **kw),
         doc="Detour with a held-out layout (the way round starts downwards)")

from worlds import gym_face as _gym_face  # noqa: E402  (registers gymnasium ids)

_gym_face.register_gymnasium_ids()

__all__ = [
    "World",
    "Choice",
    "ChoiceParams",
    "ChoiceState",
    "Commons",
    "CommonsParams",
    "CommonsState",
    "Detour",
    "DetourParams",
    "DetourState",
    "Foraging",
    "ForagingParams",
    "ForagingState",
    "GymnasiumWorld",
    "GymStep",
    "from_gymnasium",
    "IowaGambling",
    "IowaParams",
    "IowaState",
    "Layout",
    "parse_layout",
    "Signals",
    "REGISTRY",
    "check_world_id",
    "make",
    "register",
    "registered",
]
