"""Metric tables: mean of each metric per group with a 95 % interval, and fault counts.

Intervals are percentile bootstraps computed with numpy, vectorized per group (one
`(resamples, n)` index draw and one gather), not `scipy.stats.bootstrap`: scipy resamples
one sample per call, and its default BCa adds a jackknife of n fits, which is far too slow
for a table over a million games split into many groups. The cost of a bootstrap grows as
n x resamples, so a group larger than `bootstrap_max_n` gets the normal (CLT) interval of
its mean instead — at that size the two agree to well under a tenth of the interval
width — and the row says which it got (`ci_method`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from glee.analysis.frames import METRICS, metric_columns
from glee.errors import ConfigError

GAME_COUNTS = {
    "completed": "completed",
    "forfeit_games": "forfeit",
    "failed": "failed",
    "context_overflow": "context_overflow",
    "request_rejected": "request_rejected",
}
"""metric_table column -> the game status it counts."""


def group_means(
    values: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    bootstrap_max_n: int = 5000,
) -> pd.DataFrame:
    """Mean, interval and count of `values` per group code (NaN values are left out).

    Returns one row per code 0..n_groups-1 with columns mean, low, high, n, ci_method.
    """
    keep = ~np.isnan(values)
    vals, grp = values[keep], codes[keep]
    n = np.bincount(grp, minlength=n_groups)
    total = np.bincount(grp, weights=vals, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        sq = np.bincount(grp, weights=vals * vals, minlength=n_groups)
        var = (sq - n * mean * mean) / (n - 1)
        half = stats.norm.ppf(0.5 + confidence / 2) * np.sqrt(np.maximum(var, 0) / n)
    low, high = mean - half, mean + half
    method = np.where(n > bootstrap_max_n, "normal", "bootstrap").astype(object)
    method[n < 2] = None
    low[n < 2] = np.nan
    high[n < 2] = np.nan

    small = np.flatnonzero((n >= 2) & (n <= bootstrap_max_n))
    if not len(small):
        return pd.DataFrame({"mean": mean, "low": low, "high": high, "n": n, "ci_method": method})
    # Only the rows of bootstrapped groups are sorted (by group) so each group is one slice.
    pick = np.isin(grp, small)
    order = np.argsort(grp[pick], kind="stable")
    sorted_vals = vals[pick][order]
    sizes = np.where(np.isin(np.arange(n_groups), small), n, 0)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rng = np.random.default_rng(seed)
    alpha = (1 - confidence) / 2
    for g in small:
        sample = sorted_vals[starts[g] : starts[g] + n[g]]
        draws = sample[rng.integers(0, n[g], size=(resamples, n[g]))].mean(axis=1)
        low[g], high[g] = np.quantile(draws, [alpha, 1 - alpha])
    return pd.DataFrame({"mean": mean, "low": low, "high": high, "n": n, "ci_method": method})


def metric_table(
    seats: pd.DataFrame,
    by: Sequence[str] = ("family", "agent", "seat"),
    metrics: Sequence[str] = METRICS,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    bootstrap_max_n: int = 5000,
) -> pd.DataFrame:
    """Mean of each metric per group of a seat frame, with intervals and counts.

    Columns: the `by` keys; `games` (all games of the group), `completed`, `forfeit_games`
    (games that ended in a forfeit, whichever seat forfeited) and `failed`, each counting a
    game once even when the group holds both its seats (an agent playing itself); with a
    `forfeited` column in `seats`, `own_forfeits` (the forfeits the group's own seats made);
    then per metric `<m>`, `<m>_low`, `<m>_high`, `<m>_n`, `<m>_ci`. Means use completed
    games only: forfeits and failures are counted, never averaged in.
    """
    by = list(by)
    for key in by:
        if key not in seats:
            raise ConfigError(f"by: unknown column {key!r}; allowed: {', '.join(sorted(map(str, seats.columns)))}")
    metrics = metric_columns(seats, metrics)
    if by:
        grouped = seats.groupby(by, sort=True, observed=True, dropna=False)
        codes = grouped.ngroup().to_numpy(dtype=np.int64)
        table = grouped.size().index.to_frame(index=False)
    else:
        codes = np.zeros(len(seats), dtype=np.int64)
        table = pd.DataFrame(index=[0])
    n_groups = len(table)
    status = seats["status"].to_numpy()
    # Game counts: one per game and group, so both seats of a self-play game count it once.
    once = (
        ~pd.DataFrame({"code": codes, "game_id": seats["game_id"].to_numpy()}).duplicated().to_numpy()
        if "game_id" in seats
        else np.ones(len(seats), dtype=bool)
    )
    table["games"] = np.bincount(codes, weights=once, minlength=n_groups).astype(np.int64)
    for name, value in GAME_COUNTS.items():
        counted = once & (status == value)
        table[name] = np.bincount(codes, weights=counted, minlength=n_groups).astype(np.int64)
    if "forfeited" in seats:
        forfeited = seats["forfeited"].fillna(False).to_numpy(dtype=bool)
        table["own_forfeits"] = np.bincount(codes, weights=forfeited, minlength=n_groups).astype(np.int64)
    done = status == "completed"
    for i, m in enumerate(metrics):
        values = pd.to_numeric(seats[m], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        values = np.where(done, values, np.nan)
        part = group_means(values, codes, n_groups, resamples, confidence, seed + i, bootstrap_max_n)
        table[m] = part["mean"].to_numpy()
        table[f"{m}_low"] = part["low"].to_numpy()
        table[f"{m}_high"] = part["high"].to_numpy()
        table[f"{m}_n"] = part["n"].to_numpy()
        table[f"{m}_ci"] = part["ci_method"].to_numpy()
    return table


def calls_by_agent(calls: pd.DataFrame) -> pd.DataFrame:
    """One row per (family, agent) of a `load_calls` frame: its model calls (every attempt), how many
    were rejected (the reply refused), failed (the call itself) or cut at max_tokens (finish_reason
    "length"), mean prompt and completion tokens, and the median latency in ms."""
    if calls.empty:
        return pd.DataFrame(columns=["family", "agent", "calls", "rejected", "failed", "truncated"])
    marked = calls.assign(
        rejected=calls["rejection"].notna(),
        failed=calls["error"].notna(),
        truncated=calls["finish_reason"].eq("length"),
    )
    table = marked.groupby(["family", "agent"], sort=True).agg(
        calls=("game_id", "size"),
        rejected=("rejected", "sum"),
        failed=("failed", "sum"),
        truncated=("truncated", "sum"),
        prompt_tokens=("prompt_tokens", "mean"),
        completion_tokens=("completion_tokens", "mean"),
        latency_ms=("latency_ms", "median"),
    )
    return table.reset_index()
