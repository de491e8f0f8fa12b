"""Reading games back: lists of games, one game's full record, and the full prompt of any model call."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from glee.engine.record import GameRecord, TurnRecord
from glee.errors import ConfigError
from glee.games import Outcome
from glee.players.base import LLMCall
from glee.store.database import Store


def list_games(
    store: Store, family: str | None = None, status: str | None = None, run_id: str | None = None
) -> pd.DataFrame:
    """The games table, filtered (filters are bound as SQL parameters), oldest first."""
    where, args = [], []
    for column, value in (("family", family), ("status", status), ("run_id", run_id)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    sql = "SELECT * EXCLUDE (spec) FROM games" + (f" WHERE {' AND '.join(where)}" if where else "")
    return store.con.execute(sql + " ORDER BY started_at, game_id", args).df()


def _loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _dicts(store: Store, sql: str, args: list[Any]) -> list[dict[str, Any]]:
    cursor = store.con.execute(sql, args)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def load_game(store: Store, game_id: str) -> GameRecord:
    """One game as it was written: its row, every turn (Nature's too), every model call, its outcome."""
    games = _dicts(store, "SELECT * EXCLUDE (tries) FROM games WHERE game_id = ?", [game_id])
    if not games:
        raise ConfigError(f"game_id: no game {game_id!r} in {store.path}")
    game = games[0]
    for key in ("params", "spec"):
        game[key] = _loads(game[key])
    turns = _dicts(store, "SELECT * EXCLUDE (game_id) FROM turns WHERE game_id = ? ORDER BY turn", [game_id])
    calls = _dicts(
        store, "SELECT * EXCLUDE (game_id) FROM llm_calls WHERE game_id = ? ORDER BY turn, attempt", [game_id]
    )
    outcomes = _dicts(store, "SELECT * EXCLUDE (game_id) FROM outcomes WHERE game_id = ?", [game_id])
    outcome = None
    if outcomes:
        row = outcomes[0]
        row["extras"] = _loads(row["extras"]) or {}
        outcome = Outcome.model_validate(row)
    return GameRecord.model_validate(
        {
            **game,
            "turns": [TurnRecord.model_validate({**t, "action": _loads(t["action"])}) for t in turns],
            "calls": [
                LLMCall.model_validate({**c, "request": _loads(c["request"]), "parsed": _loads(c["parsed"])})
                for c in calls
            ],
            "outcome": outcome,
        }
    )


def prompt_of(store: Store, game_id: str, turn: int, attempt: int = 1) -> list[dict[str, Any]]:
    """The full message list sent in one model call: that seat's requests up to and including it.

    Each stored request holds only the messages added since the seat's previous call, so
    the prompt is their concatenation in call order from the seat's latest system message
    (the system prompt comes first; a myopic buyer starts a fresh chat each round).
    """
    rows = store.con.execute(
        """
        SELECT c.request, c.turn, c.attempt FROM llm_calls c
        WHERE c.game_id = ? AND c.seat = (SELECT seat FROM llm_calls WHERE game_id = ? AND turn = ? AND attempt = ?)
          AND (c.turn < ? OR (c.turn = ? AND c.attempt <= ?))
        ORDER BY c.turn, c.attempt
        """,
        [game_id, game_id, turn, attempt, turn, turn, attempt],
    ).fetchall()
    if not rows or (rows[-1][1], rows[-1][2]) != (turn, attempt):
        raise ConfigError(f"llm call: no call of game {game_id!r} at turn {turn}, attempt {attempt}")
    prompt: list[dict[str, Any]] = []
    for request, _, _ in rows:
        added = _loads(request) or []
        if added and added[0].get("role") == "system":
            prompt = []  # a fresh chat (a myopic buyer is a new buyer every round)
        prompt.extend(added)
    return prompt
