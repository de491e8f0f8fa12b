"""The family registry: every game family declares itself once, in its own module.

A family's rules module ends with `register(GameFamily(...))`: its name, parameters model,
state, outcome extras model, paper grid and rules version. Every table that used to list
the families (the parameter models, the states, the store's extra columns, the paper
grids) is read from here. glee's own families are named in BUILTIN; other packages
add families through the `glee.families` entry point group (the entry point names a module
whose import registers the family's rules, prompt renderer and baselines).

The layers below the rules register their own pieces next to their code (the prompt
renderer in glee.prompts, the baselines in glee.players); `glee.players.families.complete()`
checks that every registered family has all of them.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from glee.errors import ConfigError, GleeError
from glee.games.base import Frozen, GameState, Metrics, Params

ENTRY_POINT_GROUP = "glee.families"
BUILTIN = ("bargaining", "negotiation", "persuasion")
"""glee's own families, in order. Each layer imports its module of the same name (glee.games.<name>,
glee.prompts.<name>, glee.players.baselines.<name>) before the entry points are loaded."""

Grid = dict[str, list[Any]]
METRIC_NAMES = ("self_gain_1", "self_gain_2", "efficiency", "fairness")
"""The per-game metrics every outcome and every metric variant has (glee.games.Metrics)."""
GLEE_VARIANT = "glee"
"""The metric variant every family has: its Outcome's own metrics (GAMES.md sections 1-3)."""


class FamilyError(GleeError):
    """A family is declared without one of its pieces (or twice): names the family and the piece."""


@dataclass(frozen=True)
class Bounds:
    """What the conformance kit checks of every finished game of a family (see glee.games.conformance).

    `payoff(params, seat)`: the inclusive range of that seat's payoff (infinite ends allowed);
    `turns(params)`: the most turns a game may take; `horizon(params)`: the last round it may reach.
    """

    payoff: Callable[[Any, int], tuple[float, float]]
    turns: Callable[[Any], int]
    horizon: Callable[[Any], int]


@dataclass(frozen=True)
class GameFamily:
    """One family's declaration of its rules. Every field is required."""

    name: str
    params: type[Params]
    state: type[GameState]
    extras: type[Frozen]
    """The model of Outcome.extras: its fields are the typed extra columns of the family's view."""
    grids: Mapping[str, Grid]
    """Named parameter grids; "paper" is the GLEE paper's grid of this family."""
    version: int
    """The rules version (part of every game's identity)."""
    roles: tuple[str, str]
    """What seat 1 and seat 2 are (seller, buyer, ...), as the seats view and the analysis name them."""
    bounds: Bounds
    private: Mapping[str, Callable[[Any, int], bool]] = field(default_factory=dict)
    """Observation fields a seat may not always see: field -> (params, seat) -> whether it is shown.
    A hidden field must be None in that seat's observation."""
    chance_moves: bool = False
    """Whether Nature moves in its games (its state overrides GameState.nature_action; checked). Without
    chance moves and with deterministic players, replicates of a configuration are copies of one game."""
    variants: Mapping[str, Callable[[Any], Metrics]] = field(default_factory=dict)
    """Metric variants beside glee's own (GAMES.md section 7): name -> (finished, non-forfeit state) ->
    Metrics, e.g. "original" (the original GLEE code's formulas). The variant "glee" is the outcome's
    own and may not be declared here."""
    metric_ranges: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    """The range of each outcome metric (self_gain_1, self_gain_2, efficiency, fairness; None: unbounded)
    that GLEE's table estimator clips predicted cells to (glee.analysis.glee_table). A metric not named
    is unbounded, except efficiency and fairness, which default to [0, 1]."""

    def metric_range(self, metric: str) -> tuple[float | None, float | None]:
        """The range of `metric` (see metric_ranges)."""
        default = (0.0, 1.0) if metric in ("efficiency", "fairness") else (None, None)
        return self.metric_ranges.get(metric, default)

    def __post_init__(self) -> None:
        checks: dict[str, bool] = {
            "name": isinstance(self.name, str) and self.name.isidentifier(),
            "params": isinstance(self.params, type) and issubclass(self.params, Params),
            "state": isinstance(self.state, type) and issubclass(self.state, GameState),
            "extras": isinstance(self.extras, type) and issubclass(self.extras, Frozen),
            "grids": isinstance(self.grids, Mapping) and "paper" in self.grids,
            "version": isinstance(self.version, int) and self.version >= 1,
            "roles": isinstance(self.roles, tuple)
            and len(self.roles) == 2
            and all(isinstance(r, str) for r in self.roles),
            "bounds": isinstance(self.bounds, Bounds),
            "chance_moves": self.chance_moves is _has_nature(self.state),
            "metric_ranges": isinstance(self.metric_ranges, Mapping) and set(self.metric_ranges) <= set(METRIC_NAMES),
            "variants": isinstance(self.variants, Mapping)
            and GLEE_VARIANT not in self.variants
            and all(isinstance(k, str) and k.isidentifier() and callable(f) for k, f in self.variants.items()),
        }
        for piece, ok in checks.items():
            if not ok:
                raise FamilyError(
                    f"family {self.name!r}: piece {piece!r} is missing or wrong (got {getattr(self, piece)!r})"
                )
        for piece, cls in (("params", self.params), ("state", self.state)):
            if getattr(cls, "family", None) != self.name:
                raise FamilyError(f"family {self.name!r}: piece {piece!r} says family {getattr(cls, 'family', None)!r}")
        for grid_name, grid in self.grids.items():
            unknown = sorted(set(grid) - set(self.params.model_fields))
            if unknown:
                raise FamilyError(f"family {self.name!r}: grid {grid_name!r} names {unknown[0]!r}, not a parameter")


def _has_nature(state: Any) -> bool:
    """Whether a state class draws chance moves (overrides GameState.nature_action)."""
    return isinstance(state, type) and getattr(state, "nature_action", None) is not GameState.nature_action


_FAMILIES: dict[str, GameFamily] = {}
_loaded = False


def register(family: GameFamily) -> GameFamily:
    """Add a family (its rules module calls this once, at import)."""
    known = _FAMILIES.get(family.name)
    if known is not None and known != family:
        raise FamilyError(
            f"family {family.name!r}: registered twice ({known.state.__module__}, {family.state.__module__})"
        )
    _FAMILIES[family.name] = family
    return family


def load() -> None:
    """Import glee's families, then every `glee.families` entry point (once per process)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in BUILTIN:
        importlib.import_module(f"glee.games.{name}")
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        try:
            point.load()
        except ImportError as exc:
            # Metadata of a package that is not importable here (removed, or another environment's):
            # every other family still works; this one is left out, and said so.
            warnings.warn(
                f"family {point.name!r}: entry point {point.value!r} cannot be imported ({exc}); it is left out",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        if point.name not in _FAMILIES:
            raise FamilyError(f"family {point.name!r}: entry point {point.value!r} registered no rules (GameFamily)")


def families() -> tuple[str, ...]:
    """The names of every registered family, glee's own first."""
    load()
    return (*(n for n in BUILTIN if n in _FAMILIES), *(n for n in _FAMILIES if n not in BUILTIN))


def family(name: str) -> GameFamily:
    """The declaration of family `name`, or a one-line ConfigError naming the allowed ones."""
    load()
    found = _FAMILIES.get(name) if isinstance(name, str) else None
    if found is None:
        raise ConfigError(f"family: got {name!r}; allowed: one of {list(families())}")
    return found


def check_family(name: str) -> str:
    """`name` when it is a registered family, else a one-line ConfigError."""
    return family(name).name
