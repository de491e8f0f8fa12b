"""One machine's cores and the client's transport, against the loopback server that answers at once.

- client_cpu_ms_per_call_aiohttp / _httpx: CPU of this process per bare call of the openai client
  (`client.post` of the harness's recorded requests, 32 in flight), with the aiohttp transport
  (glee's default) and with httpx, in the same run.
- harness_total_cpu_ms_per_call: CPU of the sweep process per model call, everything included
  (plan, prompts, parsing, rules, database writes, client), with one process.
- workers_scaling: model calls/s of the same sweep with workers=2 over workers=1; the server runs
  on the same cores, so the CPU per call of both (the worker processes counted) is in the note.
"""

from __future__ import annotations

import asyncio
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from glee.backends.spec import EndpointSpec
from glee.engine.players import player_factory
from glee.engine.scheduler import run, run_async
from glee.engine.specs import GameSet, PlayerSpec, RunConfig
from tests.bench.figures import Figure, emit
from tests.bench.llm import SHORT, RecordingEndpoint
from tests.support.fault_server import FaultPlan, FaultServer

IN_FLIGHT = 32
CALLS = 3000


def config(server: FaultServer, db: Path, n_games: int, workers: int, http_client: str = "aiohttp") -> RunConfig:
    endpoint = EndpointSpec(
        backend="openai",
        base_url=server.base_url,
        model="mock-model",
        max_concurrency=64,
        http_client=http_client,  # type: ignore[arg-type]
    )
    llm = PlayerSpec(kind="llm", endpoint=endpoint)
    return RunConfig(
        games=[GameSet(family=f, fixed=fixed) for f, fixed in SHORT.items()],
        pairs=[(llm, llm)],
        n_games=n_games,
        db=db,
        max_games_in_flight=64,
        workers=workers,
        progress=False,
    )


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sweep(server: FaultServer, db: Path, n_games: int, workers: int) -> tuple[float, int, float]:
    """Model calls/s over the playing time, calls, and CPU seconds per call (this process and its workers)."""
    server.set_plan(FaultPlan())
    cpu, kids = time.process_time(), children_cpu()
    summary = run(config(server, db, n_games, workers))
    cpu, kids = time.process_time() - cpu, children_cpu() - kids
    assert summary.failed == 0 and summary.workers == workers, summary.text()
    calls = len(server.requests())
    return calls / summary.wall_s, calls, (cpu + kids) / calls


async def recorded(server: FaultServer, db: Path) -> list[dict[str, Any]]:
    """The request bodies of a small sweep, to send again with the bare client."""
    cfg = config(server, db, 10, 1)
    llm = cfg.pairs[0][0]
    assert llm.endpoint is not None
    endpoint = RecordingEndpoint(llm.endpoint)
    await run_async(cfg, make_player=player_factory({llm.endpoint: endpoint}))
    await endpoint.aclose()
    return [{**kwargs, "messages": messages} for messages, kwargs in endpoint.sent]


async def bare(base_url: str, bodies: list[dict[str, Any]], http_client: str) -> float:
    """CPU ms per call of CALLS bare client posts, IN_FLIGHT at a time, on the given transport."""
    client = openai.AsyncOpenAI(
        api_key="not-needed",
        base_url=base_url,
        http_client=openai.DefaultAioHttpClient() if http_client == "aiohttp" else None,
    )
    todo = iter(range(CALLS))

    async def worker() -> None:
        for i in todo:
            await client.post("/chat/completions", body=bodies[i % len(bodies)], cast_to=ChatCompletion)

    await worker_warm(client, bodies)
    cpu = time.process_time()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    cpu = time.process_time() - cpu
    await client.close()
    return 1000 * cpu / CALLS


async def worker_warm(client: openai.AsyncOpenAI, bodies: list[dict[str, Any]]) -> None:
    await asyncio.gather(
        *(client.post("/chat/completions", body=b, cast_to=ChatCompletion) for b in bodies[:IN_FLIGHT])
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, FaultServer(FaultPlan()) as server:
        dbs = iter(Path(tmp) / f"scale{i}.duckdb" for i in range(10))
        bodies = asyncio.run(recorded(server, next(dbs)))  # also warms imports and caches
        server.set_plan(FaultPlan())
        client_ms = {kind: asyncio.run(bare(server.base_url, bodies, kind)) for kind in ("aiohttp", "httpx")}
        server.set_plan(FaultPlan())
        rate_1, calls_1, cpu_1 = sweep(server, next(dbs), 150, 1)
        rate_2, calls_2, cpu_2 = sweep(server, next(dbs), 150, 2)
    for kind, ms in client_ms.items():
        emit(
            Figure(
                name=f"client_cpu_ms_per_call_{kind}",
                value=ms,
                unit="ms CPU/call",
                better="lower",
                note=f"{CALLS:,} bare openai-client posts of the harness's recorded requests, {IN_FLIGHT} in flight, "
                f"{kind} transport" + (" (glee's default)" if kind == "aiohttp" else " (the client's default)"),
            )
        )
    emit(
        Figure(
            name="harness_total_cpu_ms_per_call",
            value=1000 * cpu_1,
            unit="ms CPU/call",
            target=1.5,
            better="lower",
            note=f"CPU of the sweep process per model call, everything included: {calls_1:,} calls of 450 "
            "LLM-vs-LLM games (all families, short horizons) at 64 in flight, one process, aiohttp transport",
        )
    )
    emit(
        Figure(
            name="workers_scaling",
            value=rate_2 / rate_1,
            unit="x",
            target=1.4,
            note=f"model calls/s of the same 450 games with workers=2 ({rate_2:.0f}/s, {calls_2:,} calls, "
            f"{1000 * cpu_2:.2f} ms CPU per call in the writer and both workers) over workers=1 ({rate_1:.0f}/s, "
            f"{1000 * cpu_1:.2f} ms per call); the loopback server runs on the same two cores",
        )
    )


if __name__ == "__main__":
    main()
