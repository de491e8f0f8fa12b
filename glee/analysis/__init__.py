"""Analysis of a glee database: tidy frames, metric tables, parameter effects, comparisons, plots, reports.

Everything reads DuckDB read-only and returns pandas frames or matplotlib figures; user
filters are bound as SQL parameters.
"""

from glee.analysis.compare import PairedComparison, bradley_terry, paired_comparison
from glee.analysis.design import NotIdentified
from glee.analysis.effects import balanced_table, parameter_effects
from glee.analysis.frames import (
    distinct_transcripts,
    full_prompt,
    game_frame,
    load_calls,
    load_games,
    load_turns,
    seat_frame,
)
from glee.analysis.glee_table import glee_table
from glee.analysis.metrics import calls_by_agent, metric_table
from glee.analysis.planning import games_needed, half_widths
from glee.analysis.plots import effects_plot, metric_by_parameter, outcome_vs_theory
from glee.analysis.report import write_report
from glee.analysis.transcripts import turn_table

__all__ = [
    "NotIdentified",
    "PairedComparison",
    "balanced_table",
    "bradley_terry",
    "calls_by_agent",
    "distinct_transcripts",
    "effects_plot",
    "full_prompt",
    "game_frame",
    "games_needed",
    "glee_table",
    "half_widths",
    "load_calls",
    "load_games",
    "load_turns",
    "metric_by_parameter",
    "metric_table",
    "outcome_vs_theory",
    "paired_comparison",
    "parameter_effects",
    "seat_frame",
    "turn_table",
    "write_report",
]
