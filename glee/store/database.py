"""Opening a glee database: one writer process per file (a DuckDB rule), any number of readers."""

from __future__ import annotations

import json
import platform
import re
import subprocess
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import duckdb

import glee
from glee.api_keys import scrub
from glee.engine.plan import family_versions
from glee.engine.record import GameRecord
from glee.errors import ConfigError
from glee.store import schema
from glee.store.writer import DONE, WriteSummary, write_games


def git_commit() -> str | None:
    """The commit of the glee source tree, when it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(glee.__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def connect(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection, or one ConfigError naming the file (and the process holding it)."""
    path = Path(path)
    if read_only and not path.exists():
        raise ConfigError(f"db: no database at {path}")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            held = re.search(r"held in (.+?) \(PID (\d+)\)", text)
            who = f" by {held.group(1)} (PID {held.group(2)})" if held else ""
            raise ConfigError(
                f"db: {path} is open for writing{who}; one process writes a database file - wait for it, "
                f"or give this run its own file (db=...) and combine them with `glee merge`"
            ) from None
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        if "created with a newer version of DuckDB" in text:
            raise ConfigError(
                f"db: {path} was written by a newer DuckDB than this one ({duckdb.__version__}): {first}; "
                f"allowed: files of DuckDB up to {duckdb.__version__} (glee pins duckdb<2)"
            ) from None
        raise ConfigError(f"db: cannot open {path}: {first}") from None


class Store:
    """A glee database: the tables, the views, the writer and the readers on one connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def game_ids(self) -> set[str]:
        """Every game id in the database, whatever its status."""
        return {r[0] for r in self.con.execute("SELECT game_id FROM games").fetchall()}

    def done_ids(self) -> set[str]:
        """Games never to play again: completed, forfeited or abandoned."""
        rows = self.con.execute("SELECT game_id FROM games WHERE status IN (SELECT unnest(?))", [list(DONE)]).fetchall()
        return {r[0] for r in rows}

    def begin_run(
        self, run_id: str, config: dict[str, Any], experiment: str | None = None, versions: dict[str, Any] | None = None
    ) -> None:
        """Record a run (its config scrubbed of anything key-like) with the versions behind its games;
        the config's `overrides` (the command line) go to their own column."""
        info = {
            "glee": glee.__version__,
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "families": family_versions(),
            **(versions or {}),
        }
        config = dict(config)
        overrides = config.pop("overrides", None)
        self.con.execute(
            "INSERT INTO runs (run_id, started_at, config, git_commit, versions, experiment, overrides) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                datetime.now(UTC),
                json.dumps(scrub(config)),
                git_commit(),
                json.dumps(info),
                experiment,
                json.dumps(scrub(overrides)) if overrides is not None else None,
            ],
        )

    def write(self, records: Sequence[GameRecord], overwrite: Collection[str] = ()) -> WriteSummary:
        """Insert finished games, one transaction for the batch (see glee.store.writer for replays)."""
        return write_games(self.con, records, overwrite)


def open_store(path: Path | str = Path("data/glee.duckdb"), read_only: bool = False) -> Store:
    """Open (and, for writing, create or migrate the schema of) a glee database."""
    con = connect(path, read_only)
    if not read_only:
        schema.create(con)
    return Store(con, Path(path), read_only)
