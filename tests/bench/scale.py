"""One machine's cores and the client's transport, against the loopback server that answers at once.

- client_cpu_ms_per_call_aiohttp / _httpx: CPU of this process per bare call of the openai client
  (`client.post` of the harness's recorded requests, 32 in flight, the body read as the endpoint
  reads it), with the aiohttp transport (glee's default) and with httpx, in the same run.
- harness_total_cpu_ms_per_call: CPU of the sweep process per model call, everything included
  (plan, prompts, parsing, rules, database writes, client), with one process.
- workers_scaling: model calls/s of the same sweep with workers=2 over workers=1; the server runs
  on the same cores, so the CPU per call of both (the worker processes counted) is in the note,
  with the server's own CPU per call. GLEE_BENCH_SCALE_GAMES sets the games per family (default 600).
"""

from __future__ import annotations

import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import openai
import psutil

from glee.backends.endpoint import read_reply
from glee.backends.spec import EndpointSpec
from glee.engine.players import player_factory
from glee.engine.scheduler import run, run_async
from glee.engine.specs import GameSet, PlayerSpec, RunConfig
from tests.bench.figures import Figure, emit
from tests.bench.llm import SHORT, RecordingEndpoint
from tests.support.fault_server import FaultPlan, FaultServer

IN_FLIGHT = 32
CALLS = 3000
GAMES = int(os.environ.get("GLEE_BENCH_SCALE_GAMES", "600"))
"""Games per family of the sweeps: enough calls that two spawned workers' start-up is a small part."""
ROUNDS = 2
"""workers=1 and workers=2 alternate this many times, so that a change of the machine's load between
two runs moves both settings alike; the figures are means over the rounds."""


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


def server_cpu(server: FaultServer) -> float:
    times = psutil.Process(server.pid).cpu_times()
    return times.user + times.system


def sweep(server: FaultServer, db: Path, n_games: int, workers: int) -> tuple[float, int, float, float]:
    """Model calls/s over the playing time, calls, CPU seconds per call of this process and its workers,
    and of the server."""
    server.set_plan(FaultPlan())
    cpu, kids, served = time.process_time(), children_cpu(), server_cpu(server)
    summary = run(config(server, db, n_games, workers))
    cpu, kids, served = time.process_time() - cpu, children_cpu() - kids, server_cpu(server) - served
    assert summary.failed == 0 and summary.workers == workers, summary.text()
    calls = len(server.requests())
    return calls / summary.wall_s, calls, (cpu + kids) / calls, served / calls


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
            read_reply(await client.post("/chat/completions", body=bodies[i % len(bodies)], cast_to=bytes))

    await worker_warm(client, bodies)
    cpu = time.process_time()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    cpu = time.process_time() - cpu
    await client.close()
    return 1000 * cpu / CALLS


async def worker_warm(client: openai.AsyncOpenAI, bodies: list[dict[str, Any]]) -> None:
    await asyncio.gather(*(client.post("/chat/completions", body=b, cast_to=bytes) for b in bodies[:IN_FLIGHT]))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, FaultServer(FaultPlan()) as server:
        dbs = iter(Path(tmp) / f"scale{i}.duckdb" for i in range(10))
        bodies = asyncio.run(recorded(server, next(dbs)))  # also warms imports and caches
        server.set_plan(FaultPlan())
        client_ms = {kind: asyncio.run(bare(server.base_url, bodies, kind)) for kind in ("aiohttp", "httpx")}
        server.set_plan(FaultPlan())
        runs: dict[int, list[tuple[float, int, float, float]]] = {1: [], 2: []}
        for _ in range(ROUNDS):
            for workers in (1, 2):
                runs[workers].append(sweep(server, next(dbs), GAMES, workers))
    rate_1, calls_1, cpu_1, server_1 = (sum(column) / ROUNDS for column in zip(*runs[1], strict=True))
    rate_2, calls_2, cpu_2, server_2 = (sum(column) / ROUNDS for column in zip(*runs[2], strict=True))
    ratios = ", ".join(f"{two[0] / one[0]:.2f}" for one, two in zip(runs[1], runs[2], strict=True))
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
            note=f"CPU of the sweep process per model call, everything included: {calls_1:,.0f} calls of {3 * GAMES:,} "
            "LLM-vs-LLM games (all families, short horizons) at 64 in flight, one process, aiohttp transport "
            f"(mean of {ROUNDS} runs); "
            f"the bare client's share is client_cpu_ms_per_call_aiohttp",
        )
    )
    emit(
        Figure(
            name="workers_scaling",
            value=rate_2 / rate_1,
            unit="x",
            target=1.4,
            note=f"model calls/s of the same {3 * GAMES:,} games with workers=2 ({rate_2:.0f}/s, {calls_2:,.0f} calls, "
            f"{1000 * cpu_2:.2f} ms CPU per call in the writer and both workers) over workers=1 ({rate_1:.0f}/s, "
            f"{1000 * cpu_1:.2f} ms per call); the loopback server runs on the same {os.cpu_count()} cores and "
            f"spent {1000 * server_1:.2f} ms (workers=1) and {1000 * server_2:.2f} ms (workers=2) of CPU per call; "
            f"means of {ROUNDS} alternating runs of each, whose ratios were {ratios}",
        )
    )


if __name__ == "__main__":
    main()
