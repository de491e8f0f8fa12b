"""`glee merge`: combine shard databases (one per job) into one, each game once."""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb
from pydantic import BaseModel

from glee.errors import ConfigError
from glee.store.database import connect, open_store
from glee.store.schema import TABLES, backfill_metrics, stored_version
from glee.store.writer import DONE, WRITTEN


class BadShard(BaseModel):
    """A shard that was not merged, and why."""

    path: Path
    reason: str


class MergeSummary(BaseModel):
    out: Path
    shards: int
    """Shards merged (the good ones)."""
    bad: list[BadShard] = []
    """Shards left out: unreadable, corrupted, not glee's, or failing while merged (each its own transaction)."""
    games_added: int = 0
    duplicates_dropped: int = 0
    """Games of a shard already in the output (or in an earlier shard) and not taken."""
    failed_replaced: int = 0
    """Failed games in the output replaced by a completed or forfeited copy from a shard."""
    runs_added: int = 0


def sql_literal(text: str) -> str:
    """`text` as a SQL string literal (a quote is doubled, so no text can end the literal)."""
    return "'" + text.replace("'", "''") + "'"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def shard_problem(shard: Path) -> str | None:
    """Why `shard` cannot be merged (held by a writer, not a DuckDB file, corrupted, not glee's, a newer
    schema), or None: it is opened read-only and every table read through."""
    try:
        con = connect(shard, read_only=True)
    except ConfigError as exc:
        return str(exc)
    try:
        stored_version(con, shard)
        present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        for table in (t for t in TABLES if t in present):  # a shard of an earlier glee lacks newer tables
            con.execute(f"SELECT * FROM {table}").fetch_arrow_table()  # every block, so corruption shows here
    except ConfigError as exc:
        return str(exc)
    except duckdb.Error as exc:
        return _first_line(exc)
    finally:
        con.close()
    return None


def merge(shards: list[Path], out: Path) -> MergeSummary:
    """Add every game of `shards` to `out` (created if missing) that `out` lacks.

    A game already completed or forfeited in `out` is kept and the shard's copy dropped; a
    failed one is replaced by a shard's completed or forfeited copy. One transaction per shard.
    Every shard is checked first (shard_problem); the bad ones are left out and listed in
    `MergeSummary.bad` with their reasons, the good ones merged.
    """
    for shard in shards:
        if not Path(shard).exists():
            raise ConfigError(f"shards: no database at {shard}")
        if Path(shard).resolve() == Path(out).resolve():
            raise ConfigError(f"shards: {shard} is the output database itself")
    # Every shard is checked before anything is merged; the bad ones are listed, the good ones merged.
    bad = {shard: reason for shard in shards if (reason := shard_problem(shard)) is not None}
    good = [shard for shard in shards if shard not in bad]
    summary = MergeSummary(out=out, shards=0, bad=[BadShard(path=s, reason=r) for s, r in bad.items()])
    done = ", ".join(f"'{s}'" for s in DONE)
    with open_store(out) as store:
        con = store.con
        for shard in good:
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
            except duckdb.Error as exc:  # a shard that broke while read: left out, the others go on
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                summary.bad.append(BadShard(path=shard, reason=_first_line(exc)))
                continue
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
            finally:
                with contextlib.suppress(duckdb.Error):
                    con.execute("DETACH shard")
            summary.shards += 1
            summary.games_added += taken - replacing
            summary.failed_replaced += replacing
            summary.duplicates_dropped += (total[0] if total else 0) - taken
            summary.runs_added += runs[0] if runs else 0
        backfill_metrics(con)  # the metric variants of games from shards written before them
    return summary
