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
    Metrics,
    Observation,
    Outcome,
    Params,
    Seat,
    Turn,
    TurnKind,
)
from glee.games.registry import (
    GLEE_VARIANT,
    Bounds,
    FamilyError,
    GameFamily,
    check_family,
    families,
    family,
    register,
)


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


def metric_variants(name: str) -> tuple[str, ...]:
    """The metric variants of family `name`: "glee" first, then the ones its rules module declares."""
    return (GLEE_VARIANT, *family(name).variants)


def all_metric_variants() -> tuple[str, ...]:
    """Every metric variant any registered family declares, "glee" first."""
    names = dict.fromkeys(v for f in families() for v in metric_variants(f))
    return tuple(names)


def variant_metrics(state: GameState) -> dict[str, Metrics]:
    """The metrics of a finished game under each of its family's variants, all from the same turns.

    A forfeit is scored as the rules score it (their no deal or no sale) under every variant: the
    original code had no forfeits."""
    outcome = state.outcome()
    glee = Metrics(
        self_gain_1=outcome.self_gain_1,
        self_gain_2=outcome.self_gain_2,
        efficiency=outcome.efficiency,
        fairness=outcome.fairness,
    )
    declared = family(state.family).variants
    if outcome.end_reason == "forfeit":
        return {GLEE_VARIANT: glee} | {v: glee for v in declared}
    return {GLEE_VARIANT: glee} | {v: score(state) for v, score in declared.items()}


def replay(name: str, params: dict[str, Any], turns: list[tuple[int, dict[str, Any] | None, bool]]) -> GameState:
    """The state reached by applying stored turns (seat, action, valid) to a new game of family `name`;
    an invalid turn (a forfeiting seat's last) forfeits the game for that seat. Raises IllegalAction."""
    state = new_game(parse_params(name, params), seed=0)
    for seat, action, valid in turns:
        if not valid:
            if seat not in (1, 2):
                raise IllegalAction(f"an invalid turn of seat {seat}")
            return state.forfeit(1 if seat == 1 else 2)
        state = state.apply(action or {})
    return state


__all__ = [
    "GLEE_VARIANT",
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
    "Metrics",
    "Observation",
    "Outcome",
    "Params",
    "Seat",
    "Turn",
    "TurnKind",
    "all_metric_variants",
    "check_family",
    "families",
    "family",
    "metric_variants",
    "new_game",
    "parse_params",
    "register",
    "replay",
    "restore",
    "rules_version",
    "variant_metrics",
]
