"""`glee`'s exit status says what happened (the table in README.md, "Exit status"): 0 every planned
game done, 1 a game failed or was not played, 2 bad input, 130 interrupted. The real command in a
subprocess, against the loopback fault server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fault_server import FaultPlan, FaultServer

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
"""The exit statuses README.md promises (glee.cli.EXIT_*), spelled out so that they are checked."""

GLEE = [str(Path(sys.executable).parent / "glee")]
KEY_VAR = "GLEE_EXIT_CODES_KEY"


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def model_seat(server: FaultServer, *extra: str) -> list[str]:
    """Overrides that seat the fault server's model as player 1 against the spe baseline."""
    return [
        "player_1=gpt-4o-mini",
        f"player_1.base_url={server.base_url}",
        "player_1.model=mock-model",
        f"player_1.api_key_env={KEY_VAR}",
        "player_2=spe",
        "game=bargaining",
        "n_games=4",
        "progress=false",
        *extra,
    ]


def glee(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, KEY_VAR: "local-test-key"}
    return subprocess.run([*GLEE, *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


def test_a_run_whose_games_all_failed_exits_1_and_its_resume_0(tmp_path: Path, fault_server: FaultServer) -> None:
    fault_server.set_plan(FaultPlan(rates={"server_error": 1.0}))
    args = ["run", *model_seat(fault_server, "player_1.max_retries=0", f"db={tmp_path / 'x.duckdb'}")]
    failed = glee(*args, cwd=tmp_path)
    assert failed.returncode == EXIT_FAILED, failed.stderr
    assert "glee: error: 4 failed and 0 not played of 4 planned games" in failed.stderr
    fault_server.set_plan(FaultPlan())
    resumed = glee(*args, cwd=tmp_path)
    assert resumed.returncode == EXIT_OK, resumed.stderr


def test_an_interrupted_run_exits_130(tmp_path: Path, fault_server: FaultServer) -> None:
    fault_server.set_plan(FaultPlan(delay_s=1.0))
    env = {**os.environ, KEY_VAR: "local-test-key"}
    args = ["run", *model_seat(fault_server, "n_games=50", f"db={tmp_path / 'x.duckdb'}")]
    proc = subprocess.Popen([*GLEE, *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not fault_server.requests() and time.monotonic() < deadline:  # playing: the first request arrived
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_INTERRUPTED, err.decode()


@pytest.mark.parametrize("content", [b"not a database, a text file\n" * 100, None])
def test_a_bad_db_path_exits_2_with_one_line(tmp_path: Path, content: bytes | None) -> None:
    if content is None:  # a path under a file: its folder cannot be made
        (tmp_path / "file").write_text("x")
        db = tmp_path / "file" / "x.duckdb"
    else:
        db = tmp_path / "text.duckdb"
        db.write_bytes(content)
    result = glee("run", f"db={db}", "progress=false", cwd=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.startswith("glee: error: db: ")
    assert len(result.stderr.strip().splitlines()) == 1
