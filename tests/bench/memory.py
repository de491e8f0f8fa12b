"""rss_mb_per_1k_games_in_flight: resident memory the sweep grows by per 1 000 LLM games in flight.

Every game waits on a model call that the loopback fault server (a mock API) answers after
a few seconds, so all of them are in flight at once; the figure is the peak RSS during the
sweep less the RSS just before it, per 1 000 games.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from pathlib import Path

import psutil

from glee.backends.spec import EndpointSpec
from glee.engine.scheduler import run_async
from glee.engine.specs import GameSet, PlayerSpec, RunConfig
from tests.bench.figures import Figure, emit
from tests.support.fault_server import FaultPlan, FaultServer

GAMES = 2000
DELAY_S = 4.0


def main() -> None:
    process = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp, FaultServer(FaultPlan(delay_s=DELAY_S)) as server:
        endpoint = EndpointSpec(
            backend="openai", base_url=server.base_url, model="mock-model", max_concurrency=GAMES, timeout_s=60
        )
        llm = PlayerSpec(kind="llm", endpoint=endpoint)
        config = RunConfig(
            games=[GameSet(family="bargaining", fixed={"max_rounds": 2})],
            pairs=[(llm, llm)],
            n_games=GAMES,
            db=Path(tmp) / "rss.duckdb",
            max_games_in_flight=GAMES,
            progress=False,
        )
        before = process.memory_info().rss
        peak = before
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.wait(0.05):
                peak = max(peak, process.memory_info().rss)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            summary = asyncio.run(run_async(config))
        finally:
            stop.set()
            sampler.join()
        in_flight = server.max_in_flight()
    assert summary.failed == 0, summary.text()
    mb = (peak - before) / 2**20
    emit(
        Figure(
            name="rss_mb_per_1k_games_in_flight",
            value=mb / (GAMES / 1000),
            unit="MB",
            better="lower",
            note=f"{GAMES:,} LLM-vs-LLM bargaining games in flight at once (the server saw {in_flight:,} requests "
            f"at once), each waiting {DELAY_S:.0f} s for its model call: RSS grew from {before / 2**20:.0f} MB "
            f"to a peak of {peak / 2**20:.0f} MB (client connections and the writer's batches included)",
        )
    )


if __name__ == "__main__":
    main()
