"""Baseline players: theory (spe), heuristic (fair) and uniformly random agents.

Baselines are theory reference players: they are given the game's true Params, so they
know every parameter even under incomplete information (the other's δ or value, p, v, c,
the horizon). They make no model calls and answer at once: every theory value is
precomputed in the constructor. Randomized choices draw from a `random.Random(seed)` the
player owns, so a game replays exactly and never touches global randomness.

Each family registers its strategies next to their code (glee/players/baselines/<family>.py
for glee's own families, a plugin's own module otherwise), with its theory: the outcome
measure subgame-perfect play predicts (what glee.analysis compares observed outcomes with).

Strategies every family has (GAMES.md theory references):
- spe: the seat's subgame-perfect strategy (persuasion: the babbling equilibrium of cheap talk,
  since its seller cannot commit; GAMES.md says per family what spe is).
- fair: even split / midpoint price / truthful seller and trusting buyer.
- random: a uniformly random legal action.
A family may register more under its own names (persuasion: commitment, babbling, learning);
`strategy_names()` lists every registered one, and a player naming one its family lacks is a
ConfigError naming the family's.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator

from glee.errors import ConfigError
from glee.games import Action, FamilyError, Observation, Params, Seat, registry
from glee.players.base import Decision


def _known_strategy(name: str) -> str:
    if name not in strategy_names():
        raise ValueError(f"unknown strategy; allowed: one of {sorted(strategy_names())}")
    return name


Strategy = Annotated[str, AfterValidator(_known_strategy)]
"""The name of a baseline strategy some family registers (every family has STRATEGIES)."""
STRATEGIES: tuple[str, ...] = ("spe", "random", "fair")
"""The strategies every family registers."""

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
    """What the family's benchmark (its spe baselines) predicts of its outcome, on one measure.

    `observed(params, extras)` reads the measure from a finished game's extras (None where it is
    undefined); `predicted(params)` is the spe baselines' value of it (None where undefined);
    `benchmark` names what spe is, as plot titles say it ("outcomes against <benchmark>").
    """

    measure: str
    label: str
    observed: Callable[[Any, Mapping[str, Any]], float | None]
    predicted: Callable[[Any], float | None]
    benchmark: str = "subgame-perfect play (stationary under a hidden horizon)"


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


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for name in registry.BUILTIN:
            importlib.import_module(f"glee.players.baselines.{name}")
        registry.load()


def strategy_names() -> frozenset[str]:
    """Every strategy name some registered family has."""
    _load()
    return frozenset(name for b in _BASELINES.values() for name in b.strategies)


def baselines(family: str) -> Baselines:
    """The baselines of `family`, or a FamilyError naming the family and the missing piece."""
    _load()
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
    check_strategy(strategy, params.family)
    if seat not in (1, 2):
        raise ConfigError(f"seat: got {seat!r}; allowed: 1 or 2")
    return BaselinePlayer(strategy, params, seat, seed)


def check_strategy(strategy: str, family: str) -> str:
    """`strategy` when `family` registers it, else a one-line ConfigError naming the family's strategies."""
    known = baselines(family).strategies
    if strategy not in known:
        raise ConfigError(f"strategy: got {strategy!r}; allowed for {family}: one of {sorted(known)}")
    return strategy
