"""The single writer: finished games -> one transaction per batch, inserted as Arrow tables.

Policy for replays: a game_id is written once as completed or forfeit, never again (the
primary key on games.game_id enforces it, and such records are skipped). A failed game is
played again on resume; its new record REPLACES the failed rows (game, turns, calls) in the
same transaction, and `games.tries` counts how often it was played. Only the latest try's
transcript is kept, so every table stays one game per game_id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import BaseModel

from glee.engine.record import GameRecord

DONE = ("completed", "forfeit")


class WriteSummary(BaseModel):
    written: int = 0
    replaced: int = 0
    """Failed games whose earlier try was replaced."""
    skipped: int = 0
    """Games already completed or forfeited in the database (or twice in the batch)."""


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _message(action: dict[str, Any] | None) -> str | None:
    message = (action or {}).get("message")
    return message if isinstance(message, str) else None


def _rows(records: Sequence[GameRecord], tries: dict[str, int]) -> dict[str, pa.Table]:
    """Column-wise tables of a batch (built in Python lists, converted once: no per-row inserts)."""
    games: dict[str, list[Any]] = {k: [] for k in (
        "game_id", "run_id", "family", "params", "player_1", "player_2", "seed", "replicate", "status",
        "end_reason", "rounds", "started_at", "finished_at", "error", "forfeit_seat", "source_id", "conforms",
        "conform_error", "tries", "spec")}
    turns: dict[str, list[Any]] = {k: [] for k in
                                   ("game_id", "turn", "round", "seat", "kind", "action", "message", "valid")}
    calls: dict[str, list[Any]] = {k: [] for k in (
        "game_id", "turn", "seat", "attempt", "model", "request", "response", "error", "prompt_tokens",
        "completion_tokens", "cached_tokens", "latency_ms", "finish_reason", "parsed", "rejection")}
    outcomes: dict[str, list[Any]] = {k: [] for k in (
        "game_id", "payoff_1", "payoff_2", "self_gain_1", "self_gain_2", "efficiency", "fairness", "agreement",
        "end_reason", "rounds", "forfeit_seat", "extras")}
    for r in records:
        for key in ("game_id", "run_id", "family", "player_1", "player_2", "seed", "replicate", "status",
                    "end_reason", "rounds", "started_at", "finished_at", "error", "forfeit_seat", "source_id",
                    "conforms", "conform_error"):
            games[key].append(getattr(r, key))
        games["params"].append(_json(r.params))
        games["spec"].append(_json(r.spec))
        games["tries"].append(tries.get(r.game_id, 0) + 1)
        for t in r.turns:
            turns["game_id"].append(r.game_id)
            turns["turn"].append(t.turn)
            turns["round"].append(t.round)
            turns["seat"].append(t.seat)
            turns["kind"].append(t.kind)
            turns["action"].append(_json(t.action))
            turns["message"].append(t.message if t.message is not None else _message(t.action))
            turns["valid"].append(t.valid)
        for c in r.calls:
            calls["game_id"].append(r.game_id)
            for key in ("turn", "seat", "attempt", "model", "response", "error", "prompt_tokens",
                        "completion_tokens", "cached_tokens", "latency_ms", "finish_reason", "rejection"):
                calls[key].append(getattr(c, key))
            calls["request"].append(_json(c.request))
            calls["parsed"].append(_json(c.parsed))
        if r.outcome is not None:
            o = r.outcome
            outcomes["game_id"].append(r.game_id)
            for key in ("payoff_1", "payoff_2", "self_gain_1", "self_gain_2", "efficiency", "fairness",
                        "agreement", "end_reason", "rounds", "forfeit_seat"):
                outcomes[key].append(getattr(o, key))
            outcomes["extras"].append(_json(o.extras))
    types = {"seed": pa.int64(), "started_at": pa.timestamp("us", tz="UTC"),
             "finished_at": pa.timestamp("us", tz="UTC"), "latency_ms": pa.float64(),
             "payoff_1": pa.float64(), "payoff_2": pa.float64(), "self_gain_1": pa.float64(),
             "self_gain_2": pa.float64(), "efficiency": pa.float64(), "fairness": pa.float64()}

    def table(columns: dict[str, list[Any]]) -> pa.Table:
        # Explicit types where a column may be all-null in a batch (Arrow would infer `null`).
        return pa.table({k: pa.array(v, type=types.get(k, _infer(k))) for k, v in columns.items()})

    return {"games": table(games), "turns": table(turns), "llm_calls": table(calls), "outcomes": table(outcomes)}


_INTS = {"rounds", "replicate", "forfeit_seat", "turn", "round", "seat", "attempt", "tries", "prompt_tokens",
         "completion_tokens", "cached_tokens"}
_BOOLS = {"conforms", "valid", "agreement"}


def _infer(column: str) -> pa.DataType:
    if column in _INTS:
        return pa.int64()
    if column in _BOOLS:
        return pa.bool_()
    return pa.string()


def write_games(con: duckdb.DuckDBPyConnection, records: Sequence[GameRecord]) -> WriteSummary:
    """Insert finished games in one transaction: all of the batch or nothing."""
    summary = WriteSummary()
    if not records:
        return summary
    ids = list(dict.fromkeys(r.game_id for r in records))
    con.execute("BEGIN TRANSACTION")
    try:
        existing = dict(
            (gid, (status, tries)) for gid, status, tries in con.execute(
                "SELECT game_id, status, tries FROM games WHERE game_id IN (SELECT unnest(?))", [ids]
            ).fetchall()
        )
        batch: dict[str, GameRecord] = {}
        for r in records:
            if r.game_id in batch or existing.get(r.game_id, ("", 0))[0] in DONE:
                summary.skipped += 1
                continue
            batch[r.game_id] = r
        replace = [gid for gid in batch if gid in existing]
        if replace:
            for name in ("turns", "llm_calls", "outcomes", "games"):
                con.execute(f"DELETE FROM {name} WHERE game_id IN (SELECT unnest(?))", [replace])
        tables = _rows(list(batch.values()), {gid: existing[gid][1] for gid in replace})
        for name, tbl in tables.items():
            if tbl.num_rows:
                con.register("_batch", tbl)
                con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _batch")
                con.unregister("_batch")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    summary.written = len(batch)
    summary.replaced = len(replace)
    return summary
