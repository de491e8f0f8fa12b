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

DONE = ("completed", "forfeit")
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


def _row(data: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    return {c: _json(data.get(c)) if c in JSON_FIELDS else data.get(c) for c in columns}


def _rows(records: Sequence[GameRecord], tries: dict[str, int], columns: dict[str, list[str]]) -> dict[str, list]:
    """The rows of a batch per table, keyed by the table's columns."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in WRITTEN}
    for r in records:
        game = dict(r)
        game["tries"] = tries.get(r.game_id, 0) + 1
        out["games"].append(_row(game, columns["games"]))
        for t in r.turns:
            out["turns"].append(_row({"game_id": r.game_id, **dict(t)}, columns["turns"]))
        for c in r.calls:
            out["llm_calls"].append(_row({"game_id": r.game_id, **dict(c)}, columns["llm_calls"]))
        if r.outcome is not None:
            out["outcomes"].append(_row({"game_id": r.game_id, **dict(r.outcome)}, columns["outcomes"]))
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
            rows = _rows(
                list(batch.values()),
                {gid: existing[gid][1] for gid in replace},
                {name: schema.names for name, schema in schemas.items()},
            )
            for name in WRITTEN:
                if rows[name]:
                    cur.register("batch_rows", pa.Table.from_pylist(rows[name], schema=schemas[name]))
                    cur.execute(f"INSERT INTO {name} SELECT * FROM batch_rows")
                    cur.unregister("batch_rows")
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
    summary.written = len(batch)
    summary.replaced = len(replace)
    return summary
