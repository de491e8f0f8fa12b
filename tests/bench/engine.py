"""engine_games_per_s: baseline-vs-baseline sweeps of the paper grids of all three families,
every game logged to a real DuckDB file."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from glee.engine.scheduler import run
from glee.engine.specs import GameSet, PlayerSpec, RunConfig
from tests.bench.figures import Figure, emit, runqueue_wait_s

PAPER_FAMILIES = ("bargaining", "negotiation", "persuasion")
"""The GLEE paper's families (installed plugin families stay out of the figures)."""

PAIRS = [
    (PlayerSpec(strategy="spe"), PlayerSpec(strategy="spe")),
    (PlayerSpec(strategy="random"), PlayerSpec(strategy="fair")),
    (PlayerSpec(strategy="fair"), PlayerSpec(strategy="random")),
]


def sweep(db: Path, n_games: int) -> tuple[int, float, int, float, float]:
    """Games, seconds (the whole `run`: plan, skip check, play, write), turns, CPU seconds and seconds
    spent waiting for a CPU, of one sweep."""
    config = RunConfig(
        games=[GameSet(family=f, grid="paper") for f in PAPER_FAMILIES],
        pairs=PAIRS,
        n_games=n_games,
        db=db,
        progress=False,
    )
    start, cpu, waited = time.perf_counter(), time.process_time(), runqueue_wait_s()
    summary = run(config)
    seconds, cpu, waited = time.perf_counter() - start, time.process_time() - cpu, runqueue_wait_s() - waited
    assert summary.failed == 0 and summary.played == summary.planned, summary.text()
    return summary.played, seconds, summary.turns, cpu, waited


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sweep(Path(tmp) / "warm.duckdb", 1)  # imports, caches of action models and schemas
        games, seconds, turns, cpu, waited = sweep(Path(tmp) / "engine.duckdb", 2)
    emit(
        Figure(
            name="engine_games_per_s",
            value=games / seconds,
            unit="games/s",
            target=1000,
            note=f"{games:,} baseline games (spe-spe, random-fair, fair-random; 2 replicates of the paper grids "
            f"of all three families: 384 + 576 + 360 configurations, persuasion at its default 20 rounds), "
            f"{turns:,} turns, in {seconds:.2f} s of `glee.engine.run` into a new DuckDB file "
            f"(plan, play and every row written); {turns / seconds:,.0f} turns/s; {cpu:.2f} s of CPU in all threads, "
            f"{games / cpu:,.0f} games per CPU-second; its threads waited {waited:.2f} s for a CPU that other "
            "work on the shared machine held",
        )
    )


if __name__ == "__main__":
    main()
