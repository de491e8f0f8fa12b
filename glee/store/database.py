"""Opening a glee database: one writer process per file (a DuckDB rule), any number of readers."""

from __future__ import annotations

import atexit
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
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
from glee.errors import ConfigError, StoreError
from glee.prompts import prompt_set_versions
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
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"db: cannot make the folder of {path}: {exc.strerror or exc}") from None
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            held = re.search(r"held in (.+?) \(PID (\d+)\)", text)
            who = f" by {held.group(1)} (PID {held.group(2)})" if held else ""
            if read_only:  # a reader during a run: a snapshot copy of what is committed so far
                return snapshot(path, who)
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


_FILE_SYSTEM = re.compile(r"No space left on device|Disk quota exceeded|Read-only file system|Input/output error")


def is_file_system_fault(exc: BaseException) -> bool:
    """A DuckDB error caused by the file system (DuckDB reports a full disk at commit as a
    TransactionException), not by glee or the data."""
    return isinstance(exc, duckdb.IOException | duckdb.FatalException) or bool(_FILE_SYSTEM.search(str(exc)))


def write_failed(path: Path, exc: BaseException) -> StoreError:
    """One line naming the file and the cause of a failed write (DuckDB's message, its first line)."""
    text = str(exc).strip()
    found = _FILE_SYSTEM.search(text)
    cause = found.group(0) if found else None
    first = text.splitlines()[0] if text else type(exc).__name__
    return StoreError(
        f"db: cannot write {path}: {cause or first}; the batches written before are kept and the same "
        f"command resumes once the cause is fixed"
    )


_SNAPSHOTS: list[tempfile.TemporaryDirectory[str]] = []
"""Snapshot copies this process opened, removed when it exits."""


def _remove_snapshots() -> None:
    for folder in _SNAPSHOTS:
        folder.cleanup()


def snapshot(path: Path, who: str = "", tries: int = 3) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a copy of `path` and its WAL, for reading a database that a run is
    writing (DuckDB lets one process open a file while another writes it not at all). The writer
    appends each committed batch to the WAL, so the copy holds every batch committed before it,
    as after a crash; a copy torn by a checkpoint in progress fails to open and is taken again.
    One line on stderr says that a snapshot is read."""
    last: Exception | None = None
    for _ in range(tries):
        folder = tempfile.TemporaryDirectory(prefix="glee-snapshot-")
        copy = Path(folder.name) / path.name
        try:
            shutil.copyfile(path, copy)
            wal = path.with_name(path.name + ".wal")
            if wal.exists():
                shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
            con = duckdb.connect(str(copy), read_only=False)  # replays the copied WAL into the copy
            con.execute("CHECKPOINT")
            con.close()
            con = duckdb.connect(str(copy), read_only=True)
        except (OSError, duckdb.Error) as exc:
            last = exc
            folder.cleanup()
            continue
        _SNAPSHOTS.append(folder)
        if len(_SNAPSHOTS) == 1:
            atexit.register(_remove_snapshots)
        print(
            f"glee: {path} is being written{who}; reading a snapshot of it taken at "
            f"{datetime.now().astimezone():%H:%M:%S}",
            file=sys.stderr,
        )
        return con
    raise ConfigError(f"db: {path} is being written{who} and no snapshot of it could be read: {last}")


class Store:
    """A glee database: the tables, the views, the writer and the readers on one connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only
        self.replaying: set[str] = set()
        """Done games that done_ids() left out because a run asked to replay them (the writer replaces them)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.con.close()
        except duckdb.Error as exc:
            if not is_file_system_fault(exc):  # a bug, not the disk: its own traceback
                raise
            raise write_failed(self.path, exc) from None

    def game_ids(self) -> set[str]:
        """Every game id in the database, whatever its status."""
        return {r[0] for r in self.con.execute("SELECT game_id FROM games").fetchall()}

    def done_ids(self, replay: Sequence[str] = ()) -> set[str]:
        """Games not to play again: those with a status in DONE, except the ones whose status or end
        reason is in `replay` (remembered in `replaying`, so that the writer replaces their rows)."""
        rows = self.con.execute(
            "SELECT game_id, status IN (SELECT unnest(?)) OR coalesce(end_reason IN (SELECT unnest(?)), false) "
            "FROM games WHERE status IN (SELECT unnest(?))",
            [list(replay), list(replay), list(DONE)],
        ).fetchall()
        self.replaying = {gid for gid, again in rows if again}
        return {gid for gid, again in rows if not again}

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
            "prompt_sets": prompt_set_versions(),
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
        try:
            return write_games(self.con, records, {*overwrite, *self.replaying})
        except duckdb.Error as exc:
            if not is_file_system_fault(exc):  # a bug, not the disk: its own traceback
                raise
            raise write_failed(self.path, exc) from None


def open_store(path: Path | str = Path("data/glee.duckdb"), read_only: bool = False) -> Store:
    """Open (and, for writing, create or migrate the schema of) a glee database."""
    con = connect(path, read_only)
    if not read_only:
        try:
            schema.create(con, path)
        except BaseException:
            con.close()
            raise
    return Store(con, Path(path), read_only)
