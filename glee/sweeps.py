"""Where a `-m` sweep keeps its jobs, so that running the same command again resumes it.

A sweep's folder is named by its overrides, not by the clock: `multirun/sweep-<hash>`, the hash of
the sorted command-line overrides that change what is played (`hydra.*` settings such as the
launcher or its number of processes are left out, so the same sweep resumes on any launcher).
Each job's folder is named by the job's own overrides (Hydra's `override_dirname`), so a job finds
its shard of the previous attempt and plays only the games that shard lacks.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import OmegaConf
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from glee.engine.record import GameRecord
    from glee.engine.specs import RunSummary
    from glee.store.writer import WriteSummary

SWEEP_ROOT = "multirun"
JOB_DIR_RESOLVER = "glee_job_dir"
_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f\s\"'`$*?]")
"""Characters kept out of a folder name: separators, control characters, spaces, shell specials."""
_MAX_NAME = 120


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


NOT_PLAYED = ("progress", "max_games_in_flight", "workers", "run_timeout_s", "replay")
"""Top-level keys that change how a job runs, not what it plays (also left out of job folder names)."""


def plays(override: str) -> bool:
    """Whether an override changes what is played (Hydra's own settings and NOT_PLAYED do not)."""
    key = override.split("=", 1)[0].lstrip("+~")
    return not (key in ("hydra", *NOT_PLAYED) or key.startswith(("hydra.", "hydra/")))


def sweep_dir(overrides: list[str]) -> str:
    """`multirun/sweep-<hash>`: the same for the same overrides in any order and with any launcher."""
    kept = sorted(o for o in overrides if plays(o))
    return f"{SWEEP_ROOT}/sweep-{_digest(chr(10).join(kept))}"


def job_dir(override_dirname: str) -> str:
    """A job's folder name, from Hydra's `override_dirname` of its overrides.

    Kept as it is when it is a safe file name; otherwise (a `/` in a value, or too long) cut
    to safe characters and suffixed with a hash of the whole, so two jobs never share a folder.
    """
    name = override_dirname or "default"
    safe = _UNSAFE.sub("_", name)
    if safe == name and len(name) <= _MAX_NAME:
        return name
    return f"{safe[: _MAX_NAME - 13]}-{_digest(name)}"


def register_resolvers() -> None:
    """`${glee_job_dir:...}` for run.yaml's `hydra.sweep.subdir` (safe to call more than once)."""
    if not OmegaConf.has_resolver(JOB_DIR_RESOLVER):
        OmegaConf.register_new_resolver(JOB_DIR_RESOLVER, job_dir)


class ShardSink:
    """A sweep job's sink: writes its shard, and skips games already done in the shard or in the
    database the shards are merged into (read when it exists and no process is writing it)."""

    def __init__(self, shard: Path, target: Path) -> None:
        from glee.store import open_store

        self.store = open_store(shard)
        self.path = shard
        self.target = target

    def done_ids(self, replay: Sequence[str] = ()) -> set[str]:
        from glee.errors import ConfigError
        from glee.store import open_store

        done = self.store.done_ids(replay)
        if self.target.exists() and self.target.resolve() != self.store.path.resolve():
            try:
                with open_store(self.target, read_only=True) as target:
                    done |= target.done_ids(replay)
            except ConfigError:
                pass  # being written by another process: the shard alone decides
        return done

    def begin_run(
        self, run_id: str, config: dict[str, Any], experiment: str | None = None, versions: dict[str, Any] | None = None
    ) -> None:
        self.store.begin_run(run_id, config, experiment, versions)

    def write(self, records: Sequence[GameRecord]) -> WriteSummary:
        return self.store.write(records)

    def close(self) -> None:
        self.store.close()


# --- SLURM ----------------------------------------------------------------------------------

SLURM_LAUNCHER = "submitit_slurm"


def picks_slurm(overrides: list[str]) -> bool:
    """Whether the command line runs its jobs on SLURM (`hydra/launcher=submitit_slurm`)."""
    return any(o.lstrip("+~").split("=", 1) == ["hydra/launcher", SLURM_LAUNCHER] for o in overrides)


def require_slurm_accounting() -> None:
    """Refuse SLURM without working accounting (`sacct`, through slurmdbd), with one line.

    submitit learns that a job ended from `sacct`; without accounting a job that died (killed,
    out of memory, node lost) stays UNKNOWN to it and the sweep would wait for it forever.
    """
    import subprocess

    from glee.errors import ConfigError

    why = (
        "glee runs sweeps on SLURM only with accounting (slurmdbd: AccountingStorageType="
        "accounting_storage/slurmdbd), since without it a job that died stays UNKNOWN and the sweep waits forever"
    )
    try:
        out = subprocess.run(
            ["sacct", "-n", "-X", "--starttime=now-1minutes", "--format=JobID"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except FileNotFoundError:
        raise ConfigError(f"hydra/launcher={SLURM_LAUNCHER}: no sacct command here; {why}") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"hydra/launcher={SLURM_LAUNCHER}: sacct did not answer within 60 s; {why}") from None
    if out.returncode != 0:
        lines = (out.stderr or out.stdout).strip().splitlines()
        said = lines[0].strip() if lines else f"exit status {out.returncode}"
        raise ConfigError(f"hydra/launcher={SLURM_LAUNCHER}: sacct does not work here ({said}); {why}")


# --- the table at the end of a sweep ---------------------------------------------------------

JOB_SUMMARY = "job.json"
"""What a job did, written into its folder for the table at the end of the sweep."""


class JobSummary(BaseModel):
    """One sweep job's counts, read back by the process that launched the sweep."""

    model_config = ConfigDict(extra="forbid")

    overrides: list[str]
    played: int
    skipped: int
    failed: int
    unplayed: int = 0
    failures: dict[str, int] = Field(default_factory=dict)
    error: str | None = None


def write_job_summary(job_dir: Path, overrides: list[str], summary: RunSummary) -> None:
    job = JobSummary(
        overrides=overrides,
        played=summary.played,
        skipped=summary.skipped,
        failed=summary.failed,
        unplayed=summary.unplayed,
        failures=summary.failures,
        error=summary.error,
    )
    (job_dir / JOB_SUMMARY).write_text(job.model_dump_json(indent=1), encoding="utf-8")


def job_summaries(sweep: Path, since: float = 0.0) -> list[JobSummary]:
    """The summaries of the jobs of the sweep folder written after `since` (a time.time())."""
    jobs = []
    for path in sorted(sweep.glob(f"*/{JOB_SUMMARY}")):
        if path.stat().st_mtime >= since:
            jobs.append(JobSummary.model_validate_json(path.read_text(encoding="utf-8")))
    return jobs


def job_table(sweep: Path, since: float = 0.0) -> str:
    """A row per job of the sweep folder (summaries written after `since`, a time.time()): the overrides
    that tell the jobs apart, played, skipped, failed (with reasons)."""
    jobs = job_summaries(sweep, since)
    if not jobs:
        return "no job of this sweep finished"
    common = set.intersection(*(set(j.overrides) for j in jobs)) if len(jobs) > 1 else set()
    rows = [("job", "played", "skipped", "failed")]
    for job in jobs:
        shown = (re.sub(r"^player@(player_[12])=", r"\1=", o) for o in job.overrides if o not in common)
        name = " ".join(shown) or "(no overrides)"
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(job.failures.items(), key=lambda kv: (-kv[1], kv[0])))
        failed = f"{job.failed}" + (f" ({reasons})" if reasons else "")
        rows.append((name, str(job.played), str(job.skipped), failed))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    total = [sum(int(getattr(j, k)) for j in jobs) for k in ("played", "skipped", "failed")]
    lines.append(f"{len(jobs)} jobs: played {total[0]}, skipped {total[1]}, failed {total[2]}")
    return "\n".join(line.rstrip() for line in lines)


# --- glee status -----------------------------------------------------------------------------


class ShardStatus(BaseModel):
    """One database of a sweep (or a single run's database) as `glee status` shows it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    shard: str | None
    planned: int | None
    """None when the database has no progress file (written by glee before it kept one)."""
    done: int
    failed: int
    running: int
    state: str


def shard_status(db: Path, name: str) -> ShardStatus:
    """Counts from the database when no process holds it, else from the progress file its run keeps."""
    import time

    import duckdb

    from glee.engine.progress import alive, read_progress
    from glee.store.writer import DONE

    progress = read_progress(db)
    counts: tuple[int, int] | None = None
    try:  # the file itself, never a snapshot of it: a file being written is the progress file's to tell
        with duckdb.connect(str(db), read_only=True) as con:
            row = con.execute(
                "SELECT count(*) FILTER (status IN (SELECT unnest(?))), count(*) FILTER (status = 'failed') FROM games",
                [list(DONE)],
            ).fetchone()
            counts = (int(row[0]), int(row[1])) if row else (0, 0)
    except duckdb.Error:
        pass  # being written (or not a glee database yet): the progress file speaks for it
    if progress is None:
        done, failed = counts or (0, 0)
        state = "unknown (no progress file)" if counts else "unreadable"
        return ShardStatus(name=name, shard=None, planned=None, done=done, failed=failed, running=0, state=state)
    done, failed, running = progress.done, progress.failed, progress.running
    if counts is not None:
        done, failed = counts
    if progress.finished:
        running = 0
        if progress.error:
            state = f"stopped: {progress.error}"
        elif progress.interrupted:
            state = "interrupted"
        else:
            state = "finished" if done >= progress.planned else f"finished, {progress.planned - done} to play again"
    else:
        live = alive(progress)
        if live is None:
            state = f"running on {progress.host}? (said so {time.time() - progress.updated_at:.0f} s ago)"
        elif live:
            state = "running"
        else:
            running, state = 0, "killed (run it again to resume)"
    return ShardStatus(
        name=name,
        shard=progress.shard,
        planned=progress.planned,
        done=done,
        failed=failed,
        running=running,
        state=state,
    )


def status_table(path: Path) -> str:
    """`glee status SWEEP_DIR|DB`: planned, done, failed and running games per database, and in total."""
    from glee.errors import ConfigError

    if path.is_dir():
        dbs = sorted(path.rglob("*.duckdb"))
        if not dbs:
            raise ConfigError(f"path: no *.duckdb file under {str(path)!r} (no job of this sweep started yet?)")
        rows = [shard_status(db, str(db.parent.relative_to(path)) if db.parent != path else db.name) for db in dbs]
    elif path.is_file():
        rows = [shard_status(path, path.name)]
    else:
        raise ConfigError(f"path: {str(path)!r} does not exist; allowed: a sweep directory or a database file")
    table = [("database", "shard", "planned", "done", "failed", "running", "state")]
    for r in rows:
        planned = "?" if r.planned is None else str(r.planned)
        table.append((r.name, r.shard or "-", planned, str(r.done), str(r.failed), str(r.running), r.state))
    known = [r.planned for r in rows if r.planned is not None]
    total_planned = str(sum(known)) + ("+?" if len(known) < len(rows) else "")
    running_jobs = sum(1 for r in rows if r.state == "running")
    table.append(
        (
            f"total ({len(rows)})",
            "",
            total_planned,
            str(sum(r.done for r in rows)),
            str(sum(r.failed for r in rows)),
            str(sum(r.running for r in rows)),
            f"{running_jobs} running",
        )
    )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = []
    for row in table:
        cells = [c.ljust(w) if i in (0, 1, 6) else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
