"""A registry of worlds as a dict of ``Name-vN`` ids, and worlds named by where they live.

``make("Foraging-v0")`` returns ``(world, params)``. An unknown id raises a
``KeyError`` naming the closest registered ids.

A world may also be named ``"module:attribute"`` (e.g. ``"my_worlds:make_cliff"``): the
module is imported (from the Python path, or else the current folder) and the attribute
is a world or a function that returns one. Such a name needs no registration, and a
worker process rebuilds the world from it, so experiments on it run on every core.
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from worlds.base import World

_ID = re.compile(r"^[A-Z][A-Za-z0-9]*-v\d+$")
_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


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


def is_reference(world_id) -> bool:
    """Whether ``world_id`` names a world by ``"module:attribute"``."""
    return isinstance(world_id, str) and bool(_REF.match(world_id))


def _import(module: str, ref: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        here = os.getcwd()
        top = module.split(".")[0]
        if e.name != top or here in sys.path:
            raise KeyError(f"world {ref!r}: importing {module!r} failed: {e}") from None
    sys.path.append(here)  # after affectlab's own packages, which it cannot shadow
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        raise KeyError(f"world {ref!r}: no module {module!r} on the Python path or in the "
                       f"current folder {here} ({e})") from None


def _reference(ref: str) -> WorldSpec:
    module, attr = ref.split(":")
    obj = _import(module, ref)
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise KeyError(f"world {ref!r}: module {module!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not isinstance(obj, World) and not callable(obj):
        raise KeyError(f"world {ref!r} is a {type(obj).__name__}: name a world or a function "
                       "that returns one")

    def build(**kwargs):
        if isinstance(obj, World) and kwargs:
            raise TypeError(f"world {ref!r} is a built world: it takes no arguments "
                            f"(got {sorted(kwargs)})")
        built = obj if isinstance(obj, World) else obj(**kwargs)
        if not isinstance(built, World):
            raise TypeError(f"world {ref!r} returned a {type(built).__name__}, not a "
                            "worlds.World (build it with worlds.from_gymnasium or subclass "
                            "worlds.World)")
        return built

    build.__module__ = module  # what a worker imports to rebuild it
    return WorldSpec(ref, build, lambda w: w.default_params(), f"{module}.{attr}")


def check_world_id(world_id: str) -> WorldSpec:
    """Return the spec of a registered id or of a ``"module:attribute"`` reference, or
    raise ``KeyError`` with suggestions."""
    if world_id in REGISTRY:
        return REGISTRY[world_id]
    if is_reference(world_id):
        return _reference(world_id)
    close = difflib.get_close_matches(world_id, list(REGISTRY), n=3, cutoff=0.4)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise KeyError(
        f"unknown world id {world_id!r}.{hint} Registered: {', '.join(sorted(REGISTRY))} "
        "(or name your own as 'module:function')"
    )


def make(world_id: str, **kwargs: Any) -> tuple[World, Any]:
    """Build a registered world and its default params."""
    spec = check_world_id(world_id)
    world = spec.factory(**kwargs)
    return world, spec.params(world)


def registered() -> list[str]:
    """The registered world ids, sorted."""
    return sorted(REGISTRY)
