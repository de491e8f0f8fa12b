"""The API key never leaves the process's memory: a sweep run through the `glee run` command with
the key set to a unique canary (in the variable that api_key_env names), against the loopback
fault server (a mock API that checks the key and echoes it back in its 401 message, as some
providers do), with transient faults and a refused key; then every byte the run left behind —
the database and its WAL, the Hydra outputs, the command's stdout and stderr, the HTML report —
is searched for the canary."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from glee.analysis.report import write_report
from tests.support.fault_server import FaultPlan, FaultServer

GLEE = [str(Path(sys.executable).parent / "glee")]
KEY_VAR = "GLEE_SECRETS_TEST_KEY"
CANARY = f"sk-canary-{uuid.uuid4().hex}"
FAULTS = {"rate_limit": 0.04, "server_error": 0.04, "reset": 0.03, "malformed": 0.02, "empty": 0.02}


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer(FaultPlan(api_key=CANARY)) as fault_server:
        yield fault_server


def glee_run(tmp: Path, server: FaultServer, db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`glee run` in a subprocess with the canary in the environment; its output kept in tmp/logs."""
    args = [
        "run",
        "player_1=gpt-4o-mini",
        f"player_1.base_url={server.base_url}",
        "player_1.model=mock-model",
        f"player_1.api_key_env={KEY_VAR}",
        "player_1.endpoint.timeout_s=10",
        "player_2=spe",
        "experiment=single",
        "game=bargaining",
        "game.max_rounds=4",
        "game.money=100",
        f"db={db}",
        f"hydra.run.dir={tmp / 'hydra' / db.stem}",
        *extra,
    ]
    env = {**os.environ, KEY_VAR: CANARY}
    done = subprocess.run([*GLEE, *args], cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
    logs = tmp / "logs"
    logs.mkdir(exist_ok=True)
    (logs / f"{db.stem}.out").write_text(done.stdout)
    (logs / f"{db.stem}.err").write_text(done.stderr)
    return done


def occurrences(root: Path, secret: bytes) -> dict[str, int]:
    """Files under `root` holding `secret` (raw bytes, and as JSON or URL might escape it: it has no
    characters to escape, so the raw bytes are what any encoding of it contains)."""
    found = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        count = path.read_bytes().count(secret)
        if count:
            found[str(path.relative_to(root))] = count
    return found


def test_the_key_reaches_no_file(tmp_path: Path, server: FaultServer) -> None:
    # A sweep with transient faults: the key is sent with every request and works.
    server.set_plan(FaultPlan(api_key=CANARY, reply="hashed", rates=FAULTS, seed=4))  # type: ignore[arg-type]
    good = glee_run(tmp_path, server, tmp_path / "faults.duckdb", "n_games=6")
    assert good.returncode == 0, good.stderr
    requests = server.requests()
    assert requests and all(r.headers["authorization"] == f"Bearer {CANARY}" for r in requests)
    assert any(r.fault for r in requests)
    assert "completed" in good.stderr

    # The provider refuses the key and echoes it in its error: the run stops, and says why without it.
    server.set_plan(FaultPlan(api_key=CANARY, script=["unauthorized"] * 8))
    refused = glee_run(tmp_path, server, tmp_path / "refused.duckdb", "n_games=6")
    assert CANARY in server.requests()[0].headers["authorization"]
    assert "refused the API key" in refused.stderr and KEY_VAR in refused.stderr
    assert "***" in refused.stderr  # the echoed key was blanked out of the server's message

    for db in ("faults", "refused"):
        write_report(tmp_path / f"{db}.duckdb", tmp_path / "reports" / f"{db}.html")
    written = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert {"faults.duckdb", "refused.duckdb", "reports/faults.html", "logs/refused.err"} <= written
    assert any(w.startswith("hydra/faults/.hydra/") for w in written), written
    assert occurrences(tmp_path, CANARY.encode()) == {}
    # The search does find the key where it is: a file that holds it is reported.
    (tmp_path / "control.txt").write_text(f"key={CANARY}")
    assert occurrences(tmp_path, CANARY.encode()) == {"control.txt": 1}
