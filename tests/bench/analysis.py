"""analysis_1m_games_s: the metric table (per family, agent and seat, with bootstrap intervals)
of a million synthetic games; analysis_effects_1m_games_s: the OLS parameter effects on them."""

from __future__ import annotations

import time

from glee.analysis.effects import parameter_effects
from glee.analysis.frames import seat_frame
from glee.analysis.metrics import metric_table
from tests.bench.figures import Figure, emit
from tests.support.synthetic import synthetic_games

N = 1_000_000


def main() -> None:
    games = synthetic_games(N, seed=0)
    start = time.perf_counter()
    seats = seat_frame(games)
    table = metric_table(seats, by=("family", "agent", "seat"))
    seconds = time.perf_counter() - start
    emit(
        Figure(
            name="analysis_1m_games_s",
            value=seconds,
            unit="s",
            target=10,
            better="lower",
            note=f"seat frame ({len(seats):,} rows) and metric table ({len(table)} rows, every metric with "
            f"its bootstrap interval) of {N:,} synthetic bargaining games (tests/support/synthetic.py)",
        )
    )
    start = time.perf_counter()
    effects = parameter_effects(seats, "self_gain", family="bargaining")
    seconds = time.perf_counter() - start
    emit(
        Figure(
            name="analysis_effects_1m_games_s",
            value=seconds,
            unit="s",
            target=10,
            better="lower",
            note=f"OLS of self-gain on the bargaining parameters and agents ({len(effects)} levels with 95% "
            f"intervals) over the {len(seats):,} seat rows of the same games",
        )
    )


if __name__ == "__main__":
    main()
