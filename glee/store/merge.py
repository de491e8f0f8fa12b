"""`glee merge`: combine shard databases (one per job) into one, each game once."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from glee.errors import ConfigError
from glee.store.database import connect, open_store
from glee.store.writer import DONE, WRITTEN


class MergeSummary(BaseModel):
    out: Path
    shards: int
    games_added: int = 0
    duplicates_dropped: int = 0
    """Games of a shard already in the output (or in an earlier shard) and not taken."""
    failed_replaced: int = 0
    """Failed games in the output replaced by a completed or forfeited copy from a shard."""
    runs_added: int = 0


def sql_literal(text: str) -> str:
    """`text` as a SQL string literal (a quote is doubled, so no text can end the literal)."""
    return "'" + text.replace("'", "''") + "'"


def merge(shards: list[Path], out: Path) -> MergeSummary:
    """Add every game of `shards` to `out` (created if missing) that `out` lacks.

    A game already completed or forfeited in `out` is kept and the shard's copy dropped; a
    failed one is replaced by a shard's completed or forfeited copy. One transaction per shard.
    """
    summary = MergeSummary(out=out, shards=len(shards))
    for shard in shards:
        if not Path(shard).exists():
            raise ConfigError(f"shards: no database at {shard}")
        if Path(shard).resolve() == Path(out).resolve():
            raise ConfigError(f"shards: {shard} is the output database itself")
        connect(shard, read_only=True).close()  # a clear error if the shard is held by a writer
    done = ", ".join(f"'{s}'" for s in DONE)
    with open_store(out) as store:
        con = store.con
        for shard in shards:
            # DuckDB 1.x takes no bound parameter in ATTACH, so the path is a quoted SQL literal.
            con.execute(f"ATTACH {sql_literal(str(shard))} AS shard (READ_ONLY)")
            try:
                con.execute("BEGIN TRANSACTION")
                con.execute(
                    f"""
                    CREATE OR REPLACE TEMP TABLE take AS
                    SELECT s.game_id, o.game_id IS NOT NULL AS replacing FROM shard.games s
                    LEFT JOIN games o USING (game_id)
                    WHERE o.game_id IS NULL OR (o.status = 'failed' AND s.status IN ({done}))
                    """
                )
                total = con.execute("SELECT count(*) FROM shard.games").fetchone()
                taken, replacing = con.execute("SELECT count(*), count(*) FILTER (replacing) FROM take").fetchone()  # type: ignore[misc]
                for name in reversed(WRITTEN):
                    con.execute(f"DELETE FROM {name} WHERE game_id IN (SELECT game_id FROM take WHERE replacing)")
                # A shard written by an earlier glee has games.rounds (now rounds_played); it is read-only here.
                old = con.execute(
                    "SELECT count(*) FROM duckdb_columns() WHERE database_name = 'shard' AND table_name = 'games'"
                    " AND column_name = 'rounds'"
                ).fetchone()
                renamed = {"games": " RENAME (rounds AS rounds_played)"} if old and old[0] else {}
                present = {
                    r[0]
                    for r in con.execute(
                        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'shard'"
                    ).fetchall()
                }
                for name in (n for n in WRITTEN if n in present):  # a shard of an earlier glee lacks newer tables
                    con.execute(
                        f"INSERT INTO {name} BY NAME SELECT *{renamed.get(name, '')} FROM shard.{name} "
                        "WHERE game_id IN (SELECT game_id FROM take)"
                    )
                runs = con.execute(
                    "INSERT INTO runs BY NAME SELECT * FROM shard.runs WHERE run_id NOT IN (SELECT run_id FROM runs)"
                ).fetchone()
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                con.execute("DETACH shard")
            summary.games_added += taken - replacing
            summary.failed_replaced += replacing
            summary.duplicates_dropped += (total[0] if total else 0) - taken
            summary.runs_added += runs[0] if runs else 0
    return summary
