"""A sharded sweep on a real SLURM cluster (`make slurm-test`: tests/slurm/cluster.sh starts a one-node
cluster with accounting), one job hard-killed mid-run, the same command again, then merged: every planned
game once. Also: glee refuses the SLURM launcher without accounting, and a GPU request reaches sbatch."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from glee.config import validate
from glee.engine import plan
from glee.engine.progress import read_progress
from tests.support.fault_server import FaultPlan, FaultServer
from tests.test_cli import GLEE

pytestmark = pytest.mark.slurm

SLURM_DIR = Path(os.environ.get("GLEE_SLURM_DIR", "/tmp/glee-slurm"))
GAME = ["experiment=single", "game=bargaining", "game.max_rounds=4", "grid={delta_1:[0.8,0.9,1.0]}", "n_games=40"]


@pytest.fixture(scope="module")
def slurm_env() -> dict[str, str]:
    conf = SLURM_DIR / "slurm.conf"
    assert conf.exists(), f"no cluster at {SLURM_DIR}: run tests/slurm/cluster.sh start (make slurm-test does)"
    env = {**os.environ, "SLURM_CONF": str(conf), "GLEE_MOCK_KEY": "not-a-secret"}
    ping = subprocess.run(["scontrol", "ping"], env=env, capture_output=True, text=True, check=False)
    assert ping.returncode == 0 and "UP" in ping.stdout, ping.stdout + ping.stderr
    return env


def run_glee(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GLEE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def mock_player(config_dir: Path, server: FaultServer) -> None:
    """A player config for the loopback mock API (which every job reaches: the cluster is this machine)."""
    (config_dir / "player").mkdir(parents=True)
    (config_dir / "player" / "mock.yaml").write_text(
        "defaults:\n  - /player_defaults@_here_\n  - /endpoint_defaults@endpoint\n  - _self_\n"
        "kind: llm\nstrategy: null\n"
        f"endpoint:\n  backend: openai\n  model: mock-model\n  base_url: {server.base_url}\n"
        "  api_key_env: GLEE_MOCK_KEY\n  max_concurrency: 2\n",
        encoding="utf-8",
    )


def test_a_sharded_sweep_survives_a_hard_killed_job(tmp_path: Path, slurm_env: dict[str, str]) -> None:
    started = time.perf_counter()
    sweep = tmp_path / "sweep"
    with FaultServer(FaultPlan(delay_s=0.1)) as server:
        mock_player(tmp_path / "configs", server)
        args = [
            "run",
            "--config-dir",
            str(tmp_path / "configs"),
            *GAME,
            "player_1=mock",
            "player_2=random",
            "max_games_in_flight=2",
            "progress=false",
            "shards=3",
            "hydra/launcher=submitit_slurm",
            "hydra.launcher.partition=debug",
            f"hydra.sweep.dir={sweep}",
        ]
        log = tmp_path / "first.log"
        first = subprocess.Popen(
            [*GLEE, *args], cwd=tmp_path, env=slurm_env, stdout=log.open("w"), stderr=subprocess.STDOUT
        )
        killed = None
        deadline = time.monotonic() + 600
        while killed is None and time.monotonic() < deadline and first.poll() is None:
            for db in sweep.glob("*/shard.duckdb"):
                progress = read_progress(db)
                if progress is not None and not progress.finished and progress.done > 0:
                    os.kill(progress.pid, signal.SIGKILL)  # the job's own process, mid-run: no chance to finish
                    killed = (db, progress.done)
                    break
            time.sleep(0.2)
        assert killed is not None, f"no job was caught mid-run: {log.read_text(encoding='utf-8')[-3000:]}"
        first.wait(timeout=600)
        assert first.returncode != 0  # a job failed, so the sweep did

        status = run_glee(["status", str(sweep)], tmp_path, slurm_env)
        row = next(line for line in status.stdout.splitlines() if line.startswith(killed[0].parent.name))
        assert "killed" in row, status.stdout

        again = run_glee(args, tmp_path, slurm_env)
        assert again.returncode == 0, again.stderr[-3000:]
        played = re.search(r"3 jobs: played (\d+), skipped (\d+), failed 0", again.stdout)
        assert played is not None, again.stdout
        planned_ids = {
            s.game_id
            for s in plan(validate([*GAME, "player@player_1=mock", "player@player_2=random"], tmp_path / "configs"))
        }
        assert int(played[1]) + int(played[2]) == len(planned_ids) == 120
        assert 0 < int(played[1]) < len(planned_ids)  # only what the killed job (and any not yet run) missed

    merged = run_glee(["merge", str(sweep), "--out", str(tmp_path / "all.duckdb")], tmp_path, slurm_env)
    assert merged.returncode == 0, merged.stderr
    with duckdb.connect(str(tmp_path / "all.duckdb"), read_only=True) as con:
        ids = [
            r[0] for r in con.execute("SELECT game_id FROM games WHERE status IN ('completed', 'forfeit')").fetchall()
        ]
        assert con.execute("SELECT count(*) FROM games").fetchone() == (len(planned_ids),)
    assert len(ids) == len(set(ids)) and set(ids) == planned_ids
    print(f"SLURM sweep, kill, resume and merge: {time.perf_counter() - started:.0f} s")


def test_the_slurm_launcher_needs_accounting(tmp_path: Path, slurm_env: dict[str, str]) -> None:
    conf = (SLURM_DIR / "slurm.conf").read_text(encoding="utf-8")
    without = tmp_path / "slurm.conf"
    without.write_text(
        conf.replace(
            "AccountingStorageType=accounting_storage/slurmdbd", "AccountingStorageType=accounting_storage/none"
        ),
        encoding="utf-8",
    )
    env = {**slurm_env, "SLURM_CONF": str(without)}
    out = run_glee(["run", *GAME, "player_1=spe", "shards=2", "hydra/launcher=submitit_slurm"], tmp_path, env)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "hydra/launcher=submitit_slurm: sacct does not work here" in lines[0], out.stderr
    assert "accounting" in lines[0] and not (tmp_path / "multirun").exists()


def test_a_gpu_job_asks_sbatch_for_its_gpu(tmp_path: Path, slurm_env: dict[str, str]) -> None:
    # This node has no GPU, so SLURM refuses the job; the script submitit gave sbatch shows the request.
    sweep = tmp_path / "gpu"
    args = ["run", *GAME, "player_1=spe", "shards=1", "hydra/launcher=submitit_slurm", "hydra.launcher.gpus_per_node=1"]
    out = run_glee([*args, f"hydra.sweep.dir={sweep}"], tmp_path, slurm_env)
    assert out.returncode != 0
    scripts = list(sweep.rglob("*.sh"))
    assert scripts, out.stderr[-2000:]
    text = scripts[0].read_text(encoding="utf-8")
    assert "#SBATCH --gpus-per-node=1" in text and "submitit" in text
    assert "Requested node configuration is not available" in out.stderr or "gres" in out.stderr.lower()


def test_a_job_starts_its_managed_model_server_itself(tmp_path: Path, slurm_env: dict[str, str]) -> None:
    # As a GPU job would start vLLM on its node: here llama.cpp with SmolLM2, inside the SLURM job.
    sweep = tmp_path / "managed"
    args = ["run", "game=bargaining", "game.max_rounds=2", "player_1=smollm2", "player_2=spe", "progress=false"]
    out = run_glee(
        [*args, "shards=1", "hydra/launcher=submitit_slurm", f"hydra.sweep.dir={sweep}"], tmp_path, slurm_env
    )
    assert out.returncode == 0, out.stderr[-3000:]
    (shard,) = sweep.glob("*/shard.duckdb")
    with duckdb.connect(str(shard), read_only=True) as con:
        versions = con.execute("SELECT versions FROM runs").fetchone()
        calls = con.execute("SELECT count(*) FROM llm_calls WHERE error IS NULL").fetchone()
    assert versions is not None and calls is not None and calls[0] > 0
    servers = json.loads(versions[0])["servers"]
    assert [s["backend"] for s in servers] == ["llamacpp"]
