"""Starting a stand-in model server script (tests/support/*_model.py) on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def model_server(script: str, *args: str) -> Iterator[str]:
    """Run `script --port P *args` in its own process; yield its OpenAI base URL once /v1/models
    answers (at most 30 s), and kill it at the end."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, script, "--port", str(port), *args])
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/models", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.kill()
        proc.wait()
