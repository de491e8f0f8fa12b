"""Plays a run's games on one asyncio loop and hands finished games to a single writer.

Workers (max_games_in_flight of them) pull game specs from one iterator and play each game
as a plain coroutine: a baseline's `act` never suspends, so baseline games cost no task or
context switch per turn; an LLM's `act` suspends on its endpoint, whose semaphore bounds
the requests in flight to it. Finished games go through a bounded queue to one writer task
that inserts them in batches (in a worker thread, so the loop keeps playing meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from tqdm import tqdm

from glee.backends import EndpointPool
from glee.engine.match import PlayerFactory, play
from glee.engine.plan import plan
from glee.engine.players import endpoint_specs, player_factory
from glee.engine.progress import ProgressFile
from glee.engine.record import GameRecord
from glee.engine.specs import GameSpec, RunConfig, RunSummary, failure_reason
from glee.engine.workers import play_in_processes, worker_count

BATCH = 1000
"""Games per write transaction (at most); a partial batch is written after FLUSH_S."""
FLUSH_S = 0.5
QUEUE = 4 * BATCH
"""Finished games waiting for the writer before the players pause (bounds memory)."""


class GameSink(Protocol):
    """Where finished games go: glee.store.Store, or anything with the same four methods."""

    def done_ids(self) -> set[str]: ...

    def begin_run(
        self, run_id: str, config: dict[str, Any], experiment: str | None = None, versions: dict[str, Any] | None = None
    ) -> None: ...

    def write(self, records: Sequence[GameRecord]) -> Any: ...

    def close(self) -> None: ...


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


class Sweep:
    """One run's playing phase: workers, the writer, the progress bar and Ctrl-C."""

    def __init__(
        self,
        todo: list[GameSpec],
        sink: GameSink,
        make_player: PlayerFactory,
        summary: RunSummary,
        in_flight: int,
        progress: bool,
        progress_file: ProgressFile | None = None,
    ) -> None:
        self.specs: Iterator[GameSpec] = iter(todo)
        self.progress_file = progress_file
        self.dispatched = 0
        """Games started (by this process's workers, or reported by worker processes)."""
        self.on_stop: list[Callable[[], None]] = []
        """Called when the sweep stops dispatching (worker processes are told to stop too)."""
        self.handle_interrupts = True
        """Ctrl-C stops this sweep (a worker process leaves that to the process that started it)."""
        self.sink = sink
        self.make_player = make_player
        self.summary = summary
        self.in_flight = max(1, min(in_flight, len(todo)))
        self.queue: asyncio.Queue[GameRecord | None] = asyncio.Queue(QUEUE)
        self.stopping = False
        self.workers: list[asyncio.Task[None]] = []
        self.bar = tqdm(total=len(todo), unit="game", disable=not progress, file=sys.stderr, dynamic_ncols=True)
        self.started = time.perf_counter()
        self.last_postfix = 0.0

    async def worker(self) -> None:
        for spec in self.specs:
            if self.stopping:
                return
            self.dispatched += 1
            record = await play(spec, self.make_player, self.summary.run_id)
            self.count(record)
            await self.queue.put(record)
            if record.error_kind == "endpoint_down":
                self.stop(record.error)
            await asyncio.sleep(0)  # let the writer and other workers in after each game

    async def receive(self, records: Sequence[GameRecord]) -> None:
        """Games played elsewhere (a worker process): counted, shown and written as this loop's own."""
        for record in records:
            self.count(record)
            await self.queue.put(record)
            if record.error_kind == "endpoint_down":
                self.stop(record.error)

    def count(self, record: GameRecord) -> None:
        s = self.summary
        if record.status == "completed":
            s.completed += 1
        elif record.status == "forfeit":
            s.forfeit += 1
        else:
            s.failed += 1
            reason = failure_reason(record.error, record.error_kind)
            s.failures[reason] = s.failures.get(reason, 0) + 1
        s.turns += len(record.turns)
        for call in record.calls:
            s.prompt_tokens += call.prompt_tokens or 0
            s.completion_tokens += call.completion_tokens or 0
        self.bar.update(1)
        if self.progress_file is not None:
            self.progress_file.update(s.skipped + s.completed + s.forfeit, s.failed, self.dispatched - s.played)
        now = time.perf_counter()
        if now - self.last_postfix > 0.5:
            self.last_postfix = now
            tokens = (s.prompt_tokens + s.completion_tokens) / max(now - self.started, 1e-9)
            self.bar.set_postfix(failed=s.failed, forfeit=s.forfeit, tok_s=f"{tokens:.0f}", refresh=False)

    def stop(self, reason: str | None = None) -> None:
        """Stop dispatching; games in flight are cancelled (they are played again on resume)."""
        if reason and not self.summary.error:
            self.summary.error = reason
        self.stopping = True
        for task in self.workers:
            task.cancel()
        for hook in self.on_stop:
            hook()

    async def writer(self) -> None:
        loop = asyncio.get_running_loop()
        closing = False
        while not closing:
            first = await self.queue.get()
            batch: list[GameRecord] = []
            closing = first is None
            if first is not None:
                batch.append(first)
            deadline = loop.time() + FLUSH_S
            while not closing and len(batch) < BATCH:
                try:
                    item = (
                        self.queue.get_nowait()
                        if self.queue.qsize()
                        else await asyncio.wait_for(self.queue.get(), max(0.0, deadline - loop.time()))
                    )
                except TimeoutError:
                    break
                if item is None:
                    closing = True
                else:
                    batch.append(item)
            if batch:
                try:
                    await asyncio.to_thread(self.sink.write, batch)
                except BaseException:
                    self.stop("the database write failed")  # no point playing games that cannot be kept
                    raise

    async def play_all(self, feed: Coroutine[Any, Any, None] | None = None) -> None:
        """Play every game here (max_games_in_flight workers on this loop), or, given `feed`, write and
        count the games that `feed` (worker processes) hands to `receive`."""
        loop = asyncio.get_running_loop()
        interrupts = 0

        def on_interrupt() -> None:
            nonlocal interrupts
            interrupts += 1
            if interrupts > 1:
                os._exit(130)  # a second Ctrl-C: leave now (DuckDB's WAL keeps every committed batch)
            self.bar.write("interrupted: stopping; finished games are being written (Ctrl-C again to quit now)")
            self.summary.interrupted = True
            self.stop()

        if self.handle_interrupts:
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread, or no signals
                loop.add_signal_handler(signal.SIGINT, on_interrupt)
        writer = asyncio.create_task(self.writer())
        try:
            if feed is not None:
                await feed
                results: list[Any] = []
            else:
                self.workers = [asyncio.create_task(self.worker()) for _ in range(self.in_flight)]
                results = await asyncio.gather(*self.workers, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                    raise result
        finally:
            if self.handle_interrupts:
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(signal.SIGINT)
            # Tell the writer to finish; if it died meanwhile, a full queue must not block this forever.
            closing = asyncio.create_task(self.queue.put(None))
            await asyncio.wait({closing, writer}, return_when=asyncio.FIRST_COMPLETED)
            closing.cancel()
            await writer  # raises if a write failed: never lose that silently
            self.bar.close()
            self.summary.wall_s = time.perf_counter() - self.started


def _default_sink(db: Path) -> GameSink:
    # The one reference from the engine to the layer below it: `run` writes to the DuckDB store
    # by default. Pass `sink` to run against anything else.
    from glee.store import open_store

    return open_store(db)


async def run_async(
    config: RunConfig,
    sink: GameSink | None = None,
    make_player: PlayerFactory | None = None,
) -> RunSummary:
    """Play every planned game of `config` that `sink` (default: the DuckDB file `config.db`) lacks."""
    specs = plan(config)
    own_sink = sink is None
    store = _default_sink(config.db) if sink is None else sink
    tracker: ProgressFile | None = None
    try:
        done = store.done_ids()
        todo = [s for s in specs if s.game_id not in done]
        summary = RunSummary(run_id=new_run_id(), db=config.db, planned=len(specs), skipped=len(specs) - len(todo))
        recorded = config.model_dump(mode="json")
        db = getattr(store, "path", None)  # a sink that is a database file reports its progress beside it
        shard = str(config.shard) if config.shard else None
        tracker = ProgressFile(db, summary.run_id, len(specs), summary.skipped, shard, 1) if db else None
        if not todo:
            store.begin_run(summary.run_id, recorded, config.experiment)
        else:
            # One endpoint per distinct spec for the whole run; managed servers start here and stop at exit.
            async with EndpointPool() as pool:
                specs_used = endpoint_specs(p for s in todo for p in (s.player_1, s.player_2))
                try:
                    endpoints = {e: await pool.endpoint(e) for e in specs_used}
                finally:  # the run is recorded with the servers that started, also when one did not
                    servers = pool.servers()
                    store.begin_run(
                        summary.run_id, recorded, config.experiment, {"servers": servers} if servers else None
                    )
                factory = make_player or player_factory(endpoints)
                # A factory of the caller's own stays in this process (it need not survive pickling).
                workers = 1 if make_player else worker_count(config.workers, len(todo), list(endpoints))
                summary.workers = workers
                if tracker is not None:
                    tracker.state.workers = workers
                sweep = Sweep(todo, store, factory, summary, config.max_games_in_flight, config.progress, tracker)
                if workers == 1:
                    await sweep.play_all()
                else:
                    in_flight = config.max_games_in_flight
                    await sweep.play_all(play_in_processes(sweep, todo, endpoints, workers, in_flight, summary.run_id))
    finally:
        if tracker is not None:
            finished = summary.skipped + summary.completed + summary.forfeit
            tracker.finish(finished, summary.failed, summary.interrupted, summary.error)
        if own_sink:
            store.close()
    if config.progress:
        print(summary.text(), file=sys.stderr)
    return summary


def run(config: RunConfig, sink: GameSink | None = None, make_player: PlayerFactory | None = None) -> RunSummary:
    """Play every planned game of `config` that the database lacks, and return what happened."""
    return asyncio.run(run_async(config, sink, make_player))
