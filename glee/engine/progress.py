"""A run's progress, kept in a small JSON file beside its database so that others can read it while it runs.

DuckDB lets one process open a file for writing and no other process open it at all meanwhile,
so `glee status` reads `<db>.progress.json` for a database that is being written: what the run
plans, has done, has seen fail and has in flight, by whom (host, pid) and when it last said so.
The file is replaced whole (written beside and renamed), so a reader never sees half of it.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

PROGRESS_SUFFIX = ".progress.json"
EVERY_S = 1.0
"""The least time between two updates of the file while a run plays."""


def progress_path(db: Path) -> Path:
    """Where the run writing `db` keeps its progress: `<db>.progress.json`."""
    return db.with_name(db.name + PROGRESS_SUFFIX)


class Progress(BaseModel):
    """What a run writing one database has done so far."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    shard: str | None = None
    """`K/N` when the run plays one shard of its plan."""
    planned: int
    done: int
    """Games of the plan the database holds as completed or forfeited (from earlier runs too)."""
    failed: int = 0
    """Games that failed in this run (played again by the next one)."""
    running: int = 0
    """Games in flight."""
    workers: int = 1
    host: str
    pid: int
    started_at: float
    updated_at: float
    finished: bool = False
    """The run ended (all played, interrupted or stopped): nothing of it is running any more."""
    interrupted: bool = False
    error: str | None = None


class ProgressFile:
    """Keeps `<db>.progress.json` up to date for one run (at most every EVERY_S seconds, and at the end)."""

    def __init__(self, db: Path, run_id: str, planned: int, done: int, shard: str | None, workers: int) -> None:
        now = time.time()
        self.path = progress_path(db)
        self.state = Progress(
            run_id=run_id,
            shard=shard,
            planned=planned,
            done=done,
            workers=workers,
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=now,
            updated_at=now,
        )
        self.last = 0.0
        self.save()

    def update(self, done: int, failed: int, running: int, force: bool = False) -> None:
        now = time.time()
        if not force and now - self.last < EVERY_S:
            return
        self.state = self.state.model_copy(update={"done": done, "failed": failed, "running": running})
        self.save()

    def finish(self, done: int, failed: int, interrupted: bool, error: str | None) -> None:
        self.state = self.state.model_copy(
            update={
                "done": done,
                "failed": failed,
                "running": 0,
                "finished": True,
                "interrupted": interrupted,
                "error": error,
            }
        )
        self.save()

    def save(self) -> None:
        now = time.time()
        self.last = now
        self.state.updated_at = now
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        partial.write_text(self.state.model_dump_json(indent=1), encoding="utf-8")
        os.replace(partial, self.path)


def read_progress(db: Path) -> Progress | None:
    """The progress file of `db`, or None when there is none (or it cannot be read)."""
    path = progress_path(db)
    try:
        return Progress.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def alive(progress: Progress) -> bool | None:
    """Whether the process that writes this progress still runs; None when it runs on another host."""
    if progress.host != socket.gethostname():
        return None
    try:
        os.kill(progress.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
