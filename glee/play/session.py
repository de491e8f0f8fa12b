"""One game of a person against an opponent: its spec, its players, and its result in words.

Shared by the terminal session and the web app. A person's game gets the smallest replicate
whose game id is not yet taken, so every game a person plays is a new row (and a person
playing a configuration twice plays new Nature draws), and ids stay content hashes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from pydantic import BaseModel, ConfigDict

from glee.backends.spec import EndpointSpec
from glee.engine.match import PlayerFactory
from glee.engine.players import player_factory
from glee.engine.record import GameRecord
from glee.engine.specs import GameSpec, PlayerSpec
from glee.games import GameState, Params, Seat, new_game, parse_params
from glee.games.base import other, seat_names
from glee.play.config import Seating
from glee.players.base import ChatEndpoint, Player
from glee.players.human import HumanInput, HumanPlayer, rules_text
from glee.prompts import money


def human_spec(name: str) -> PlayerSpec:
    return PlayerSpec(kind="human", strategy=None, name=name)


def game_spec(
    seating: Seating, name: str, run_seed: int, taken: Collection[str], opponent: PlayerSpec | None = None
) -> GameSpec:
    """The spec of a new game of `name` in `seating`: the first replicate whose id is not in `taken`.
    `opponent` replaces the seating's (a game against another participant: that person, or the fallback)."""
    human = human_spec(name)
    other_seat = opponent or seating.opponent
    p1, p2 = (human, other_seat) if seating.seat == 1 else (other_seat, human)
    params = parse_params(seating.family, seating.params)
    replicate = 0
    while (spec := GameSpec.create(seating.family, params, p1, p2, replicate, run_seed)).game_id in taken:
        replicate += 1
    return spec


def people_factory(
    endpoints: Mapping[EndpointSpec, ChatEndpoint], sources: Mapping[str, HumanInput]
) -> tuple[PlayerFactory, dict[str, HumanPlayer]]:
    """The match's player factory for a game of two people, and their HumanPlayers by name (filled in
    as the match makes them)."""
    made: dict[str, HumanPlayer] = {}
    machines = player_factory(endpoints)

    def make(spec: PlayerSpec, params: Params, seat: Seat, seed: int) -> Player:
        if spec.kind == "human" and spec.name is not None and spec.name in sources:
            made[spec.name] = player = HumanPlayer(sources[spec.name], spec.name)
            return player
        return machines(spec, params, seat, seed)

    return make, made


def opening_rules(spec: GameSpec, seat: Seat) -> str:
    """The rules as the person's seat is told them, before the first turn (from the initial state)."""
    state = new_game(spec.params, spec.seed)
    return rules_text(state.observation(seat))


def final_state(record: GameRecord) -> GameState:
    """The state a recorded game ended in, replayed through the rules from its turns."""
    state = new_game(parse_params(record.family, record.params), record.seed or 0)
    for turn in record.turns:
        if turn.valid and turn.action is not None:
            state = state.apply(turn.action)
    if record.forfeit_seat in (1, 2) and not state.is_over:
        state = state.forfeit(record.forfeit_seat)  # type: ignore[arg-type]
    return state


class Result(BaseModel):
    """How a person's game ended, in words for that person."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: str
    headline: str
    lines: tuple[str, ...]
    news: str = ""


def result(record: GameRecord, seat: Seat, human: HumanPlayer | None) -> Result:
    """The end of the game as the person's seat sees it: the last news, how it ended, what each got."""
    names = seat_names(record.params)
    them = names[other(seat)]
    if record.status == "abandoned":
        return Result(status=record.status, headline="The game was stopped before its end.", lines=())
    if record.outcome is None:
        return Result(status=record.status, headline="The game could not be finished (a technical fault).", lines=())
    news = ""
    if human is not None:
        state = final_state(record)
        news = human.final_news(state.observation(seat), state.action_model())
    o = record.outcome
    rounds = f"{o.rounds} round{'s' if o.rounds != 1 else ''}"
    headline = {
        "agreement": f"Deal! Agreement reached in round {o.rounds}.",
        "no_deal": f"No deal: the last offer was rejected, after {rounds}.",
        "outside_option": f"No trade: an outside option was taken in round {o.rounds}.",
        "deadline": f"The game is over: all {rounds} were played.",
        "forfeit": "The game ended because a player gave no valid answer.",
    }.get(o.end_reason, f"The game is over ({o.end_reason}).")
    mine, theirs = (o.payoff_1, o.payoff_2) if seat == 1 else (o.payoff_2, o.payoff_1)
    lines = (f"You ({names[seat]}) gain {money(mine)}.", f"{them} gains {money(theirs)}.")
    return Result(status=record.status, headline=headline, lines=lines, news=news)
