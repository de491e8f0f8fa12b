"""A finished game as the store writes it: the game row, its turns, its model calls, its outcome.

The engine builds these from played games and the importer from original GLEE data; the
store's single writer inserts them. Column names match DESIGN.md's storage contract.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from glee.errors import ErrorKind
from glee.games import Family, Outcome, TurnKind
from glee.players.base import LLMCall

GameStatus = Literal["completed", "forfeit", "failed", "abandoned"]
"""completed: played to its end; forfeit: a seat gave no valid action (in metrics as a forfeit);
failed: infrastructure or a bug stopped it (left out of metrics, played again on resume);
abandoned: a human player left mid-game (left out of metrics, its turns so far kept, never replayed)."""


class TurnRecord(BaseModel):
    """One row of `turns`: an action in order (seat 0 is Nature). `valid` is False only for
    the forfeiting seat's last turn, whose `action` is its last parsed reply (if any)."""

    model_config = ConfigDict(extra="forbid")

    turn: int
    """1, 2, ... in the order the actions were applied."""
    round: int
    seat: Literal[0, 1, 2]
    kind: TurnKind
    action: dict[str, Any] | None
    message: str | None = None
    valid: bool = True
    shown_at: datetime | None = None
    """A person's turn: when it was first shown to them (None for machines and Nature)."""
    answered_at: datetime | None = None
    """A person's turn: when the accepted answer came."""


class HumanAnswer(BaseModel):
    """One row of `human_answers`: one answer a person gave, refused ones included (a person's
    counterpart of a model call's rejection in `llm_calls`)."""

    model_config = ConfigDict(extra="forbid")

    turn: int
    seat: Literal[1, 2]
    attempt: int
    shown_at: datetime | None
    answered_at: datetime | None
    answer: str | None
    """What the person sent, field by field, as JSON text (each field capped)."""
    parsed: dict[str, Any] | None = None
    rejection: str | None = None
    """Why the answer was refused (the text the person was shown), None when it was accepted."""


class GameRecord(BaseModel):
    """One finished game with everything the store keeps about it."""

    model_config = ConfigDict(extra="forbid")

    game_id: str
    run_id: str | None
    family: Family
    params: dict[str, Any]
    player_1: str
    player_2: str
    seed: int | None = None
    replicate: int = 0
    status: GameStatus
    end_reason: str | None = None
    rounds_played: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    """failed: the infrastructure error, or the traceback of a rules or player bug; abandoned: why."""
    error_kind: ErrorKind | None = None
    """What stopped a failed or abandoned game (see glee.errors.ErrorKind), None when it finished."""
    forfeit_seat: int | None = None
    spec: dict[str, Any] | None = None
    """The GameSpec it was played from (None for imported games)."""
    source_id: str | None = None
    """Imported original GLEE games: the original game id."""
    conforms: bool | None = None
    """Imported games: whether the original transcript is legal under glee's rules."""
    conform_error: str | None = None
    turns: list[TurnRecord] = []
    calls: list[LLMCall] = []
    """Every model call of the game, each placed (turn, seat, attempt) by the engine."""
    answers: list[HumanAnswer] = []
    """Every answer a person gave in the game, refused ones included."""
    outcome: Outcome | None = None
