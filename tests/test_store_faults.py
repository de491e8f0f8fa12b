"""The database under faults, with real DuckDB files: a full disk (a 2 MB tmpfs) ends a run with one
line naming the file and the cause, keeps the file consistent and resumes; schema versions are stored
and checked before anything is played; a DuckDB file that is not glee's is refused untouched; merge
checks every shard first and lists the bad ones."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
"""The exit statuses README.md promises (glee.cli.EXIT_*), spelled out so that they are checked."""


GLEE = [str(Path(sys.executable).parent / "glee")]
RANDOM_PAIR = ["player_1=random", "player_2=random", "progress=false"]


def glee(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GLEE, *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=dict(os.environ))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB file system (tmpfs; the tests run as root), unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def test_a_full_disk_ends_the_run_with_one_line_and_the_run_resumes(tmp_path: Path, small_disk: Path) -> None:
    db = small_disk / "full.duckdb"
    games = ["game=bargaining", "grid={delta_1:[0.8,0.9,1.0]}", "n_games=1500", f"db={db}"]
    full = glee("run", *games, *RANDOM_PAIR, cwd=tmp_path)
    assert full.returncode == EXIT_FAILED, full.stderr
    lines = full.stderr.strip().splitlines()
    assert lines == [
        f"glee: error: db: cannot write {db}: No space left on device; the batches written before are kept "
        f"and the same command resumes once the cause is fixed"
    ], full.stderr
    # Room again: the same command plays exactly the missing games, each once.
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    resumed = glee("run", *games, *RANDOM_PAIR, cwd=tmp_path)
    assert resumed.returncode == EXIT_OK, resumed.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        counts = con.execute("SELECT count(*), count(DISTINCT game_id) FROM games").fetchone()
        orphans = con.execute("SELECT count(*) FROM outcomes WHERE game_id NOT IN (SELECT game_id FROM games)")
        assert orphans.fetchone() == (0,)
        runs = con.execute("SELECT count(*) FROM runs").fetchone()
    assert counts == (4500, 4500) and runs == (2,)


def older_glee_file(tmp_path: Path) -> Path:
    """A database as an older glee left it: games played, then the columns added since dropped
    (games.tries, spec and error_kind, runs.overrides) and no stored schema version."""
    db = tmp_path / "old.duckdb"
    made = glee("run", "game=bargaining", "n_games=2", f"db={db}", *RANDOM_PAIR, cwd=tmp_path)
    assert made.returncode == EXIT_OK, made.stderr
    with duckdb.connect(str(db)) as con:
        views = [r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
        for view in views:
            con.execute(f"DROP VIEW {view}")
        for table, column in (("games", "tries"), ("games", "spec"), ("games", "error_kind"), ("runs", "overrides")):
            con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        con.execute("DROP TABLE IF EXISTS glee_schema")
    return db


def test_an_older_glee_file_is_migrated_before_playing_with_one_line(tmp_path: Path) -> None:
    db = older_glee_file(tmp_path)
    result = glee("run", "game=negotiation", "n_games=2", f"db={db}", *RANDOM_PAIR, cwd=tmp_path)
    assert result.returncode == EXIT_OK, result.stderr
    migrated = [line for line in result.stderr.splitlines() if "migrated" in line]
    # (games.error_kind is added by schema.sql's own ALTER, before the columns are compared)
    assert migrated == [f"glee: migrated {db} from schema 1 to 2: games.tries, games.spec, runs.overrides"]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT version FROM glee_schema").fetchall() == [(2,)]
        games = con.execute("SELECT family, count(*), min(tries) FROM games GROUP BY 1 ORDER BY 1").fetchall()
        assert games == [("bargaining", 2, 1), ("negotiation", 2, 1)]
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (2,)
    again = glee("run", "game=negotiation", "n_games=2", f"db={db}", *RANDOM_PAIR, cwd=tmp_path)
    assert again.returncode == EXIT_OK and "migrated" not in again.stderr


def test_a_duckdb_file_that_is_not_gleees_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "theirs.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE games (id INTEGER, name VARCHAR)")
        con.execute("INSERT INTO games VALUES (1, 'chess')")
    result = glee("run", f"db={db}", *RANDOM_PAIR, cwd=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"glee: error: db: {db} is a DuckDB file that is not glee's (its tables: games); allowed: a new path, "
        f"an empty file or a glee database; nothing was written to it"
    ]
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        views = con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone()
        assert tables == [("games",)] and views == (0,)
        assert con.execute("SELECT * FROM games").fetchall() == [(1, "chess")]


def test_a_file_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "newer.duckdb"
    assert glee("run", "game=bargaining", f"db={db}", *RANDOM_PAIR, cwd=tmp_path).returncode == EXIT_OK
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE glee_schema SET version = 99")
    result = glee("run", "game=negotiation", f"db={db}", *RANDOM_PAIR, cwd=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT and "Traceback" not in result.stderr
    assert "has glee schema version 99, newer than this glee's 2" in result.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (1,)  # no run was added


def test_merge_checks_every_shard_merges_the_good_ones_and_lists_the_bad(tmp_path: Path) -> None:
    shards = []
    for seed in range(3):
        db = tmp_path / f"shard{seed}.duckdb"
        made = glee("run", "game=bargaining", "n_games=20", f"seed={seed}", f"db={db}", *RANDOM_PAIR, cwd=tmp_path)
        assert made.returncode == EXIT_OK, made.stderr
        shards.append(db)
    # The middle shard corrupted past its header (its data blocks), as a bad disk or a cut copy leaves it.
    data = bytearray(shards[1].read_bytes())
    assert len(data) > 300_000
    data[270_000:290_000] = bytes(range(256)) * 78 + bytes(32)
    shards[1].write_bytes(bytes(data))
    theirs = tmp_path / "theirs.duckdb"
    with duckdb.connect(str(theirs)) as con:
        con.execute("CREATE TABLE games (id INTEGER)")
    out = tmp_path / "merged.duckdb"
    result = glee("merge", str(shards[0]), str(shards[1]), str(theirs), str(shards[2]), "--out", str(out), cwd=tmp_path)
    assert result.returncode == EXIT_FAILED, result.stderr
    assert result.stdout.startswith(f"merged 2 shards into {out}: 40 games added")
    errors = result.stderr.strip().splitlines()
    assert errors[0] == "glee: error: 2 of 4 shards not merged:" and len(errors) == 3, result.stderr
    assert errors[1].startswith(f"  {shards[1]}: ") and errors[2].startswith(f"  {theirs}: ")
    assert "not glee's" in errors[2] and "Traceback" not in result.stderr
    with duckdb.connect(str(out), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT run_id) FROM games").fetchone() == (40, 2)


HOLDER = """
import sys
from pathlib import Path
from glee.engine.scheduler import run
from glee.store import open_store
from tests.conftest import baseline, small_config
store = open_store(Path(sys.argv[1]))  # a run's writer: its batches committed, the file still open
run(small_config(store.path, [(baseline("random"), baseline("random"))], n_games=5), sink=store)
print("writing", flush=True)
sys.stdin.read()
store.close()
"""


def test_show_report_and_sql_read_a_database_while_a_run_writes_it(tmp_path: Path) -> None:
    db = tmp_path / "busy.duckdb"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "writing"
        notice = f"glee: {db} is being written by "
        counted = glee("sql", str(db), "SELECT count(*) AS n FROM games", cwd=tmp_path)
        assert counted.returncode == EXIT_OK, counted.stderr
        assert "60" in counted.stdout and counted.stderr.startswith(notice)
        assert f"(PID {holder.pid})" in counted.stderr
        gid = glee("sql", str(db), "SELECT game_id FROM games LIMIT 1", cwd=tmp_path).stdout
        game_id = next(w for w in gid.split() if len(w) >= 12 and w.isalnum())
        shown = glee("show", game_id, "--db", str(db), cwd=tmp_path)
        assert shown.returncode == EXIT_OK and game_id in shown.stdout, shown.stderr
        report = glee("report", "--db", str(db), "--out", str(tmp_path / "r.html"), cwd=tmp_path)
        assert report.returncode == EXIT_OK and (tmp_path / "r.html").stat().st_size > 1000, report.stderr
    finally:
        holder.communicate("")
    assert holder.returncode == 0
