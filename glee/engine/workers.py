"""`workers=N`: one run played by N processes of one machine, written by one.

The process that runs `glee run` plans, starts the managed servers, keeps the database, the
progress bar and the summary, as with one process. It splits the games still to play into N
parts by game id (the partition of `shard=K/N`) and starts N worker processes (spawned, so
none inherits DuckDB's or the event loop's threads); each plays its part on its own event loop
and sends every batch of finished games back through a queue to the single writer. Each
endpoint's limit on requests in flight (`max_concurrency`) and the run's `max_games_in_flight`
are divided among the workers, so the limits hold across them.

Ctrl-C (or a stop: an endpoint that is down) tells every worker to stop; the games they
finished are written, the ones in flight are played again on resume, as in one process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue
import signal
import traceback
from collections.abc import Mapping, Sequence
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from glee.backends.spec import EndpointSpec
from glee.engine.record import GameRecord
from glee.engine.specs import GameSpec, RunSummary

if TYPE_CHECKING:
    from glee.engine.scheduler import Sweep

MIN_GAMES_PER_WORKER = 1000
"""With `workers` unset, a worker process per this many games to play (a process costs about a second
to start, and one process plays about a thousand baseline games per second)."""
POLL_S = 0.2


def cores() -> int:
    """The cores this process may run on (a SLURM job's or a container's share, where set)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(asked: int | None, to_play: int, endpoints: Sequence[EndpointSpec]) -> int:
    """The processes to play `to_play` games in: `asked`, or with None the cores there are (one per
    MIN_GAMES_PER_WORKER games); never more than an endpoint's limit on requests in flight or than
    the games, so that every worker may send at least one request to every endpoint."""
    n = asked if asked is not None else min(cores(), to_play // MIN_GAMES_PER_WORKER)
    return max(1, min(n, to_play, *(e.max_concurrency for e in endpoints)))


def share(total: int, n: int, i: int) -> int:
    """Worker i's part of `total` split among n workers (the parts add up to `total`)."""
    return total // n + (1 if i < total % n else 0)


class WorkerEndpoint(BaseModel):
    """An endpoint as a worker reaches it: the run's spec, the URL of its (maybe managed) server and
    the worker's share of its limit on requests in flight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: EndpointSpec
    base_url: str | None
    max_concurrency: int


class WorkerPlan(BaseModel):
    """What one worker process plays."""

    model_config = ConfigDict(extra="forbid")

    index: int
    run_id: str
    in_flight: int
    specs: list[GameSpec]
    endpoints: list[WorkerEndpoint]


class _Outbox:
    """A worker's sink: every batch of finished games goes to the process that writes the database."""

    def __init__(self, out: Any, index: int) -> None:
        self.out = out
        self.index = index

    def done_ids(self) -> set[str]:
        return set()

    def begin_run(
        self, run_id: str, config: dict[str, Any], experiment: str | None = None, versions: dict[str, Any] | None = None
    ) -> None:
        pass

    def write(self, records: Sequence[GameRecord]) -> None:
        self.out.put(("games", self.index, list(records)))

    def close(self) -> None:
        pass


async def _play(plan: WorkerPlan, out: Any, stop: Event) -> None:
    from glee.backends.endpoint import OpenAIEndpoint
    from glee.engine.players import player_factory
    from glee.engine.scheduler import Sweep

    endpoints = {
        e.spec: OpenAIEndpoint(e.spec.model_copy(update={"max_concurrency": e.max_concurrency}), base_url=e.base_url)
        for e in plan.endpoints
    }
    summary = RunSummary(run_id=plan.run_id, db=Path(), planned=len(plan.specs), skipped=0)
    sweep = Sweep(plan.specs, _Outbox(out, plan.index), player_factory(endpoints), summary, plan.in_flight, False)
    sweep.handle_interrupts = False
    parent = os.getppid()

    async def watch() -> None:
        told = -1
        while True:
            await asyncio.sleep(POLL_S)
            if sweep.dispatched != told:
                told = sweep.dispatched
                out.put(("started", plan.index, told))
            if stop.is_set() or os.getppid() != parent:  # told to stop, or the writing process is gone
                sweep.stop()
                return

    watcher = asyncio.create_task(watch())
    try:
        await sweep.play_all()
    finally:
        watcher.cancel()
        for endpoint in endpoints.values():
            await endpoint.aclose()


def worker_main(plan: WorkerPlan, out: Any, stop: Event) -> None:
    """A worker process: play the plan's games, send them back, then say it is done (or why it failed)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the writing process, which tells us
    try:
        asyncio.run(_play(plan, out, stop))
    except BaseException:
        out.put(("error", plan.index, traceback.format_exc()))
    else:
        out.put(("done", plan.index, None))


async def play_in_processes(
    sweep: Sweep,
    todo: list[GameSpec],
    endpoints: Mapping[EndpointSpec, Any],
    n: int,
    in_flight: int,
    run_id: str,
) -> None:
    """Play `todo` in n worker processes, handing their games to `sweep` (its writer, bar and counts)."""
    context = multiprocessing.get_context("spawn")
    out: Any = context.Queue()
    stop = context.Event()
    sweep.on_stop.append(stop.set)
    processes = []
    for i in range(n):
        plan = WorkerPlan(
            index=i,
            run_id=run_id,
            in_flight=max(1, share(in_flight, n, i)),
            specs=[s for s in todo if int(s.game_id, 16) % n == i],
            endpoints=[
                WorkerEndpoint(spec=spec, base_url=endpoint.base_url, max_concurrency=share(spec.max_concurrency, n, i))
                for spec, endpoint in endpoints.items()
            ],
        )
        process = context.Process(target=worker_main, args=(plan, out, stop), name=f"glee-worker-{i}", daemon=True)
        process.start()
        processes.append(process)
    started = [0] * n
    live = set(range(n))
    failure: str | None = None
    try:
        while live:
            try:
                kind, i, payload = await asyncio.to_thread(out.get, True, POLL_S)
            except queue.Empty:
                for i in sorted(live):
                    if not processes[i].is_alive():  # gone without a word: killed
                        live.discard(i)
                        code = processes[i].exitcode
                        sweep.stop(
                            f"worker process {i} ended (exit status {code}) before its games; run again to resume"
                        )
                continue
            if kind == "games":
                await sweep.receive(payload)
            elif kind == "started":
                started[i] = payload
                sweep.dispatched = sum(started)
            else:
                live.discard(i)
                if kind == "error":
                    failure = failure or f"worker process {i} failed:\n{payload}"
                    sweep.stop(f"worker process {i} failed")
    finally:
        stop.set()
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
    if failure:
        raise RuntimeError(failure)
