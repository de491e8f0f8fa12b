"""Benchmark: metric table and parameter effects over a million synthetic bargaining games.

Run: .venv/bin/python benchmarks/bench_analysis.py [n_games]. Prints wall-clock seconds.
"""

from __future__ import annotations

import sys
import time

from glee.analysis.effects import parameter_effects
from glee.analysis.frames import seat_frame
from glee.analysis.metrics import metric_table
from glee.analysis.synthetic import synthetic_games


def main(n: int) -> None:
    games = synthetic_games(n, seed=0)
    start = time.perf_counter()
    seats = seat_frame(games)
    table = metric_table(seats, by=("family", "agent", "seat"))
    table_s = time.perf_counter() - start
    start = time.perf_counter()
    fine = metric_table(seats, by=("agent", "seat", "delta_1", "delta_2"))
    fine_s = time.perf_counter() - start
    start = time.perf_counter()
    effects = parameter_effects(seats, "self_gain", family="bargaining")
    effects_s = time.perf_counter() - start
    print(f"games: {n:,}  seat rows: {len(seats):,}")
    print(f"metric table per agent and seat ({len(table)} rows): {table_s:.2f} s")
    print(f"metric table per agent, seat, delta_1, delta_2 ({len(fine)} rows): {fine_s:.2f} s")
    print(f"parameter effects, OLS on {int(effects['n'].iloc[0]):,} rows ({len(effects)} levels): {effects_s:.2f} s")
    print(f"total: {table_s + effects_s:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
