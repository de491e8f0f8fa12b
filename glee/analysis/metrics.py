"""Metric tables: mean of each metric per group with a 95 % interval, in two views of forfeits, and fault counts.

Each metric is shown over completed games only and by intention to treat (forfeits scored as the outcome
their rules store for them: no deal / no sale); failed games are in neither and are counted. Intervals
resample configurations (what replicates of one spec share), so replicates are not taken for independent
games.

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

from glee.analysis.frames import (
    COLLAPSED_NOTE,
    GAME_METRICS,
    METRICS,
    configurations,
    distinct_transcripts,
    metric_columns,
)
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
    clusters: np.ndarray | None = None,
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Mean, interval and count of `values` per group code (NaN values are left out).

    With `clusters` (an integer code per value, e.g. the configuration replicates share), the
    bootstrap resamples whole clusters within each group and the normal interval uses the
    cluster-robust variance of the mean; without, every value is its own cluster.
    `pairs` is `cluster_pairs(codes, clusters)` computed once for several calls on the same rows.
    Returns one row per code 0..n_groups-1 with columns mean, low, high, n, clusters, ci_method.
    """
    keep = ~np.isnan(values)
    vals, grp = values[keep], codes[keep]
    pair_of_row, pair_group = cluster_pairs(codes, clusters) if pairs is None else pairs
    where = pair_of_row[keep]
    n = np.bincount(grp, minlength=n_groups)
    total = np.bincount(grp, weights=vals, minlength=n_groups)
    # Per (group, cluster) pair, sorted by group: the sum and count of its values; empty pairs are left out.
    pair_sum = np.bincount(where, weights=vals, minlength=len(pair_group))
    pair_n = np.bincount(where, minlength=len(pair_group)).astype(float)
    present = pair_n > 0
    pair_sum, pair_n, pair_group = pair_sum[present], pair_n[present], pair_group[present]
    g = np.bincount(pair_group, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        # Cluster-robust variance of a ratio mean: G/(G-1) * sum_c (s_c - mean * n_c)^2 / n^2.
        resid = pair_sum - mean[pair_group] * pair_n
        var = np.bincount(pair_group, weights=resid * resid, minlength=n_groups) * g / (g - 1) / (n * n)
        half = stats.norm.ppf(0.5 + confidence / 2) * np.sqrt(np.maximum(var, 0))
    low, high = mean - half, mean + half
    method = np.where(g > bootstrap_max_n, "normal", "bootstrap").astype(object)
    method[g < 2] = None
    low[g < 2] = np.nan
    high[g < 2] = np.nan

    small = np.flatnonzero((g >= 2) & (g <= bootstrap_max_n))
    starts = np.concatenate([[0], np.cumsum(g)[:-1]])
    rng = np.random.default_rng(seed)
    alpha = (1 - confidence) / 2
    for k in small:
        sums = pair_sum[starts[k] : starts[k] + g[k]]
        counts = pair_n[starts[k] : starts[k] + g[k]]
        draws = rng.integers(0, g[k], size=(resamples, g[k]))
        means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
        low[k], high[k] = np.quantile(means, [alpha, 1 - alpha])
    return pd.DataFrame({"mean": mean, "low": low, "high": high, "n": n, "clusters": g, "ci_method": method})


def cluster_pairs(codes: np.ndarray, clusters: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the index of its (group, cluster) pair, and per pair its group (pairs sorted by group);
    without clusters every row is its own."""
    clu = (clusters if clusters is not None else np.arange(len(codes))).astype(np.int64)
    width = int(clu.max()) + 1 if len(clu) else 1
    pair, pair_of_row = np.unique(codes.astype(np.int64) * width + clu, return_inverse=True)
    return pair_of_row.astype(np.int64), pair // width


VIEWS: dict[str, str] = {"": "completed games only", "_itt": "intention to treat"}
"""metric_table column suffix -> the view of forfeits it holds. Intention to treat scores a forfeit as the
outcome its rules store for it (no deal / no sale and the rules' payoffs); completed-only leaves it out."""


def metric_table(
    seats: pd.DataFrame,
    by: Sequence[str] | None = None,
    metrics: Sequence[str] = METRICS,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    bootstrap_max_n: int = 5000,
) -> pd.DataFrame:
    """Mean of each metric per group of a seat frame, in two views of forfeits, with intervals and counts.

    `by` defaults to family, agent, seat and role (whichever the frame has): one row per agent and role.
    Columns: the `by` keys; `games` (all games of the group), `completed`, `forfeit_games`
    (games that ended in a forfeit, whichever seat forfeited) and `failed`, each counting a
    game once even when the group holds both its seats (an agent playing itself); with a
    `forfeited` column in `seats`, `own_forfeits` (the forfeits the group's own seats made);
    then per metric `<m>`, `<m>_low`, `<m>_high`, `<m>_n`, `<m>_ci` over completed games only, and the
    same with `<m>_itt` over completed and forfeit games (a forfeit scored as its stored outcome).
    Failed games are in neither view. Games whose turns copy another of their configuration count
    once (glee.analysis.frames.distinct_transcripts; `attrs["collapsed"]` says how many were).
    Self-gain has one value per game and seat in the group; the game-level metrics (efficiency,
    fairness, agreement) one per game, so a group holding both seats of a game reads it once.
    Intervals are percentile bootstraps resampling configurations (family, parameters and agents:
    what replicates share) within the group; `attrs["caption"]` says so.
    """
    by = [k for k in ("family", "agent", "seat", "role") if k in seats] if by is None else list(by)
    seats, collapsed = distinct_transcripts(seats)
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
    pairs = cluster_pairs(codes, configurations(seats))
    views = {"": status == "completed", "_itt": np.isin(status, ["completed", "forfeit"])}
    for i, m in enumerate(metrics):
        values = pd.to_numeric(seats[m], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if m in GAME_METRICS:
            values = np.where(once, values, np.nan)
        for suffix, counted in views.items():
            part = group_means(
                np.where(counted, values, np.nan), codes, n_groups, resamples, confidence, seed + i,
                bootstrap_max_n, pairs=pairs,
            )  # fmt: skip
            name = f"{m}{suffix}"
            table[name] = part["mean"].to_numpy()
            table[f"{name}_low"] = part["low"].to_numpy()
            table[f"{name}_high"] = part["high"].to_numpy()
            table[f"{name}_n"] = part["n"].to_numpy()
            table[f"{name}_ci"] = part["ci_method"].to_numpy()
    table.attrs["caption"] = table_caption(seats, by, confidence) + (
        " " + COLLAPSED_NOTE.format(n=collapsed) if collapsed else ""
    )
    table.attrs["collapsed"] = collapsed
    return table


def table_caption(seats: pd.DataFrame, by: Sequence[str], confidence: float = 0.95) -> str:
    """What a metric_table row is and what its intervals are over."""
    per_role = any(k in by for k in ("seat", "role"))
    pooled = (
        ""
        if per_role or seats.get("seat", pd.Series(dtype=int)).nunique() < 2
        else " Self-gain pools both seats (the row's key has no seat or role): a seller's and a buyer's gains"
        " are averaged together."
    )
    keys = ", ".join(by) if by else "all rows"
    return (
        f"One row per {keys}. Self-gain: one value per game and seat; efficiency, fairness, agreement: one per"
        f" game. Plain columns: completed games only; _itt columns: intention to treat (forfeits scored as the"
        f" outcome their rules store); failed games are in neither (counted in `failed`)."
        f" {confidence:.0%} intervals: percentile bootstrap resampling configurations (parameters and agents,"
        f" which replicates share) within the row (normal, cluster-robust, above the bootstrap size limit)." + pooled
    )


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
