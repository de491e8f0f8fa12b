"""The single writer: finished games -> one transaction per batch, inserted as Arrow tables.

Policy for replays: a game_id is written once as completed or forfeit, never again (the
primary key on games.game_id enforces it, and such records are skipped). A failed game is
played again on resume; its new record REPLACES the failed rows (game, turns, calls) in the
same transaction, and `games.tries` counts how often it was played. Only the latest try's
transcript is kept, so every table holds one game per game_id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import BaseModel

from glee.engine.record import GameRecord

DONE = ("completed", "forfeit", "abandoned")
"""Statuses never played or written again (a person who left is not brought back by a resume)."""
WRITTEN = ("games", "turns", "llm_calls", "outcomes")
JSON_FIELDS = {"params", "spec", "action", "request", "parsed", "extras"}


class WriteSummary(BaseModel):
    written: int = 0
    replaced: int = 0
    """Failed games whose earlier try was replaced."""
    skipped: int = 0
    """Games already completed or forfeited in the database (or twice in the batch)."""


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _append(columns: dict[str, list[Any]], source: Any, game_id: str) -> None:
    """Append one row, read from `source`'s attributes, to column lists (JSON columns encoded)."""
    for name, values in columns.items():
        if name == "game_id":
            values.append(game_id)
        elif name in JSON_FIELDS:
            values.append(_json(getattr(source, name, None)))
        else:
            values.append(getattr(source, name, None))


def _columns(
    records: Sequence[GameRecord], tries: dict[str, int], names: dict[str, list[str]]
) -> dict[str, dict[str, list[Any]]]:
    """The batch as column lists per table: built once, converted to Arrow once (no per-row inserts)."""
    out: dict[str, dict[str, list[Any]]] = {table: {c: [] for c in names[table]} for table in WRITTEN}
    games, turns, calls, outcomes = (out[t] for t in WRITTEN)
    for r in records:
        _append(games, r, r.game_id)
        games["tries"][-1] = tries.get(r.game_id, 0) + 1
        for t in r.turns:
            _append(turns, t, r.game_id)
        for c in r.calls:
            _append(calls, c, r.game_id)
        if r.outcome is not None:
            _append(outcomes, r.outcome, r.game_id)
    return out


def write_games(con: duckdb.DuckDBPyConnection, records: Sequence[GameRecord]) -> WriteSummary:
    """Insert finished games in one transaction: all of the batch or nothing.

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
                if r.game_id in batch or existing.get(r.game_id, ("", 0))[0] in DONE:
                    summary.skipped += 1
                else:
                    batch[r.game_id] = r
            replace = [gid for gid in batch if gid in existing]
            if replace:
                for name in reversed(WRITTEN):
                    cur.execute(f"DELETE FROM {name} WHERE game_id IN (SELECT unnest(?))", [replace])
            columns = _columns(
                list(batch.values()),
                {gid: existing[gid][1] for gid in replace},
                {name: schema.names for name, schema in schemas.items()},
            )
            for name in WRITTEN:
                if columns[name]["game_id"]:
                    cur.register("batch_rows", pa.Table.from_pydict(columns[name], schema=schemas[name]))
                    cur.execute(f"INSERT INTO {name} SELECT * FROM batch_rows")
                    cur.unregister("batch_rows")
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
    summary.written = len(batch)
    summary.replaced = len(replace)
    return summary
