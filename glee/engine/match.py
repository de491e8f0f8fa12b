"""Plays one game: the rules ask, the players answer, and everything said is kept for the store."""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal

from glee.engine.record import GameRecord, HumanAnswer, TurnRecord
from glee.engine.specs import GameSpec, PlayerSpec
from glee.errors import ErrorKind, GameAbandoned, InfrastructureError
from glee.games import GameState, Params, Seat, new_game
from glee.games.base import hash_ints
from glee.players.base import Decision, LLMCall, Player

PlayerFactory = Callable[[PlayerSpec, Params, Seat, int], Player]
"""Builds the player of one seat of one game: (spec, the game's params, seat, the seat's seed)."""
Progress = Callable[["GameRecord"], Awaitable[None]]
"""Called with the game so far (status `abandoned`, error IN_PROGRESS) before each player's turn."""
IN_PROGRESS = "in progress: the game had not ended when this was written (the server stopped or crashed)"


def seat_seed(game_seed: int, seat: Seat) -> int:
    """Each seat's own seed, from the game's seed alone (so seats never share a generator)."""
    return hash_ints(game_seed, seat)


def _calls(decision: Decision, turn: int, seat: Seat) -> list[LLMCall]:
    """The decision's model calls, placed in the game (attempts count every try, a call or not)."""
    return [
        attempt.call.model_copy(update={"turn": turn, "seat": seat, "attempt": number})
        for number, attempt in enumerate(decision.attempts, start=1)
        if attempt.call is not None
    ]


def _answers(decision: Decision, turn: int, seat: Seat) -> list[HumanAnswer]:
    """A person's answers in this turn, refused ones included (attempts that carry a person's times)."""
    return [
        HumanAnswer(
            turn=turn,
            seat=seat,
            attempt=number,
            shown_at=attempt.shown_at,
            answered_at=attempt.answered_at,
            answer=attempt.text,
            parsed=attempt.parsed,
            rejection=attempt.rejection,
        )
        for number, attempt in enumerate(decision.attempts, start=1)
        if attempt.answered_at is not None
    ]


Times = dict[int, tuple[datetime | None, datetime | None]]
"""turn -> (first shown at, answered at) of a person's turns."""


def _message(action: dict[str, Any] | None) -> str | None:
    message = (action or {}).get("message")
    return message if isinstance(message, str) else None


def _turns(state: GameState, times: Times) -> list[TurnRecord]:
    return [
        # Validated construction: pydantic's model_construct is no faster here (it walks every default).
        TurnRecord(
            turn=i,
            round=t.round,
            seat=t.seat,
            kind=t.kind,
            action=t.action,
            message=_message(t.action),
            valid=True,
            shown_at=times[i][0] if i in times else None,
            answered_at=times[i][1] if i in times else None,
        )
        for i, t in enumerate(state.turns, start=1)
    ]


async def play(
    spec: GameSpec, make_player: PlayerFactory, run_id: str | None = None, progress: Progress | None = None
) -> GameRecord:
    """Play `spec` to its end. Never raises for a game's own faults: a player that gives up
    forfeits, an infrastructure error or a rules bug makes the game `failed` (with the error).
    `progress` (games with people: a crash must leave the game so far in the store) sees the
    game before each turn a player is asked for."""
    started = datetime.now(UTC)
    params = spec.params
    state = new_game(params, spec.seed)
    calls: list[LLMCall] = []
    answers: list[HumanAnswer] = []
    times: Times = {}
    forfeit_turn: TurnRecord | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None
    seat: Literal[0, 1, 2] | None = None
    blame: ErrorKind = "player_bug"
    # Whose bug an unexpected exception is: the player's while one is built or acting, else the rules'.
    try:
        players: dict[Seat, Player] = {
            1: make_player(spec.player_1, params, 1, seat_seed(spec.seed, 1)),
            2: make_player(spec.player_2, params, 2, seat_seed(spec.seed, 2)),
        }
        blame = "rules_bug"
        while not state.is_over:
            seat = state.to_act()
            if seat == 0:
                state = state.apply(state.nature_action())
                continue
            assert seat is not None
            turn = len(state.turns) + 1
            if progress is not None:
                await progress(
                    _record(spec, run_id, started, state, calls, answers, times, None, IN_PROGRESS, "abandoned")
                )
            observation, action_model = state.observation(seat), state.action_model()
            blame = "player_bug"
            decision = await players[seat].act(observation, action_model)
            blame = "rules_bug"
            calls += _calls(decision, turn, seat)
            if decision.attempts and decision.attempts[-1].answered_at is not None:
                answers += _answers(decision, turn, seat)
                times[turn] = (decision.attempts[0].shown_at, decision.attempts[-1].answered_at)
            if decision.action is None:
                last = decision.attempts[-1].parsed if decision.attempts else None
                forfeit_turn = TurnRecord(
                    turn=turn,
                    round=state.round,
                    seat=seat,
                    kind=state.kind(),
                    action=last,
                    message=_message(last),
                    valid=False,
                )
                state = state.forfeit(seat)
            else:
                state = state.apply(decision.action)
    except GameAbandoned as exc:  # a person left: no one's fault, no outcome
        error, error_kind = f"{type(exc).__name__}: {exc}", exc.kind
    except InfrastructureError as exc:
        error, error_kind = f"{type(exc).__name__}: {exc}", exc.kind
        if exc.attempts and (seat == 1 or seat == 2):  # the failing turn's calls, the failed one last
            calls += _calls(Decision(action=None, attempts=exc.attempts), len(state.turns) + 1, seat)
    except Exception:  # a rules or player bug: this game fails, the sweep goes on
        error, error_kind = traceback.format_exc(), blame
    return _record(spec, run_id, started, state, calls, answers, times, forfeit_turn, error, error_kind)


def _record(
    spec: GameSpec,
    run_id: str | None,
    started: datetime,
    state: GameState,
    calls: list[LLMCall],
    answers: list[HumanAnswer],
    times: Times,
    forfeit_turn: TurnRecord | None,
    error: str | None,
    error_kind: ErrorKind | None,
) -> GameRecord:
    """The game as the store keeps it: ended (error None), failed or abandoned (with its error)."""
    turns = _turns(state, times) + ([forfeit_turn] if forfeit_turn else [])
    if error is not None:
        status = "abandoned" if error_kind == "abandoned" else "failed"
        outcome = None
    else:
        outcome = state.outcome()
        status = "forfeit" if outcome.end_reason == "forfeit" else "completed"
    return GameRecord(
        game_id=spec.game_id,
        run_id=run_id,
        family=spec.family,
        params=spec.params_json(),
        player_1=spec.player_1.label(),
        player_2=spec.player_2.label(),
        seed=spec.seed,
        replicate=spec.replicate,
        status=status,
        end_reason=outcome.end_reason if outcome else None,
        rounds_played=outcome.rounds if outcome else state.round,
        started_at=started,
        finished_at=datetime.now(UTC),
        error=error,
        error_kind=error_kind,
        forfeit_seat=state.forfeit_seat,
        spec=spec.model_dump(mode="json"),
        turns=turns,
        calls=list(calls),
        answers=list(answers),
        outcome=outcome,
    )
