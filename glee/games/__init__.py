"""The rules of the three GLEE game families: pure, deterministic, serializable."""

from __future__ import annotations

import sys
from typing import Any

from glee.games import bargaining, negotiation, persuasion
from glee.games.bargaining import BargainingParams, BargainingState
from glee.games.base import (
    FAMILIES,
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
from glee.games.negotiation import NegotiationParams, NegotiationState
from glee.games.persuasion import PersuasionParams, PersuasionState

PARAMS: dict[Family, type[Params]] = {
    "bargaining": BargainingParams,
    "negotiation": NegotiationParams,
    "persuasion": PersuasionParams,
}
ROLES: dict[Family, tuple[str, str]] = {
    "bargaining": bargaining.ROLES,
    "negotiation": negotiation.ROLES,
    "persuasion": persuasion.ROLES,
}
"""What seat 1 and seat 2 are in each family (seller, buyer, ...), as the analysis and the views name them."""
STATES: dict[Family, type[GameState]] = {
    "bargaining": BargainingState,
    "negotiation": NegotiationState,
    "persuasion": PersuasionState,
}


def check_family(family: str) -> Family:
    if family not in PARAMS:
        raise ConfigError(f"family: got {family!r}; allowed: one of {list(FAMILIES)}")
    return family


def rules_version(family: str) -> int:
    """The rules VERSION of `family`: the constant of the module that defines its state."""
    module = sys.modules[STATES[check_family(family)].__module__]
    version = getattr(module, "VERSION", None)
    if not isinstance(version, int):
        raise ConfigError(f"{module.__name__}.VERSION: got {version!r}; allowed: an int")
    return version


def parse_params(family: str, raw: dict[str, Any] | None = None) -> Params:
    """Validate parameters of `family` (glee names or original GLEE keys)."""
    return PARAMS[check_family(family)].parse(dict(raw or {}))


def new_game(params: Params, seed: int) -> GameState:
    """The initial state of a game with these parameters and Nature's seed."""
    return STATES[params.family](params=params, seed=seed)


def restore(family: str, data: str | bytes) -> GameState:
    """A state from its `model_dump_json()`."""
    return STATES[check_family(family)].model_validate_json(data)


__all__ = [
    "FAMILIES",
    "NATURE",
    "PARAMS",
    "ROLES",
    "STATES",
    "Action",
    "ConfigError",
    "EndReason",
    "Family",
    "GameState",
    "IllegalAction",
    "Observation",
    "Outcome",
    "Params",
    "Seat",
    "Turn",
    "TurnKind",
    "check_family",
    "new_game",
    "parse_params",
    "restore",
    "rules_version",
]
