"""Plan sharding: `shard=K/N` plays one part of a stable partition of the plan by game id, `shards=N`
runs all N parts as a sweep, and `glee status` shows each shard's progress, also while it is written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from glee.config import expand_shards, validate
from glee.engine import plan
from glee.engine.progress import ProgressFile, progress_path, read_progress
from glee.engine.specs import Shard
from glee.errors import ConfigError
from glee.sweeps import status_table
from tests.test_cli import glee


@pytest.fixture(scope="module")
def paper() -> list[str]:
    config = validate(["experiment=paper", "player@player_1=spe", "player@player_2=random"])
    ids = [spec.game_id for spec in plan(config)]
    assert len(ids) == 1320  # the GLEE paper's grids: 384 + 576 + 360 configurations
    return ids


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64])
def test_the_shards_of_the_paper_plan_are_a_partition_of_it(paper: list[str], n: int) -> None:
    config = validate(["experiment=paper", "player@player_1=spe", "player@player_2=random"])
    shards = [
        [s.game_id for s in plan(config.model_copy(update={"shard": Shard(index=k, count=n)}))] for k in range(1, n + 1)
    ]
    union = [gid for shard in shards for gid in shard]
    assert len(union) == len(set(union)), "a game falls in two shards"
    assert sorted(union) == sorted(paper)
    # each shard keeps the plan's order, and the hash spreads the games about evenly (no empty or
    # doubled shard: at 64 shards of 1 320 games they hold 11 to 35, about 20.6 each)
    for shard in shards:
        assert shard == [gid for gid in paper if gid in set(shard)]
        assert 0 < len(shard) < 2 * len(paper) / n or n == 1


def test_a_game_s_shard_depends_on_its_id_alone(paper: list[str]) -> None:
    # the same game is in the same shard whatever else the plan holds (a sub-grid of the paper's)
    small = validate(["experiment=single", "game=bargaining", "grid={delta_1:[0.8,0.95]}", "game.money=100"])
    for spec in plan(small):
        holders = [k for k in range(1, 8) if Shard(index=k, count=7).holds(spec.game_id)]
        assert len(holders) == 1
        sharded = small.model_copy(update={"shard": Shard(index=holders[0], count=7)})
        assert spec.game_id in {s.game_id for s in plan(sharded)}


def test_shard_values_are_checked_with_one_line() -> None:
    assert validate(["shard=2/4"]).shard == Shard(index=2, count=4)
    for bad in ("5/4", "0/3", "a/b", "3"):
        with pytest.raises(ConfigError, match=r"^shard") as info:
            validate([f"shard={bad}"])
        assert "\n" not in str(info.value) and "K/N" in str(info.value)
    assert expand_shards(["experiment=paper", "shards=3"]) == ["-m", "experiment=paper", "shard=1/3,2/3,3/3"]
    with pytest.raises(ConfigError, match=r"^shards: got '0'"):
        expand_shards(["shards=0"])
    with pytest.raises(ConfigError, match=r"^shard: given with shards=N"):
        expand_shards(["shards=2", "shard=1/2"])


def _sweep(tmp_path: Path) -> Path:
    sweeps = list((tmp_path / "multirun").iterdir())
    assert len(sweeps) == 1
    return sweeps[0]


def test_shards_n_plays_the_plan_once_across_n_jobs_and_resumes(tmp_path: Path) -> None:
    args = ["experiment=paper_bargaining", "player_1=spe", "player_2=random", "shards=3", "progress=false"]
    first = glee("run", *args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "3 jobs: played 384, skipped 0, failed 0" in first.stdout
    sweep = _sweep(tmp_path)
    shards = sorted(sweep.glob("*/shard.duckdb"))
    assert len(shards) == 3
    ids = []
    for db in shards:
        with duckdb.connect(str(db), read_only=True) as con:
            ids += [r[0] for r in con.execute("SELECT game_id FROM games").fetchall()]
    planned = {
        s.game_id
        for s in plan(validate(["experiment=paper_bargaining", "player@player_1=spe", "player@player_2=random"]))
    }
    assert len(ids) == len(set(ids)) == 384 and set(ids) == planned

    status = glee("status", str(sweep), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0].split() == ["database", "shard", "planned", "done", "failed", "running", "state"]
    shard_rows = [line.split() for line in lines[1:4]]
    assert sorted(row[1] for row in shard_rows) == ["1/3", "2/3", "3/3"]
    assert all(row[2] == row[3] and row[-1] == "finished" for row in shard_rows)
    assert sum(int(row[3]) for row in shard_rows) == 384
    assert lines[4].split()[:6] == ["total", "(3)", "384", "384", "0", "0"]

    again = glee("run", *args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "3 jobs: played 0, skipped 384, failed 0" in again.stdout
    merged = glee("merge", str(sweep), "--out", str(tmp_path / "all.duckdb"), cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    with duckdb.connect(str(tmp_path / "all.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT game_id) FROM games").fetchone() == (384, 384)


def test_status_reads_the_progress_file_of_a_database_being_written(tmp_path: Path) -> None:
    db = tmp_path / "job" / "shard.duckdb"
    db.parent.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from glee.store import open_store; s = open_store(sys.argv[1]); "
            "print('open', flush=True); sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        tracker = ProgressFile(db, "run-1", planned=100, done=10, shard="2/4", workers=1)
        tracker.update(done=40, failed=3, running=8, force=True)
        # the file names the process that writes the database: here the one holding its lock
        text = progress_path(db).read_text(encoding="utf-8").replace(f'"pid": {os.getpid()}', f'"pid": {holder.pid}')
        progress_path(db).write_text(text, encoding="utf-8")
        assert read_progress(db) is not None and read_progress(db).pid == holder.pid  # type: ignore[union-attr]
        row = status_table(tmp_path).splitlines()[1].split()
        assert row == ["job", "2/4", "100", "40", "3", "8", "running"]
    finally:
        holder.kill()
        holder.wait()
    # the writer is gone without saying it finished: killed, to be resumed by running it again
    row = status_table(tmp_path).splitlines()[1]
    assert re.search(r"2/4\s+100\s+0\s+0\s+0\s+killed", row), row


def test_a_sweep_of_shards_is_planned_once_and_each_shard_value_checked(tmp_path: Path) -> None:
    out = glee("run", "-m", "experiment=paper_bargaining", "shard=1/4,5/4", "progress=false", cwd=tmp_path)
    assert out.returncode == 2
    assert (
        out.stderr.strip()
        == "glee: error: shard: shard 5 of 4 does not exist; allowed: K/N with 1 <= K <= N (got '5/4')"
    )
    assert not (tmp_path / "multirun").exists()
