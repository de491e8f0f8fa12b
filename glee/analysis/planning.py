"""Sample-size planning: the interval half-width each cell reached, and the games a target half-width needs.

A cell is one configuration (family and parameters) with one agent in one role: the finest unit a table
of glee reports, and the one whose games are exchangeable replicates. The half-width reached is the
t interval's, `t(n − 1) · sd / √n`; the games needed for a target half-width h come from the pilot's
standard deviation, `n = ⌈(z · sd / h)²⌉` (normal quantile: the size that the pilot's variance says
reaches h, at least 2 so that an interval exists). A cell whose pilot has fewer than two games has
no variance to plan from, and says so (NaN). Copies of a replicate (identical transcripts) count once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from glee.analysis.effects import VIEW_STATUSES
from glee.analysis.frames import GAME_METRICS, METRICS, distinct_transcripts
from glee.errors import ConfigError

CELL: tuple[str, ...] = ("family", "params", "agent", "role")
"""The default cell: one configuration, one agent, one role."""


def _values(frame: pd.DataFrame, metric: str, cell: Sequence[str], view: str) -> pd.DataFrame:
    if metric not in METRICS:
        raise ConfigError(f"metric: got {metric!r}; allowed: one of {list(METRICS)}")
    if view not in VIEW_STATUSES:
        raise ConfigError(f"view: got {view!r}; allowed: one of {list(VIEW_STATUSES)}")
    keys = [k for k in cell if k in frame]
    if not keys:
        raise ConfigError(f"cell: none of {list(cell)} is a column of the frame")
    frame, _ = distinct_transcripts(frame)
    data = frame[frame["status"].isin(VIEW_STATUSES[view])] if "status" in frame else frame
    if metric in GAME_METRICS and "game_id" in data:
        data = data.drop_duplicates([*keys, "game_id"])  # a game-level metric: one row per game in a cell
    data = data.assign(_value=pd.to_numeric(data[metric], errors="coerce")).dropna(subset=["_value"])
    table = data.groupby(keys, sort=True, observed=True, dropna=False)["_value"].agg(["count", "mean", "std"])
    return table.reset_index().rename(columns={"count": "games", "std": "sd"})


def half_widths(
    frame: pd.DataFrame,
    metric: str = "self_gain",
    cell: Sequence[str] = CELL,
    confidence: float = 0.95,
    view: str = "itt",
) -> pd.DataFrame:
    """Per cell (default: configuration, agent, role) of a seat frame: games, mean, sd and the half-width of
    the `confidence` t interval of the mean reached (NaN under two games). `view` as in parameter_effects."""
    table = _values(frame, metric, cell, view)
    n = table["games"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = stats.t.ppf(0.5 + confidence / 2, n - 1)
        table["half_width"] = np.where(n >= 2, q * table["sd"].to_numpy(dtype=float) / np.sqrt(n), np.nan)
    table.attrs["caption"] = (
        f"One row per cell ({', '.join(k for k in cell if k in frame)}): {metric} over its games"
        f" ({'intention to treat' if view == 'itt' else 'completed games only'}), the half-width of its"
        f" {confidence:.0%} t interval; copies of a replicate count once."
    )
    return table


def games_needed(
    pilot: pd.DataFrame,
    target_half_width: float,
    metric: str = "self_gain",
    cell: Sequence[str] = CELL,
    confidence: float = 0.95,
    view: str = "itt",
) -> pd.DataFrame:
    """Per cell of a pilot's seat frame: how many games a `confidence` interval of half-width
    `target_half_width` needs, from the pilot's standard deviation (`needed`), and how many more than
    the pilot played (`more`). NaN where the pilot has under two games (no variance to plan from)."""
    if not (isinstance(target_half_width, int | float) and math.isfinite(target_half_width) and target_half_width > 0):
        raise ConfigError(f"target_half_width: got {target_half_width!r}; allowed: a number > 0")
    table = half_widths(pilot, metric, cell, confidence, view)
    z = stats.norm.ppf(0.5 + confidence / 2)
    sd = table["sd"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        needed = np.maximum(np.ceil((z * sd / target_half_width) ** 2), 2.0)
    needed[np.isnan(sd)] = np.nan
    table["needed"] = needed
    table["more"] = np.maximum(needed - table["games"].to_numpy(dtype=float), 0.0)
    table.attrs["caption"] = (
        f"One row per cell: games a {confidence:.0%} interval of {metric} with half-width {target_half_width:g}"
        " needs, ceil((z·sd/h)²) from the pilot's sd (at least 2), and how many more than the pilot; NaN where the"
        " pilot played under two games."
    )
    return table
