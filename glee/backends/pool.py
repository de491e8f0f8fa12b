"""EndpointPool and open_endpoint: the endpoints of a run, each managed server shared by the specs that need it.

    async with open_endpoint(spec) as endpoint:   # starts the server when the spec is managed
        completion = await endpoint.complete(messages, schema, sampling)
    # the server stops when the last endpoint using it closes, also after an error or Ctrl-C

Specs that differ only in transport or dialect settings (max_concurrency, timeout_s,
structured_output, ...) share one managed server; the server is started by the first
endpoint that needs it and stopped when the last one closes. The engine opens one endpoint
per distinct spec for a whole run, so all games share it and its limit on requests in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from glee.backends.base import backend_of
from glee.backends.endpoint import OpenAIEndpoint
from glee.backends.managed import ManagedServer
from glee.backends.spec import EndpointSpec
from glee.errors import EndpointDown

_SERVER_FIELDS = {"backend", "model", "engine_args", "launch", "startup_timeout_s"}
"""What makes two managed specs need two different servers."""


def is_managed(spec: EndpointSpec) -> bool:
    """Whether glee starts the server for `spec` (a backend kind that glee starts, without a base_url)."""
    return spec.base_url is None and backend_of(spec).starts_server


def server_key(spec: EndpointSpec) -> str:
    """Equal for specs that one managed server can serve."""
    return spec.model_dump_json(include=_SERVER_FIELDS)


@dataclass
class _Share:
    """One managed server and how many open endpoints use it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    server: ManagedServer | None = None
    users: int = 0


_shares: dict[str, _Share] = {}


@asynccontextmanager
async def shared_server(spec: EndpointSpec, log_dir: Path | None = None) -> AsyncIterator[ManagedServer]:
    """The running server for managed `spec`, started on first use and stopped after its last user.

    Raises EndpointDown (with the server's log tail) when it does not come up.
    """
    key = server_key(spec)
    share = _shares.setdefault(key, _Share())
    async with share.lock:
        if share.server is None:
            server = ManagedServer(spec, log_dir=log_dir)
            try:
                await server.start()
            except BaseException:
                if share.users == 0:
                    _shares.pop(key, None)
                raise
            share.server = server
        share.users += 1
        server = share.server
    try:
        yield server
    finally:
        share.users -= 1
        if share.users == 0:
            # Stopped synchronously, so that a cancelled run (Ctrl-C) still stops it.
            server.stop_now()
            share.server = None
            _shares.pop(key, None)


@asynccontextmanager
async def open_endpoint(spec: EndpointSpec, log_dir: Path | None = None) -> AsyncIterator[OpenAIEndpoint]:
    """The endpoint for `spec` for as long as the context lasts (see the module docstring)."""
    if not is_managed(spec):
        endpoint = OpenAIEndpoint(spec)
        try:
            yield endpoint
        finally:
            await endpoint.aclose()
        return
    async with shared_server(spec, log_dir) as server:
        endpoint = OpenAIEndpoint(spec, base_url=server.base_url)
        try:
            yield endpoint
        finally:
            await endpoint.aclose()


class EndpointPool:
    """The endpoints of one run, one per distinct spec; an async context manager that closes them all.

        async with EndpointPool(log_dir) as pool:
            endpoint = await pool.endpoint(spec)   # the same object for equal specs

    Every game with the same spec shares its endpoint, and so its limit on requests in flight.
    A spec whose server did not start is remembered: asking for it again raises the same
    EndpointDown at once. Leaving the context stops every managed server, also on error or Ctrl-C.
    """

    def __init__(self, log_dir: Path | None = None) -> None:
        self.log_dir = log_dir
        self._stack = AsyncExitStack()
        self._endpoints: dict[EndpointSpec, OpenAIEndpoint] = {}
        self._failed: dict[EndpointSpec, EndpointDown] = {}
        self._lock = asyncio.Lock()

    async def endpoint(self, spec: EndpointSpec) -> OpenAIEndpoint:
        """The run's endpoint for `spec`, starting its managed server if needed."""
        found = self._endpoints.get(spec)
        if found is not None:
            return found
        async with self._lock:
            if spec in self._failed:
                raise self._failed[spec]
            if spec not in self._endpoints:
                try:
                    self._endpoints[spec] = await self._stack.enter_async_context(open_endpoint(spec, self.log_dir))
                except EndpointDown as exc:
                    self._failed[spec] = exc
                    raise
            return self._endpoints[spec]

    async def aclose(self) -> None:
        """Close every endpoint and stop the managed servers."""
        self._endpoints.clear()
        await self._stack.aclose()

    async def __aenter__(self) -> EndpointPool:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
