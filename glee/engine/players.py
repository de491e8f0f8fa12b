"""PlayerSpec -> Player, and the endpoints LLM players share during a run.

Each distinct EndpointSpec gets one endpoint for the whole run (one client, one limit on
requests in flight; a managed server started once, stopped at the end).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from types import TracebackType
from typing import Self

from glee.backends.spec import EndpointSpec
from glee.engine.specs import PlayerSpec
from glee.errors import ConfigError
from glee.games import Params, Seat
from glee.players.base import ChatEndpoint, Player
from glee.players.baseline import make_baseline

Connect = Callable[[EndpointSpec], AbstractAsyncContextManager[ChatEndpoint]]
"""Opens one endpoint (starting its server when managed) for as long as the context lasts."""


def default_connect(spec: EndpointSpec) -> AbstractAsyncContextManager[ChatEndpoint]:
    """The backends layer's endpoint for `spec` (imported here so baseline-only runs never load it)."""
    from glee.backends import open_endpoint  # type: ignore[attr-defined,unused-ignore]

    endpoint: AbstractAsyncContextManager[ChatEndpoint] = open_endpoint(spec)
    return endpoint


class Endpoints:
    """The run's endpoints, one per distinct EndpointSpec, open from `start` to `aclose`."""

    def __init__(self, connect: Connect = default_connect) -> None:
        self._connect = connect
        self._stack = AsyncExitStack()
        self._open: dict[EndpointSpec, ChatEndpoint] = {}

    async def start(self, specs: Iterable[EndpointSpec]) -> None:
        for spec in specs:
            if spec not in self._open:
                self._open[spec] = await self._stack.enter_async_context(self._connect(spec))

    def get(self, spec: EndpointSpec) -> ChatEndpoint:
        return self._open[spec]

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._open.clear()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()


def endpoint_specs(players: Iterable[PlayerSpec]) -> list[EndpointSpec]:
    """The distinct endpoints of these players, in first-seen order."""
    return list(dict.fromkeys(p.endpoint for p in players if p.kind == "llm" and p.endpoint is not None))


def player_factory(endpoints: Endpoints) -> Callable[[PlayerSpec, Params, Seat, int], Player]:
    """The factory the match calls for each seat of each game."""

    def make(spec: PlayerSpec, params: Params, seat: Seat, seed: int) -> Player:
        # PlayerSpec's validator guarantees a strategy for baselines and an endpoint for LLMs.
        if spec.kind == "baseline" and spec.strategy is not None:
            return make_baseline(spec.strategy, params, seat, seed)
        if spec.kind == "llm" and spec.endpoint is not None:
            from glee.players.llm import LLMPlayer  # type: ignore[import-not-found,unused-ignore]

            player: Player = LLMPlayer(endpoints.get(spec.endpoint), spec.sampling, spec.max_attempts, spec.label())
            return player
        raise ConfigError(
            f"player.kind: got {spec.kind!r}; sweeps play 'baseline' and 'llm' players "
            "(humans play one game at a time with `glee play`)"
        )

    return make
