"""A `glee serve-web` server in a subprocess on a free loopback port, for the browser and HTTP tests.

Each test starts its own server with a study written to its tmp dir; `Server.games()` stops it
(Ctrl-C: it writes games as they end; stopping releases the database) and reads the DuckDB file.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from tests.support.loopback import free_port

GLEE = str(Path(sys.executable).with_name("glee"))


class Server:
    def __init__(self, url: str, db: Path, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url, self.db, self.process, self.log = url, db, process, log

    def stop(self) -> None:
        """Ctrl-C, as an experimenter would: games still waiting end as abandoned and are written."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def games(self) -> list[dict[str, Any]]:
        self.stop()
        with duckdb.connect(str(self.db), read_only=True) as con:
            cur = con.execute("SELECT * FROM games ORDER BY started_at")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def query(self, sql: str, args: list[Any] | None = None) -> list[tuple[Any, ...]]:
        self.stop()
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(sql, args or []).fetchall()


def launch(command: list[str], db: Path, log: Path, cwd: Path, env: dict[str, str] | None = None) -> Server:
    """Start `glee COMMAND... port=P db=DB` on a free loopback port and wait until /healthz answers."""
    port = free_port()
    process = subprocess.Popen(
        [GLEE, *command, f"port={port}", f"db={db}"], cwd=cwd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env
    )
    server = Server(f"http://127.0.0.1:{port}", db, process, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {log.read_text()}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=1) as reply:
                if reply.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise AssertionError(f"the server did not answer: {log.read_text()}")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(games: list[dict[str, Any]], **settings: Any) -> Server:
        env = settings.pop("env", None)
        study = {"title": "Test study", "instructions": "Play <b>fair</b>.", "games": games, **settings}
        path = tmp_path / "study.yaml"
        path.write_text(yaml.safe_dump(study))
        server = launch(["serve-web", str(path)], tmp_path / "study.duckdb", tmp_path / "server.log", tmp_path, env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
