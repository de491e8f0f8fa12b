"""`glee serve-agents`: the GLEE competition's agent API (what the unmodified glee-sdk client speaks),
served locally so an agent can be tested against glee's players with every game in DuckDB.

Routes under /api/agent, as the SDK's client calls them: POST and DELETE /queue, GET /games/pending,
POST /games/{id}/move, GET /games/{id}, GET /stats. Every request carries `Authorization: Bearer
<key>`; keys come from the environment variables the config names. Errors are JSON
`{"detail": {"code", "message", ...}}` (the SDK raises CompetitionNotOpenError and
CompetitionClosedError by `code`); more requests than the rate limit get 429 with Retry-After.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from glee.play.agents.arena import Agent, Arena
from glee.play.agents.config import AgentsConfig, agents_config

API = "/api/agent"
MAX_BODY_BYTES = 64 * 1024
"""A move is a small JSON object; a bigger body is refused before it is parsed."""


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra
        self.headers = dict(headers or {})


def create_app(config: AgentsConfig, keys: Mapping[str, str]) -> FastAPI:
    """The agent API of one config; `keys` maps each key to its agent's name (read from the environment)."""
    arena = Arena(config, keys)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await arena.open()
        try:
            yield
        finally:
            await arena.close()

    app = FastAPI(title="glee serve-agents", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.arena = arena

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        detail = {"code": exc.code, "message": exc.message, **exc.extra}
        return JSONResponse({"detail": detail}, status_code=exc.status, headers=exc.headers)

    def window() -> dict[str, Any]:
        return {
            "competition_open_at": config.open_at.isoformat() if config.open_at else None,
            "competition_close_at": config.close_at.isoformat() if config.close_at else None,
        }

    def caller(request: Request) -> Agent:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        agent = None
        if scheme.lower() == "bearer" and key:
            # Compared in constant time against every key, so timing says nothing about a near miss.
            found = [name for k, name in arena.keys.items() if secrets.compare_digest(k.encode(), key.encode())]
            agent = arena.agents[found[0]] if found else None
        if agent is None:
            raise ApiError(401, "unauthorized", "Authorization: Bearer <key> of an agent of this server is required")
        wait = arena.retry_after(agent)
        if wait is not None:
            raise ApiError(
                429,
                "rate_limited",
                f"more than {config.rate_limit.requests} requests in {config.rate_limit.per_s:g} s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        return agent

    def open_now() -> None:
        now = datetime.now(UTC)
        if config.open_at is not None and now < _aware(config.open_at):
            raise ApiError(403, "competition_not_open", "the competition is not open yet", **window())
        if config.close_at is not None and now >= _aware(config.close_at):
            raise ApiError(403, "competition_closed", "the competition is closed", **window())

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, "too_large", f"body: got {len(raw)} bytes; allowed: at most {MAX_BODY_BYTES}")
        try:
            data = await request.json()
        except ValueError:
            raise ApiError(422, "bad_json", "body: not JSON; allowed: a JSON object") from None
        if not isinstance(data, dict):
            raise ApiError(422, "bad_json", "body: not a JSON object")
        return data

    def family_of(value: Any) -> str:
        if value not in arena.configurations:
            raise ApiError(
                400,
                "unknown_family",
                f"game_family: got {str(value)[:80]!r}; allowed: one of {sorted(arena.configurations)}",
            )
        return str(value)

    def game_of(agent: Agent, game_id: str) -> Any:
        game = agent.games.get(game_id)
        if game is None:
            raise ApiError(404, "not_found", f"game_id: no game {game_id[:80]!r} of agent {agent.name!r}")
        return game

    @app.post(f"{API}/queue")
    async def queue(request: Request) -> dict[str, Any]:
        agent = caller(request)
        open_now()
        return arena.queue(agent, family_of((await body(request)).get("game_family")))

    @app.delete(f"{API}/queue")
    async def leave(request: Request, game_family: str | None = None) -> dict[str, Any]:
        agent = caller(request)
        return arena.leave(agent, None if game_family is None else family_of(game_family))

    @app.get(f"{API}/games/pending")
    async def pending(request: Request) -> list[dict[str, Any]]:
        agent = caller(request)
        open_now()
        arena.fill()
        return arena.pending(agent)

    @app.post(f"{API}/games/{{game_id}}/move")
    async def move(request: Request, game_id: str) -> dict[str, Any]:
        agent = caller(request)
        game = game_of(agent, game_id)
        data = await body(request)
        if "action" not in data:
            raise ApiError(422, "bad_move", 'action: missing; allowed: {"action": {...}}')
        reply = await arena.move(agent, game, data["action"])
        if reply is None:
            raise ApiError(409, "not_your_turn", f"game {game_id}: it is not your turn (or a move is being played)")
        return reply

    @app.get(f"{API}/games/{{game_id}}")
    async def game(request: Request, game_id: str) -> dict[str, Any]:
        agent = caller(request)
        return arena.view(agent, game_of(agent, game_id))

    @app.get(f"{API}/stats")
    async def stats(request: Request) -> dict[str, Any]:
        return arena.stats(caller(request))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def serve_agents(args: list[str]) -> int:
    """`glee serve-agents [CONFIG.yaml] [KEY=VALUE ...]`: serve the agent API until Ctrl-C."""
    import uvicorn

    config = agents_config(args)
    keys = config.keys()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    names = ", ".join(a.name for a in config.agents)
    print(f"glee serve-agents: agents {names}; {len(config.games)} configurations -> {config.db}", flush=True)
    print(f'agents connect with GleeClient(api_key=..., base_url="http://{config.host}:{config.port}")', flush=True)
    uvicorn.run(create_app(config, keys), host=config.host, port=config.port, log_level="warning")
    return 0
