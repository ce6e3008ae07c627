"""One clear sentence when a folder of the user's shadows one of affectlab's packages.

affectlab's top-level packages have plain names (``worlds``, ``affect``,
``experiments``). A user whose working folder (or script folder) holds a package of the
same name would otherwise import it instead of affectlab's and meet a baffling error
later (e.g. "unknown world id 'Foraging-v0'. Registered:" with an empty list). Each of
the three packages checks, when imported, that the other two resolve next to it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

PACKAGES = ("worlds", "affect", "experiments")
ROOT = Path(__file__).resolve().parent.parent  # the folder that holds affectlab's packages


class ShadowedPackageError(ImportError):
    """A package of affectlab resolves to a folder outside affectlab."""


def location(name: str) -> Path | None:
    """The folder the package ``name`` is (or would be) imported from; ``None`` if none."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).resolve()
    return Path(spec.origin).resolve().parent if spec.origin else None


def message(name: str, where: Path) -> str:
    """The sentence that says which folder shadows which package."""
    return (f"the folder {where} shadows affectlab's `{name}` package (affectlab's is "
            f"{ROOT / name}): rename that folder, or run from another working directory")


def check_not_shadowed() -> None:
    """Raise :class:`ShadowedPackageError` if ``worlds``, ``affect`` or ``experiments``
    resolves to a folder other than affectlab's own."""
    for name in PACKAGES:
        where = location(name)
        if where is not None and where != ROOT / name:
            raise ShadowedPackageError(message(name, where))
