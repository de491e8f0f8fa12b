"""Benchmark: a baseline-vs-baseline sweep over all three paper grids, logged to DuckDB.

Prints games/s and turns/s of the whole run (planning, playing, writing every turn and
outcome) and the database size per 1 000 games. Usage:

    .venv/bin/python benchmarks/bench_sweep.py [--replicates N] [--in-flight K] [--db PATH]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from glee.engine import GameSet, PlayerSpec, RunConfig, plan, run
from glee.games import FAMILIES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=2)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    db = args.db or Path(tempfile.mkdtemp(prefix="glee-bench-")) / "bench.duckdb"
    strategies = ("spe", "fair", "random")
    pairs = [(PlayerSpec(strategy=a), PlayerSpec(strategy=b)) for a in strategies for b in strategies]
    config = RunConfig(
        experiment="bench",
        games=[GameSet(family=f, grid="paper") for f in FAMILIES],
        pairs=pairs,
        n_games=args.replicates,
        db=db,
        max_games_in_flight=args.in_flight,
        progress=False,
    )
    started, cpu = time.perf_counter(), time.process_time()
    planned = len(plan(config))
    planning = time.perf_counter() - started
    summary = run(config)
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu
    size = db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob(db.name + ".wal"))
    print(summary.text())
    print(f"planning {planned} games: {planning:.2f} s")
    print(
        f"end to end (plan, play, write, checkpoint): {total:.1f} s, {summary.played / total:.0f} games/s, "
        f"{summary.turns / total:.0f} turns/s"
    )
    # On a shared machine wall time includes other people's work; CPU time of this process does not.
    print(f"CPU time {cpu:.1f} s: {summary.played / cpu:.0f} games and {summary.turns / cpu:.0f} turns per CPU-second")
    print(f"turns per game: {summary.turns / max(summary.played, 1):.1f}")
    print(f"database: {size / 1e6:.1f} MB, {size / max(summary.played, 1) * 1000 / 1e6:.2f} MB per 1 000 games ({db})")


if __name__ == "__main__":
    main()
