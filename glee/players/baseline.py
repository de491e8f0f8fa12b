"""Baseline players: theory (spe), heuristic (fair) and uniformly random agents.

Baselines are theory reference players: they are given the game's true Params, so they
know every parameter even under incomplete information (the other's δ or value, p, v, c,
the horizon). They make no model calls and answer at once: every theory value is
precomputed in the constructor. Randomized choices draw from a `random.Random(seed)` the
player owns, so a game replays exactly and never touches global randomness.

Each family registers its strategies next to their code (glee/players/baselines/<family>.py
for glee's own families, a plugin's own module otherwise), with its theory: the outcome
measure subgame-perfect play predicts (what glee.analysis compares observed outcomes with).

Strategies (GAMES.md theory references):
- spe: the subgame-perfect (bargaining, negotiation) or optimal committed-persuasion
  (persuasion) strategy of the seat.
- fair: even split / midpoint price / truthful seller and trusting buyer.
- random: a uniformly random legal action.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from glee.errors import ConfigError
from glee.games import Action, FamilyError, Observation, Params, Seat, registry
from glee.players.base import Decision

Strategy = Literal["spe", "random", "fair"]
STRATEGIES: tuple[Strategy, ...] = ("spe", "random", "fair")

TOLERANCE = 1e-9
"""Relative tolerance of money comparisons (times the money scale): indifference means accept."""

Choice = dict[str, Any]
"""The fields of an action, before it is validated into the turn's action model."""


def message_fields(action_model: type[Action]) -> Choice:
    """An empty message where the action model requires one (baselines do not talk)."""
    field = action_model.model_fields.get("message")
    return {"message": ""} if field is not None and field.is_required() else {}


class Policy(Protocol):
    """One seat's strategy, built from the game's true parameters and the seat."""

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice: ...


@dataclass(frozen=True)
class Theory:
    """What subgame-perfect play predicts of a family's outcome, on one measure.

    `observed(params, extras)` reads the measure from a finished game's extras (None where it is
    undefined); `predicted(params)` is the spe baselines' value of it (None where undefined).
    """

    measure: str
    label: str
    observed: Callable[[Any, Mapping[str, Any]], float | None]
    predicted: Callable[[Any], float | None]


@dataclass(frozen=True)
class Baselines:
    """One family's baseline strategies (every one of STRATEGIES) and its theory."""

    family: str
    strategies: Mapping[str, Callable[[Any, Seat], Policy]]
    theory: Theory
    randomized: frozenset[str] = frozenset({"random"})
    """The strategies that draw from their seeded generator (their replicates differ); the others
    play a function of what they observe."""

    def __post_init__(self) -> None:
        missing = [s for s in STRATEGIES if s not in self.strategies]
        if missing:
            raise FamilyError(f"family {self.family!r}: piece 'baseline {missing[0]}' is missing")
        if not isinstance(self.theory, Theory):
            raise FamilyError(f"family {self.family!r}: piece 'theory' is missing or wrong (got {self.theory!r})")


_BASELINES: dict[str, Baselines] = {}
_loaded = False


def register_baselines(baselines: Baselines) -> Baselines:
    """Add a family's baselines (its baselines module calls this once, at import)."""
    _BASELINES[baselines.family] = baselines
    return baselines


def baselines(family: str) -> Baselines:
    """The baselines of `family`, or a FamilyError naming the family and the missing piece."""
    global _loaded
    if not _loaded:
        _loaded = True
        for name in registry.BUILTIN:
            importlib.import_module(f"glee.players.baselines.{name}")
        registry.load()
    found = _BASELINES.get(family)
    if found is None:
        raise FamilyError(f"family {family!r}: piece 'baselines' is missing (register them with register_baselines)")
    return found


class BaselinePlayer:
    """One seat played by a baseline strategy (see the module docstring). No model calls."""

    def __init__(self, strategy: Strategy, params: Params, seat: Seat, seed: int) -> None:
        self.label = f"baseline:{strategy}"
        self.strategy = strategy
        self.seat = seat
        self.rng = random.Random(seed)
        self.policy = baselines(params.family).strategies[strategy](params, seat).choose

    async def act(self, observation: Observation, action_model: type[Action]) -> Decision:
        """The strategy's action for this turn, validated into `action_model`."""
        return Decision(action=self.choose(observation, action_model), attempts=[])

    def choose(self, observation: Observation, action_model: type[Action]) -> Action:
        """The same as `act`, synchronously (for callers without an event loop)."""
        return action_model.model_validate(self.policy(observation, action_model, self.rng))


def make_baseline(strategy: Strategy, params: Params, seat: Seat, seed: int) -> BaselinePlayer:
    """A baseline player of `strategy` for `seat` of a game with these (true) parameters."""
    if strategy not in STRATEGIES:
        raise ConfigError(f"strategy: got {strategy!r}; allowed: one of {list(STRATEGIES)}")
    if seat not in (1, 2):
        raise ConfigError(f"seat: got {seat!r}; allowed: 1 or 2")
    return BaselinePlayer(strategy, params, seat, seed)
