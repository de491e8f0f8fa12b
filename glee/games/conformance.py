"""The conformance kit: what every family's rules must keep, checked from what the family declares.

`check_family(name, chooser)` plays every configuration of the family's paper grid (or the
ones given) to the end and checks, at every move: the seat asked is the seat that moves, the
action is of the turn's action model and the rules accept it, the round never passes the
declared horizon nor the turns the declared most, the state survives a JSON round trip, each
seat's observation is its own and holds None in every declared private field it may not
see; and at the end: the game is over, its outcome and extras validate (the extras against the
family's extras model), payoffs are finite and within the declared bounds, efficiency and
fairness are None or in [0, 1], and a forfeit (at each round's first player move) ends as that seat's
forfeit with an outcome within the same bounds.

The rules layer plays no players: the caller gives a `Chooser` (e.g. two baseline players).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from glee.errors import GleeError
from glee.games.base import NATURE, Action, GameState, Outcome, Params, Seat
from glee.games.grids import paper_grid
from glee.games.registry import GameFamily, family

TOLERANCE = 1e-9
"""Relative slack of bound checks (times the bound's scale)."""

Chooser = Callable[[GameState, Seat], Action | dict[str, Any]]
"""The action of `seat` in `state` (which asks that seat to move)."""

ChooserFor = Callable[[Params, int], Chooser]
"""A chooser for one game of these parameters and seed."""

EndCheck = Callable[[GameState, Outcome], None]
"""A further check of a finished game (raises AssertionError or ConformanceError)."""


class ConformanceError(GleeError):
    """A family's rules break a promise of the kit: names the family, the check and where."""


def _fail(state: GameState, check: str, detail: str) -> ConformanceError:
    where = f"round {state.round}, turn {len(state.turns)}"
    return ConformanceError(f"family {state.family!r}: {check} ({where}): {detail}")


def _within(value: float, low: float, high: float) -> bool:
    scale = max(1.0, abs(low) if math.isfinite(low) else 0.0, abs(high) if math.isfinite(high) else 0.0)
    return low - TOLERANCE * scale <= value <= high + TOLERANCE * scale


def check_position(declared: GameFamily, state: GameState) -> None:
    """Checks of one position: round trip, horizon, turns, each seat's observation and privacy."""
    p, bounds = state.params, declared.bounds
    if type(state).model_validate_json(state.model_dump_json()) != state:
        raise _fail(state, "serialization", "the state differs after a JSON round trip")
    if not 1 <= state.round <= bounds.horizon(p):
        raise _fail(state, "horizon", f"round {state.round} is outside 1..{bounds.horizon(p)}")
    if len(state.turns) > bounds.turns(p):
        raise _fail(state, "turns", f"{len(state.turns)} turns, more than the declared {bounds.turns(p)}")
    moving = state.to_act()
    for viewer in (1, 2):
        obs = state.observation(viewer)
        if obs.seat != viewer or obs.family != declared.name:
            raise _fail(state, "observation", f"seat {viewer} got the observation of {obs.family} seat {obs.seat}")
        if obs.to_act != (viewer == moving):
            raise _fail(state, "observation", f"seat {viewer}: to_act is {obs.to_act}, the seat to move is {moving}")
        for name, shown in declared.private.items():
            if name not in type(obs).model_fields:
                raise _fail(state, "privacy", f"declared private field {name!r} is not a field of {type(obs).__name__}")
            if not shown(p, viewer) and getattr(obs, name) is not None:
                raise _fail(state, "privacy", f"seat {viewer} sees {name} = {getattr(obs, name)!r}")


def check_outcome(declared: GameFamily, state: GameState, outcome: Outcome) -> None:
    """Checks of a finished game's outcome: validity, extras, bounds of payoffs and metrics."""
    p, bounds = state.params, declared.bounds
    try:
        Outcome.model_validate(outcome.model_dump())
        declared.extras.model_validate(outcome.extras)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _fail(state, "outcome", f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    if not 1 <= outcome.rounds <= bounds.horizon(p):
        raise _fail(state, "outcome", f"rounds {outcome.rounds} outside 1..{bounds.horizon(p)}")
    for seat, payoff in ((1, outcome.payoff_1), (2, outcome.payoff_2)):
        low, high = bounds.payoff(p, seat)
        if not math.isfinite(payoff) or not _within(payoff, low, high):
            raise _fail(state, "payoff bounds", f"payoff_{seat} = {payoff!r}, allowed [{low}, {high}]")
    for name in ("efficiency", "fairness"):
        value = getattr(outcome, name)
        if value is not None and not _within(value, 0.0, 1.0):
            raise _fail(state, "metric bounds", f"{name} = {value!r}, allowed None or [0, 1]")


def check_forfeit(declared: GameFamily, state: GameState) -> None:
    """A forfeit by the seat to move ends the game as that seat's forfeit, with an outcome within the declared
    bounds (glee's families score it as the rules' no deal; a family may instead leave its metrics undefined)."""
    seat = state.to_act()
    if seat not in (1, 2):
        return
    out = state.forfeit(seat).outcome()
    if (out.end_reason, out.forfeit_seat) != ("forfeit", seat):
        raise _fail(
            state, "forfeit", f"a forfeit by seat {seat} ended as {out.end_reason} with forfeit seat {out.forfeit_seat}"
        )
    check_outcome(declared, state, out)


def check_playout(state: GameState, chooser: Chooser, extra: EndCheck | None = None) -> GameState:
    """Play `state` to the end with `chooser` (Nature from the state), checking every move; the end state.
    `extra` checks the end state further (what only one family's rules promise)."""
    declared = family(state.family)
    limit = declared.bounds.turns(state.params)
    forfeit_checked = 0  # the last round whose first player move had its forfeit checked
    while not state.is_over:
        check_position(declared, state)
        seat = state.to_act()
        if seat is None or len(state.turns) >= limit:
            raise _fail(state, "termination", "the game is not over but no seat moves or the turns ran out")
        if seat == NATURE:
            action: Action | dict[str, Any] = state.nature_action()
        else:
            if state.round != forfeit_checked:
                check_forfeit(declared, state)
                forfeit_checked = state.round
            action = chooser(state, seat)
        model = state.action_model()
        if isinstance(action, Action) and not isinstance(action, model):
            raise _fail(state, "action model", f"seat {seat} gave a {type(action).__name__}, asked {model.__name__}")
        state = state.apply(action)
    check_position(declared, state)
    outcome = state.outcome()
    if outcome.end_reason == "forfeit":
        raise _fail(state, "outcome", "a game played to the end ended as a forfeit")
    check_outcome(declared, state, outcome)
    if extra is not None:
        extra(state, outcome)
    return state


def check_family(
    name: str,
    chooser_for: ChooserFor,
    configurations: Iterable[dict[str, Any]] | None = None,
    seeds: Iterable[int] = (0,),
    extra: EndCheck | None = None,
) -> int:
    """Play every configuration (the paper grid by default) once per seed with `chooser_for(params, seed)`,
    checking each game (ConformanceError on the first break). Returns the number of games played."""
    declared = family(name)
    played = 0
    for index, raw in enumerate(paper_grid(name) if configurations is None else configurations):
        params = declared.params.parse(dict(raw))
        for seed in seeds:
            game_seed = index * 1000 + seed
            check_playout(declared.state(params=params, seed=game_seed), chooser_for(params, game_seed), extra)
            played += 1
    return played
