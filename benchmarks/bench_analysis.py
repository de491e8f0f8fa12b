"""Benchmark: metric table and parameter effects over a million synthetic bargaining games.

Run: .venv/bin/python benchmarks/bench_analysis.py [n_games]. Prints wall-clock and CPU
seconds per step (CPU time tells the cost apart from other processes on a busy machine).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from glee.analysis.effects import parameter_effects
from glee.analysis.frames import seat_frame
from glee.analysis.metrics import metric_table
from glee.analysis.synthetic import synthetic_games


def timed(step: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = step()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(n: int) -> None:
    games = synthetic_games(n, seed=0)
    table, t_wall, t_cpu = timed(lambda: metric_table(seat_frame(games), by=("family", "agent", "seat")))
    seats = seat_frame(games)
    fine, f_wall, f_cpu = timed(lambda: metric_table(seats, by=("agent", "seat", "delta_1", "delta_2")))
    effects, e_wall, e_cpu = timed(lambda: parameter_effects(seats, "self_gain", family="bargaining"))
    print(f"games: {n:,}  seat rows: {len(seats):,}")
    print(f"seat frame + metric table per agent and seat ({len(table)} rows): {t_wall:.2f} s wall, {t_cpu:.2f} s CPU")
    print(f"metric table per agent, seat, delta_1, delta_2 ({len(fine)} rows): {f_wall:.2f} s wall, {f_cpu:.2f} s CPU")
    rows = int(effects["n"].iloc[0])
    print(f"parameter effects, OLS on {rows:,} rows ({len(effects)} levels): {e_wall:.2f} s wall, {e_cpu:.2f} s CPU")
    print(f"table + effects: {t_wall + e_wall:.2f} s wall, {t_cpu + e_cpu:.2f} s CPU")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
