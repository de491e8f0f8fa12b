"""The paper's parameter grids (GAMES.md): 384 bargaining, 576 negotiation, 360 persuasion."""

from __future__ import annotations

from itertools import product
from typing import Any

from glee.games.base import Family

GRIDS: dict[Family, dict[str, list[Any]]] = {
    "bargaining": {
        "delta_1": [0.8, 0.9, 0.95, 1.0],
        "delta_2": [0.8, 0.9, 0.95, 1.0],
        "money": [100, 10_000, 1_000_000],
        "max_rounds": [12, 99],
        "complete_information": [True, False],
        "messages_allowed": [True, False],
    },
    "negotiation": {
        "seller_value": [0.8, 1.0, 1.2, 1.5],
        "buyer_value": [0.8, 1.0, 1.2, 1.5],
        "price_scale": [100, 10_000, 1_000_000],
        "max_rounds": [1, 10, 30],
        "complete_information": [True, False],
        "messages_allowed": [True, False],
    },
    "persuasion": {
        "price": [100, 10_000, 1_000_000],
        "v": [1.2, 1.25, 2.0, 3.0, 4.0],
        "p": [1 / 3, 0.5, 0.8],
        "seller_knows_buyer_values": [True, False],
        "seller_message_type": ["text", "binary"],
        "myopic_buyer": [True, False],
    },
}


def expand(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid, in a stable order (the last key varies fastest)."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in product(*(grid[k] for k in keys))]


def paper_grid(family: Family) -> list[dict[str, Any]]:
    """The configurations of the GLEE paper for `family`, as parameter dicts."""
    return expand(GRIDS[family])
