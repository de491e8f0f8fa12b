"""LLM players against the loopback fault server (its own process; a mock of an API with
unlimited parallelism, no faults here): the harness's cost per turn and how it scales.

- llm_turns_per_s_instant: the server answers at once, so the figure is the harness's (and
  the client's) own cost per model call.
- concurrency_speedup: the server answers every request after 100 ms; model calls per second
  with 32 games in flight over the same with 1 (ideal 32).
- concurrency_efficiency: harness calls per second at 32 games in flight over bare
  `AsyncOpenAI` calls per second at 32 in flight, sending the prompts the harness sent.
- harness_cpu_ms_per_turn: this process's CPU time per model call in the harness run at 32
  in flight, less the bare client's CPU time per call.

Rates are taken over the steady part of each run: the requests that arrived between the 10th
and the 90th percentile of arrival times (ramp-up and the drain at the end left out, alike
for the harness and the bare client).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import openai

from glee.backends.endpoint import OpenAIEndpoint
from glee.backends.spec import EndpointSpec
from glee.engine.players import player_factory
from glee.engine.scheduler import run
from glee.engine.specs import GameSet, PlayerSpec, RunConfig
from glee.games import Family
from tests.bench.figures import Figure, emit
from tests.support.fault_server import FaultPlan, FaultServer

DELAY_S = 0.1
IN_FLIGHT = 32
SHORT: dict[Family, dict[str, Any]] = {
    "bargaining": {"max_rounds": 6, "money": 100},
    "negotiation": {"max_rounds": 6, "price_scale": 100},
    "persuasion": {"rounds": 4, "price": 100},
}


class RecordingEndpoint(OpenAIEndpoint):
    """The production endpoint, also keeping each request's messages and kwargs (to replay them bare)."""

    def __init__(self, spec: EndpointSpec) -> None:
        super().__init__(spec)
        self.sent: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []

    async def _create(self, messages: list[dict[str, Any]], kwargs: dict[str, Any]) -> Any:
        self.sent.append((list(messages), kwargs))
        return await super()._create(messages, kwargs)


def config(server: FaultServer, db: Path, n_games: int, in_flight: int) -> RunConfig:
    endpoint = EndpointSpec(backend="openai", base_url=server.base_url, model="mock-model", max_concurrency=64)
    llm = PlayerSpec(kind="llm", endpoint=endpoint)
    return RunConfig(
        games=[GameSet(family=f, fixed=fixed) for f, fixed in SHORT.items()],
        pairs=[(llm, llm)],
        n_games=n_games,
        db=db,
        max_games_in_flight=in_flight,
        progress=False,
    )


def steady_rate(server: FaultServer) -> tuple[float, int]:
    """Requests per second between the 10th and 90th percentile of arrivals, and the request count."""
    times = sorted(r.at for r in server.requests())
    low, high = times[len(times) // 10], times[(9 * len(times)) // 10]
    inside = sum(low <= t <= high for t in times)
    return inside / (high - low), len(times)


def harness(server: FaultServer, db: Path, n_games: int, in_flight: int) -> tuple[float, int, float, float]:
    """Steady calls/s, calls, CPU seconds and wall seconds of a sweep of LLM-vs-LLM games."""
    cpu, wall = time.process_time(), time.perf_counter()
    summary = run(config(server, db, n_games, in_flight))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert summary.failed == 0, summary.text()
    rate, calls = steady_rate(server)
    return rate, calls, cpu, wall


async def bare(
    base_url: str, prompts: list[tuple[list[dict[str, Any]], dict[str, Any]]], total: int, in_flight: int
) -> float:
    """`total` plain AsyncOpenAI calls, `in_flight` at a time, cycling through `prompts`; CPU seconds."""
    client = openai.AsyncOpenAI(api_key="not-needed", base_url=base_url)
    queue = iter(range(total))

    async def worker() -> None:
        for i in queue:
            messages, kwargs = prompts[i % len(prompts)]
            await client.chat.completions.create(messages=messages, **kwargs)  # type: ignore[arg-type]

    cpu = time.process_time()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    cpu = time.process_time() - cpu
    await client.close()
    return cpu


async def record_prompts(server: FaultServer, db: Path) -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
    """The requests (messages and create() kwargs) of a small sweep, to replay with the bare client."""
    cfg = config(server, db, 10, 8)
    llm = cfg.pairs[0][0]
    assert llm.endpoint is not None
    endpoint = RecordingEndpoint(llm.endpoint)
    from glee.engine.scheduler import run_async

    await run_async(cfg, make_player=player_factory({llm.endpoint: endpoint}))
    await endpoint.aclose()
    return endpoint.sent


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, FaultServer(FaultPlan()) as server:
        dbs = iter(Path(tmp) / f"llm{i}.duckdb" for i in range(10))
        harness(server, next(dbs), 5, 8)  # warm: imports, schema caches, connections
        server.set_plan(FaultPlan())
        wall = time.perf_counter()
        summary = run(config(server, next(dbs), 100, 64))
        wall = time.perf_counter() - wall
        calls = len(server.requests())
        emit(
            Figure(
                name="llm_turns_per_s_instant",
                value=calls / summary.wall_s,
                unit="model calls/s",
                note=f"{summary.played} LLM-vs-LLM games (all families, short horizons), {calls:,} model calls at "
                f"64 games in flight against a loopback server that answers at once, {summary.wall_s:.2f} s of play "
                f"({wall:.2f} s with plan and database); the server shares the two cores",
            )
        )
        prompts = asyncio.run(record_prompts(server, next(dbs)))

        server.set_plan(FaultPlan(delay_s=DELAY_S))
        one, calls_1, _, wall_1 = harness(server, next(dbs), 8, 1)
        server.set_plan(FaultPlan(delay_s=DELAY_S))
        many, calls_n, cpu_n, wall_n = harness(server, next(dbs), 160, IN_FLIGHT)
        server.set_plan(FaultPlan(delay_s=DELAY_S))
        cpu_bare = asyncio.run(bare(server.base_url, prompts, calls_n, IN_FLIGHT))
        bare_rate, bare_calls = steady_rate(server)

    emit(
        Figure(
            name="concurrency_speedup",
            value=many / one,
            unit="x",
            target=25,
            note=f"model calls/s with {IN_FLIGHT} games in flight ({many:.1f}/s, {calls_n:,} calls in {wall_n:.1f} s) "
            f"over 1 game in flight ({one:.2f}/s, {calls_1} calls in {wall_1:.1f} s); the server answers after "
            f"{DELAY_S * 1000:.0f} ms, so the ideal is {IN_FLIGHT}x and {IN_FLIGHT / DELAY_S:.0f} calls/s",
        )
    )
    emit(
        Figure(
            name="concurrency_efficiency",
            value=many / bare_rate,
            unit="ratio",
            target=0.9,
            note=f"the harness at {IN_FLIGHT} games in flight ({many:.1f} calls/s) over bare AsyncOpenAI calls at "
            f"{IN_FLIGHT} in flight with the same prompts ({bare_rate:.1f} calls/s, {bare_calls:,} calls)",
        )
    )
    per_call, bare_per_call = 1000 * cpu_n / calls_n, 1000 * cpu_bare / bare_calls
    emit(
        Figure(
            name="harness_cpu_ms_per_turn",
            value=per_call - bare_per_call,
            unit="ms CPU/call",
            target=0.5,
            better="lower",
            note=f"CPU time of the sweep process per model call ({per_call:.2f} ms: plan, prompts, parsing, rules, "
            f"database writes, client) less the bare client's ({bare_per_call:.2f} ms per call, "
            "chat.completions.create(), whose per-message request transform the harness skips by posting "
            "its plain JSON through the same client; a negative value means the harness spends less than that)",
        )
    )


if __name__ == "__main__":
    main()
