"""rss_mb_per_1k_games_in_flight: resident memory per 1 000 LLM games in flight.

Every game waits on a model call that the loopback fault server (a mock API) answers after
a few seconds, so all of them are in flight at once. Each size runs in a fresh process and
reports its peak RSS during the sweep; the figure is the slope between a small and a large
sweep, so what any sweep pays once (imports, the database, schemas) is left out.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import psutil

from glee.backends.spec import EndpointSpec
from glee.engine.scheduler import run_async
from glee.engine.specs import GameSet, PlayerSpec, RunConfig
from tests.bench.figures import Figure, emit
from tests.support.fault_server import FaultPlan, FaultServer

SIZES = (250, 1250)
DELAY_S = 4.0


def peak_rss(games: int) -> tuple[int, int, int]:
    """RSS before, peak RSS during a sweep of `games` games all in flight, and the most requests at once."""
    process = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp, FaultServer(FaultPlan(delay_s=DELAY_S)) as server:
        endpoint = EndpointSpec(
            backend="openai", base_url=server.base_url, model="mock-model", max_concurrency=games, timeout_s=60
        )
        llm = PlayerSpec(kind="llm", endpoint=endpoint)
        config = RunConfig(
            games=[GameSet(family="bargaining", fixed={"max_rounds": 2})],
            pairs=[(llm, llm)],
            n_games=games,
            db=Path(tmp) / "rss.duckdb",
            max_games_in_flight=games,
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
    return before, peak, in_flight


def main() -> None:
    if len(sys.argv) > 1:  # a child: one size
        print(json.dumps(peak_rss(int(sys.argv[1]))), flush=True)
        return
    peaks = {}
    for games in SIZES:
        out = subprocess.run([sys.executable, "-m", "tests.bench.memory", str(games)], capture_output=True, text=True)
        peaks[games] = json.loads(out.stdout.strip().splitlines()[-1])
    (small, large) = SIZES
    slope = (peaks[large][1] - peaks[small][1]) / 2**20 / ((large - small) / 1000)
    emit(
        Figure(
            name="rss_mb_per_1k_games_in_flight",
            value=slope,
            unit="MB",
            better="lower",
            note=f"LLM-vs-LLM bargaining games all in flight at once, each waiting {DELAY_S:.0f} s for its model "
            f"call (fault server as a slow API): peak RSS {peaks[small][1] / 2**20:.0f} MB with {small:,} games and "
            f"{peaks[large][1] / 2**20:.0f} MB with {large:,} (RSS before the sweep {peaks[small][0] / 2**20:.0f} MB); "
            f"the server saw up to {peaks[large][2]:,} requests at once. Each game in flight holds its state, "
            "two players' chats, its coroutine and an HTTP connection with its buffers",
        )
    )


if __name__ == "__main__":
    main()
