"""A registry of worlds as a dict of ``Name-vN`` ids.

``make("Foraging-v0")`` returns ``(world, params)``. An unknown id raises a
``KeyError`` naming the closest registered ids.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from worlds.base import World

_ID = re.compile(r"^[A-Z][A-Za-z0-9]*-v\d+$")


@dataclass(frozen=True)
class WorldSpec:
    """How to build a registered world.

    Attributes:
        id: ``Name-vN``.
        factory: called with the keyword arguments of :func:`make`; returns a world.
        params: called with the world; returns its default params for this id.
        doc: one line for listings.
    """

    id: str
    factory: Callable[..., World]
    params: Callable[[World], Any]
    doc: str = ""


REGISTRY: dict[str, WorldSpec] = {}


def register(
    world_id: str,
    factory: Callable[..., World],
    params: Callable[[World], Any] | None = None,
    doc: str = "",
) -> None:
    """Register a world under ``Name-vN``.

    Raises:
        ValueError: the id is not of the form ``Name-vN`` or is already taken.
    """
    if not _ID.match(world_id):
        raise ValueError(f"world id {world_id!r} must look like 'Name-vN' (e.g. 'Foraging-v0')")
    if world_id in REGISTRY:
        raise ValueError(f"world id {world_id!r} is already registered")
    REGISTRY[world_id] = WorldSpec(world_id, factory, params or (lambda w: w.default_params()), doc)


def check_world_id(world_id: str) -> WorldSpec:
    """Return the spec of a registered id, or raise ``KeyError`` with suggestions."""
    if world_id in REGISTRY:
        return REGISTRY[world_id]
    close = difflib.get_close_matches(world_id, list(REGISTRY), n=3, cutoff=0.4)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise KeyError(
        f"unknown world id {world_id!r}.{hint} Registered: {', '.join(sorted(REGISTRY))}"
    )


def make(world_id: str, **kwargs: Any) -> tuple[World, Any]:
    """Build a registered world and its default params."""
    spec = check_world_id(world_id)
    world = spec.factory(**kwargs)
    return world, spec.params(world)


def registered() -> list[str]:
    """The registered world ids, sorted."""
    return sorted(REGISTRY)
