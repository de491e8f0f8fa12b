"""`glee run -m` resumes: the sweep folder and each job's folder are named by the overrides, not the
clock, and each job skips the games already done in its shard or in the database it merges into."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from glee.sweeps import job_dir, sweep_dir
from tests.test_cli import games_in, glee

SWEEP = [
    "-m",
    "experiment=single",
    "game=bargaining",
    "game.max_rounds=4",
    "grid={delta_1:[0.8,1.0]}",
    "player_1=spe,fair",
    "player_2=spe",
    "progress=false",
]


def test_the_sweep_folder_depends_on_what_is_played_only() -> None:
    base = sweep_dir(["player_1=spe,fair", "player_2=spe", "experiment=paper_bargaining"])
    assert re.fullmatch(r"multirun/sweep-[0-9a-f]{12}", base)
    assert sweep_dir(["experiment=paper_bargaining", "player_2=spe", "player_1=spe,fair"]) == base
    launched = ["player_1=spe,fair", "player_2=spe", "experiment=paper_bargaining", "hydra/launcher=joblib"]
    assert sweep_dir([*launched, "hydra.launcher.n_jobs=2", "progress=false", "max_games_in_flight=8"]) == base
    assert sweep_dir(["player_1=spe,random", "player_2=spe", "experiment=paper_bargaining"]) != base


def test_job_folders_are_safe_distinct_names() -> None:
    assert job_dir("player@player_1=spe,player@player_2=fair") == "player@player_1=spe,player@player_2=fair"
    slashed, other = job_dir("db=/tmp/a/x.duckdb"), job_dir("db=_tmp_a_x.duckdb")
    assert "/" not in slashed and slashed != other
    long = job_dir("x" * 300)
    assert len(long) <= 120 and long != job_dir("x" * 301)


def _played(stderr: str) -> list[int]:
    return [int(n) for n in re.findall(r"played (\d+):", stderr)]


LAUNCHERS = {
    "basic": [],
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    "submitit_local": ["hydra/launcher=submitit_local"],
}


@pytest.mark.parametrize("launcher", list(LAUNCHERS))
def test_running_a_sweep_again_plays_nothing(tmp_path: Path, launcher: str) -> None:
    launch = LAUNCHERS[launcher]
    first = glee("run", *SWEEP, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert _played(first.stderr) == [2, 2]
    table = first.stdout[first.stdout.index("job ") :].splitlines()
    assert table[0].split() == ["job", "played", "skipped", "failed"]
    assert [row.split() for row in table[1:3]] == [["player_1=fair", "2", "0", "0"], ["player_1=spe", "2", "0", "0"]]
    assert table[3] == "2 jobs: played 4, skipped 0, failed 0"
    sweeps = list((tmp_path / "multirun").iterdir())
    assert len(sweeps) == 1 and sweeps[0].name.startswith("sweep-")
    shards = sorted(sweeps[0].glob("*/shard.duckdb"))
    assert [s.parent.name for s in shards] == [
        "experiment=single,game.max_rounds=4,game=bargaining,grid={delta_1:[0.8,1.0]},"
        f"player@player_1={p},player@player_2=spe"
        for p in ("fair", "spe")
    ]

    again = glee("run", *SWEEP, *launch, cwd=tmp_path)  # the same sweep, on this launcher
    assert again.returncode == 0, again.stderr
    # submitit jobs log to their own files, so the jobs' counts are read from the table of the sweep
    assert "2 jobs: played 0, skipped 4, failed 0" in again.stdout
    with duckdb.connect(str(shards[1]), read_only=True) as con:
        recorded = [json.loads(r[0]) for r in con.execute("SELECT overrides FROM runs ORDER BY started_at").fetchall()]
    assert len(recorded) == 2 and "player@player_1=spe" in recorded[0] and "game=bargaining" in recorded[0]
    assert list((tmp_path / "multirun").iterdir()) == sweeps
    assert [len(games_in(s)) for s in shards] == [2, 2]


def test_a_sweep_skips_games_already_merged_into_its_database(tmp_path: Path) -> None:
    first = glee("run", *SWEEP, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    db = tmp_path / "data" / "glee.duckdb"
    merged = glee("merge", "multirun", "--out", str(db), cwd=tmp_path)
    assert merged.returncode == 0 and "4 games added" in merged.stdout
    shutil.rmtree(tmp_path / "multirun")

    again = glee("run", *SWEEP, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert _played(again.stderr) == [0, 0]
    assert len(games_in(db)) == 4
