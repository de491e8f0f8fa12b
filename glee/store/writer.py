"""The single writer: finished games -> one transaction per batch, inserted as Arrow tables.

Policy for replays: a game_id is written once as completed or forfeit, never again (the
primary key on games.game_id enforces it, and such records are skipped). A failed game is
played again on resume; its new record REPLACES the failed rows (game, turns, calls) in the
same transaction, and `games.tries` counts how often it was played. Only the latest try's
transcript is kept, so every table holds one game per game_id.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import BaseModel

from glee.engine.record import GameRecord, HumanAnswer, TurnRecord
from glee.games import Outcome
from glee.players.base import LLMCall

DONE = ("completed", "forfeit", "abandoned")
"""Statuses never played or written again (a person who left is not brought back by a resume)."""
WRITTEN = ("games", "turns", "llm_calls", "outcomes", "human_answers")


class WriteSummary(BaseModel):
    written: int = 0
    replaced: int = 0
    """Failed games whose earlier try was replaced."""
    skipped: int = 0
    """Games already completed or forfeited in the database (or twice in the batch)."""


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# Each table's row, field by field, in the table's column order. Written out rather than read by
# name, so that renaming a record field is a type error here (and a failing test), never a column
# silently written NULL. tests/test_store.py checks that these columns are the tables' columns and
# that every record field is written (or listed in NOT_WRITTEN).
def game_row(r: GameRecord, tries: int) -> tuple[Any, ...]:
    return (
        r.game_id, r.run_id, r.family, _json(r.params), r.player_1, r.player_2, r.seed, r.replicate,
        r.status, r.end_reason, r.rounds_played, r.started_at, r.finished_at, r.error, r.forfeit_seat,
        r.source_id, r.conforms, r.conform_error, tries, _json(r.spec), r.error_kind,
    )  # fmt: skip


def turn_row(game_id: str, t: TurnRecord) -> tuple[Any, ...]:
    return (
        game_id, t.turn, t.round, t.seat, t.kind, _json(t.action), t.message, t.valid, t.shown_at, t.answered_at,
    )  # fmt: skip


def answer_row(game_id: str, a: HumanAnswer) -> tuple[Any, ...]:
    return (game_id, a.turn, a.seat, a.attempt, a.shown_at, a.answered_at, a.answer, _json(a.parsed), a.rejection)


def call_row(game_id: str, c: LLMCall) -> tuple[Any, ...]:
    return (
        game_id, c.turn, c.seat, c.attempt, c.model, _json(c.request), c.response, c.error,
        c.prompt_tokens, c.completion_tokens, c.cached_tokens, c.latency_ms, c.finish_reason,
        _json(c.parsed), c.rejection, c.opponent_text_cut,
    )  # fmt: skip


def outcome_row(game_id: str, o: Outcome) -> tuple[Any, ...]:
    return (
        game_id, o.payoff_1, o.payoff_2, o.self_gain_1, o.self_gain_2, o.efficiency, o.fairness,
        o.agreement, o.end_reason, o.rounds, o.forfeit_seat, _json(o.extras),
    )  # fmt: skip


COLUMNS: dict[str, tuple[str, ...]] = {
    "games": (
        "game_id", "run_id", "family", "params", "player_1", "player_2", "seed", "replicate",
        "status", "end_reason", "rounds_played", "started_at", "finished_at", "error", "forfeit_seat",
        "source_id", "conforms", "conform_error", "tries", "spec", "error_kind",
    ),
    "turns": (
        "game_id", "turn", "round", "seat", "kind", "action", "message", "valid", "shown_at", "answered_at",
    ),
    "llm_calls": (
        "game_id", "turn", "seat", "attempt", "model", "request", "response", "error",
        "prompt_tokens", "completion_tokens", "cached_tokens", "latency_ms", "finish_reason",
        "parsed", "rejection", "opponent_text_cut",
    ),
    "outcomes": (
        "game_id", "payoff_1", "payoff_2", "self_gain_1", "self_gain_2", "efficiency", "fairness",
        "agreement", "end_reason", "rounds", "forfeit_seat", "extras",
    ),
    "human_answers": (
        "game_id", "turn", "seat", "attempt", "shown_at", "answered_at", "answer", "parsed", "rejection",
    ),
}  # fmt: skip
"""The columns the row functions above fill, in their order (the tables may order theirs differently)."""

NOT_WRITTEN = {"games": {"turns", "calls", "answers", "outcome"}}
"""Record fields that are not columns of their table (they are rows of the other tables)."""


def _rows(records: Sequence[GameRecord], tries: dict[str, int]) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {table: [] for table in WRITTEN}
    games, turns, calls, outcomes, answers = (out[t] for t in WRITTEN)
    for r in records:
        games.append(game_row(r, tries.get(r.game_id, 0) + 1))
        turns.extend(turn_row(r.game_id, t) for t in r.turns)
        calls.extend(call_row(r.game_id, c) for c in r.calls)
        if r.outcome is not None:
            outcomes.append(outcome_row(r.game_id, r.outcome))
        answers.extend(answer_row(r.game_id, a) for a in r.answers)
    return out


def _arrow(table: str, rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """The rows as an Arrow table in the table's own schema (built once per batch, no per-row inserts)."""
    columns = dict(zip(COLUMNS[table], zip(*rows, strict=True), strict=True))
    return pa.Table.from_pydict({name: list(columns[name]) for name in schema.names}, schema=schema)


def write_games(
    con: duckdb.DuckDBPyConnection, records: Sequence[GameRecord], overwrite: Collection[str] = ()
) -> WriteSummary:
    """Insert finished games in one transaction: all of the batch or nothing. A stored game that is
    done is kept unless its id is in `overwrite` (a game with people, written as it goes).

    The writer works on its own cursor, so results a reader left open on `con` do not get in its way.
    """
    summary = WriteSummary()
    if not records:
        return summary
    with con.cursor() as cur:
        # The tables' own Arrow schemas, so every batch converts the same way (an all-null column too).
        schemas = {name: cur.sql(f"SELECT * FROM {name} LIMIT 0").to_arrow_table().schema for name in WRITTEN}
        ids = list(dict.fromkeys(r.game_id for r in records))
        cur.execute("BEGIN TRANSACTION")
        try:
            existing = {
                gid: (status, tries)
                for gid, status, tries in cur.execute(
                    "SELECT game_id, status, tries FROM games WHERE game_id IN (SELECT unnest(?))", [ids]
                ).fetchall()
            }
            batch: dict[str, GameRecord] = {}
            for r in records:
                done = existing.get(r.game_id, ("", 0))[0] in DONE and r.game_id not in overwrite
                if r.game_id in batch or done:
                    summary.skipped += 1
                else:
                    batch[r.game_id] = r
            replace = [gid for gid in batch if gid in existing]
            if replace:
                for name in reversed(WRITTEN):
                    cur.execute(f"DELETE FROM {name} WHERE game_id IN (SELECT unnest(?))", [replace])
            rows = _rows(list(batch.values()), {gid: existing[gid][1] for gid in replace})
            for name in WRITTEN:
                if rows[name]:
                    cur.register("batch_rows", _arrow(name, rows[name], schemas[name]))
                    cur.execute(f"INSERT INTO {name} SELECT * FROM batch_rows")
                    cur.unregister("batch_rows")
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
    summary.written = len(batch)
    summary.replaced = len(replace)
    return summary
