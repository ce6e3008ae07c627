"""ASCII layouts: maps are data, injected into a world apart from its dynamics.

Characters: ``#`` wall, ``.`` floor, ``F`` a food spot (floor where food grows),
``A`` a floor cell where agents may start (if no ``A`` is drawn, any free floor cell
that is not a food spot is a start cell).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WALL, FLOOR, FOOD, START = "#", ".", "F", "A"
_ALLOWED = {WALL, FLOOR, FOOD, START}


@dataclass(frozen=True)
class Layout:
    """A parsed map. Arrays are host numpy (static for the compiled world).

    Attributes:
        walls: bool (H, W), True where a wall stands.
        food_spots: int32 (F, 2), row/col of each food spot.
        start_cells: int32 (S, 2), row/col of each cell an agent may start on.
        text: the ASCII source.
    """

    walls: np.ndarray
    food_spots: np.ndarray
    start_cells: np.ndarray
    text: str

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` of the map."""
        return self.walls.shape


def parse_layout(text: str) -> Layout:
    """Parse an ASCII map into a :class:`Layout`.

    Raises:
        ValueError: ragged rows, unknown characters, an open border, no food spot or
            no start cell.
    """
    rows = [line.strip() for line in text.strip("\n").splitlines() if line.strip()]
    if not rows:
        raise ValueError("layout is empty")
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"layout row {i} has {len(row)} characters, row 0 has {width}")
        bad = set(row) - _ALLOWED
        if bad:
            raise ValueError(
                f"layout row {i} has unknown characters {sorted(bad)}; allowed: "
                f"'#' wall, '.' floor, 'F' food spot, 'A' start cell"
            )
    grid = np.array([list(r) for r in rows])
    border = np.concatenate([grid[0], grid[-1], grid[:, 0], grid[:, -1]])
    if np.any(border != WALL):
        raise ValueError("layout must be enclosed by walls ('#') on every border cell")
    food = np.argwhere(grid == FOOD).astype(np.int32)
    if len(food) == 0:
        raise ValueError("layout has no food spot ('F')")
    starts = np.argwhere(grid == START)
    if len(starts) == 0:
        starts = np.argwhere(grid == FLOOR)
    if len(starts) == 0:
        raise ValueError("layout has no free cell for an agent to start on")
    return Layout(
        walls=grid == WALL,
        food_spots=food,
        start_cells=starts.astype(np.int32),
        text="\n".join(rows),
    )


FORAGING_DEFAULT = """
#########
#F.....F#
#.......#
#..#.#..#
#...F...#
#..#.#..#
#.......#
#F.....F#
#########
"""

FORAGING_ABUNDANT = """
#########
#F..F..F#
#.......#
#F.#.#.F#
#...F...#
#F.#.#.F#
#.......#
#F..F..F#
#########
"""
