"""Parameter grids: each family declares its own (GameFamily.grids, "paper" being the GLEE
paper's: 384 bargaining, 576 negotiation, 360 persuasion configurations); this expands them."""

from __future__ import annotations

from itertools import product
from typing import Any

from glee.games.registry import Grid, family


def expand(grid: Grid) -> list[dict[str, Any]]:
    """Every combination of a grid, in a stable order (the last key varies fastest)."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in product(*(grid[k] for k in keys))]


def paper_grid_of(name: str) -> Grid:
    """The GLEE paper's grid of family `name` (parameter -> levels)."""
    return dict(family(name).grids["paper"])


def paper_grid(name: str) -> list[dict[str, Any]]:
    """The configurations of the GLEE paper for family `name`, as parameter dicts."""
    return expand(paper_grid_of(name))
