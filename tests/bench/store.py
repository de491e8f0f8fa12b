"""db_rows_per_s: the single writer inserting finished games (games, turns, llm_calls, outcomes)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from glee.engine.match import play
from glee.engine.plan import plan
from glee.engine.record import GameRecord
from glee.engine.specs import GameSet, PlayerSpec, RunConfig
from glee.store import open_store
from tests.bench.figures import Figure, emit
from tests.support.engine_players import CHATTY, scripted_factory

PAPER_FAMILIES = ("bargaining", "negotiation", "persuasion")
"""The GLEE paper's families (installed plugin families stay out of the figures)."""

BATCH = 1000
"""Games per write, as the scheduler batches them."""


def records() -> list[GameRecord]:
    """Finished games of all families; one seat logs a model call per turn like an LLM seat."""
    config = RunConfig(
        games=[GameSet(family=f, grid="paper") for f in PAPER_FAMILIES],
        pairs=[(PlayerSpec(strategy="spe", name=CHATTY), PlayerSpec(strategy="random"))],
        progress=False,
    )
    factory = scripted_factory()

    async def play_all() -> list[GameRecord]:
        return [await play(spec, factory, "bench") for spec in plan(config)]

    return asyncio.run(play_all())


def main() -> None:
    played = records()
    copies = 8
    games = [r.model_copy(update={"game_id": f"{r.game_id}-{k}"}) for k in range(copies) for r in played]
    rows = sum(1 + len(r.turns) + len(r.calls) + (r.outcome is not None) for r in games)
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "rows.duckdb") as store:
        store.write(games[:BATCH])  # warm: the first batch creates the tables' storage
        start = time.perf_counter()
        for i in range(BATCH, len(games), BATCH):
            store.write(games[i : i + BATCH])
        seconds = time.perf_counter() - start
    first = sum(1 + len(r.turns) + len(r.calls) + (r.outcome is not None) for r in games[:BATCH])
    rows -= first
    emit(
        Figure(
            name="db_rows_per_s",
            value=rows / seconds,
            unit="rows/s",
            note=f"{rows:,} rows ({len(games) - BATCH:,} games with their turns, model calls and outcomes) "
            f"written by glee.store's writer in batches of {BATCH} games, {seconds:.2f} s; "
            f"{(len(games) - BATCH) / seconds:,.0f} games/s",
        )
    )


if __name__ == "__main__":
    main()
