"""The rules of the game families: pure, deterministic, serializable.

Families are registered (glee.games.registry), not listed here: glee's own three and any
installed through the `glee.families` entry point group.
"""

from __future__ import annotations

from typing import Any

from glee.games.base import (
    NATURE,
    Action,
    ConfigError,
    EndReason,
    Family,
    GameState,
    IllegalAction,
    Observation,
    Outcome,
    Params,
    Seat,
    Turn,
    TurnKind,
)
from glee.games.registry import Bounds, FamilyError, GameFamily, check_family, families, family, register


def rules_version(name: str) -> int:
    """The rules version of family `name` (its registration's, i.e. its rules module's VERSION)."""
    return family(name).version


def parse_params(name: str, raw: dict[str, Any] | None = None) -> Params:
    """Validate parameters of family `name` (glee names or original GLEE keys)."""
    return family(name).params.parse(dict(raw or {}))


def new_game(params: Params, seed: int) -> GameState:
    """The initial state of a game with these parameters and Nature's seed."""
    return family(params.family).state(params=params, seed=seed)


def restore(name: str, data: str | bytes) -> GameState:
    """A state from its `model_dump_json()`."""
    return family(name).state.model_validate_json(data)


__all__ = [
    "NATURE",
    "Action",
    "Bounds",
    "ConfigError",
    "EndReason",
    "Family",
    "FamilyError",
    "GameFamily",
    "GameState",
    "IllegalAction",
    "Observation",
    "Outcome",
    "Params",
    "Seat",
    "Turn",
    "TurnKind",
    "check_family",
    "families",
    "family",
    "new_game",
    "parse_params",
    "register",
    "restore",
    "rules_version",
]
