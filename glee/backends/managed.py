"""ManagedServer: one model server that glee starts as a subprocess, waits for, and stops.

The server runs in its own process group (start_new_session) so that stopping it also stops
any workers it forked; an atexit guard kills what is still running when the interpreter
exits (an error, Ctrl-C), so no server outlives glee.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections import deque
from pathlib import Path
from types import TracebackType

import openai

from glee.backends.base import backend_of
from glee.backends.endpoint import endpoint_label
from glee.backends.spec import EndpointSpec
from glee.errors import EndpointDown

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 30
STOP_GRACE_S = 10.0
_POLL_S = 0.25

_running: set[subprocess.Popen[bytes]] = set()
"""Servers started and not yet stopped, for the atexit guard."""


def _kill_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


@atexit.register
def _kill_leftovers() -> None:
    for process in list(_running):
        _kill_group(process, signal.SIGKILL)
        process.wait()
    _running.clear()


class PortTaken(EndpointDown):
    """The server exited because another process took its port first (then a new port is tried)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a log file (empty when there is none)."""
    try:
        with path.open(errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines)).rstrip()
    except FileNotFoundError:
        return ""


class ManagedServer:
    """A model server for one managed endpoint spec, on a free loopback port.

    `async with ManagedServer(spec) as server:` starts it and waits until GET /v1/models
    answers (within spec.startup_timeout_s), then `server.base_url` is its OpenAI URL.
    A server that exits or does not answer in time raises EndpointDown with its log tail.
    """

    def __init__(self, spec: EndpointSpec, log_dir: Path | None = None, host: str = "127.0.0.1") -> None:
        self.spec = spec
        self.host = host
        self.label = endpoint_label(spec)
        self.log_dir = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="glee-servers-"))
        self.port: int | None = None
        self.command: list[str] = []
        self.log_path: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError(f"the server for {self.label} is not started")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        """Start the server and wait until it answers; EndpointDown with its log tail if it does not."""
        if self._process is not None:
            return
        # The port is free when picked but another process may take it before the server binds
        # it; then the server exits at once and a new port is tried.
        for attempt in range(3):
            try:
                await self._start_once()
                return
            except PortTaken:
                if attempt == 2:
                    raise

    async def _start_once(self) -> None:
        self.port = free_port(self.host)
        self.command = backend_of(self.spec).launch_command(self.spec, self.host, self.port)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.label)
        self.log_path = self.log_dir / f"{safe}-{self.port}.log"
        log.info("starting %s: %s (log: %s)", self.label, " ".join(self.command), self.log_path)
        with self.log_path.open("ab") as log_file:
            try:
                self._process = subprocess.Popen(
                    self.command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip
            except OSError as exc:
                raise EndpointDown(
                    f"{self.label}: cannot start the server ({self.command[0]}: {exc.strerror})"
                ) from None
        _running.add(self._process)
        try:
            await self._wait_until_ready()
        except BaseException:
            self.stop_now()
            raise

    async def _wait_until_ready(self) -> None:
        assert self._process is not None and self.log_path is not None
        client = openai.AsyncOpenAI(api_key="not-needed", base_url=self.base_url, timeout=5.0, max_retries=0)
        deadline = time.monotonic() + self.spec.startup_timeout_s
        try:
            while True:
                code = self._process.poll()
                if code is not None:
                    failure = self._failure(f"the server exited with code {code} before it answered")
                    # The server says so only in its log (the text is the operating system's).
                    taken = "address already in use" in log_tail(self.log_path).lower()
                    raise (PortTaken if taken else EndpointDown)(failure)
                try:
                    await client.models.list()
                    log.info("%s answers at %s", self.label, self.base_url)
                    return
                except openai.APIError:
                    pass
                if time.monotonic() > deadline:
                    raise EndpointDown(
                        self._failure(
                            f"the server did not answer GET /v1/models within {self.spec.startup_timeout_s:g} s"
                        )
                    )
                await asyncio.sleep(_POLL_S)
        finally:
            await client.close()

    def _failure(self, what: str) -> str:
        assert self.log_path is not None
        tail = log_tail(self.log_path)
        return (
            f"{self.label}: {what}: {' '.join(self.command)}\n"
            f"last lines of {self.log_path}:\n{tail or '(the log is empty)'}"
        )

    def stop_now(self) -> None:
        """Stop the server and its process group: SIGTERM, then SIGKILL after a grace period."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            _kill_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %g s; killing it", self.label, STOP_GRACE_S)
                _kill_group(process, signal.SIGKILL)
                process.wait()
        # Workers left in the group (the leader already gone) are killed too.
        _kill_group(process, signal.SIGKILL)
        _running.discard(process)
        self._process = None
        log.info("stopped %s", self.label)

    async def stop(self) -> None:
        """Stop the server (blocking for at most the grace period, also when the run is being cancelled)."""
        self.stop_now()

    async def __aenter__(self) -> ManagedServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
