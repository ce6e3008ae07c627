"""Stops the import of ``affect`` with one sentence when a folder of the user's shadows
``worlds`` (or ``experiments``): see :mod:`worlds.shadowing`."""

try:
    from worlds.shadowing import check_not_shadowed
except ImportError:  # a `worlds` that is not affectlab's: say which folder it is
    import importlib.util as _util
    from pathlib import Path as _Path

    _spec = _util.find_spec("worlds")
    _where = next(iter(_spec.submodule_search_locations or [])) if _spec else "?"
    _ours = _Path(__file__).resolve().parent.parent / "worlds"
    raise ImportError(f"the folder {_where} shadows affectlab's `worlds` package "
                      f"(affectlab's is {_ours}): rename that folder, or run from another "
                      "working directory") from None
check_not_shadowed()
