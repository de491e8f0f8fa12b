"""The leaderboard of a database: per family, every agent ranked by its Bradley–Terry strength (who
gained more, head to head; glee.analysis.compare) next to its economic metrics in each role.

Competition agents (`agent:<name>` from `glee serve-agents`, `sdk:<function>` in process) are ranked
with the players they met. The GLEE competition documents no 0–100 score (GAMES.md §8), so none is
made up here.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from glee.analysis.compare import bradley_terry
from glee.analysis.metrics import metric_table
from glee.errors import GleeError

COMPETITION_PREFIXES = ("agent:", "sdk:")
"""Labels of competition agents: connected to serve-agents, or played in process."""
ROLE_METRICS = ("self_gain", "efficiency", "fairness")


def leaderboard(games: pd.DataFrame, seats: pd.DataFrame, family: str) -> pd.DataFrame:
    """One family's ranking: rank, agent, competition (bool), strength [low, high], games, wins, ties,
    then per role `<role>_games` (completed) and `<role>_<metric>` means. Raises GleeError (one line)
    when the family's games cannot rate its agents (fewer than two agents, no decided game, ...)."""
    rating = bradley_terry(games[games["family"] == family])
    by_role = metric_table(seats[seats["family"] == family], by=("agent", "role"), metrics=ROLE_METRICS)
    wide = rating[["agent", "strength", "low", "high", "games", "wins", "ties"]].copy()
    wide.insert(0, "rank", range(1, len(wide) + 1))
    wide.insert(2, "competition", wide["agent"].str.startswith(COMPETITION_PREFIXES))
    for role, part in by_role.groupby("role", sort=True, observed=True):
        cols = {"completed": f"{role}_games", **{m: f"{role}_{m}" for m in ROLE_METRICS if m in part}}
        wide = wide.merge(part[["agent", *cols]].rename(columns=cols), on="agent", how="left")
    wide.attrs = dict(rating.attrs)
    return wide


def leaderboards(games: pd.DataFrame, seats: pd.DataFrame) -> dict[str, list[dict[str, Any]] | str]:
    """Every family's leaderboard as JSON-ready rows, or the one-line reason it has none (an API's answer)."""
    out: dict[str, list[dict[str, Any]] | str] = {}
    for family in sorted(set(games["family"])):
        try:
            frame = leaderboard(games, seats, family)
        except GleeError as exc:
            out[family] = str(exc)
            continue
        out[family] = [
            {str(k): (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
            for row in frame.astype(object).to_dict("records")
        ]
    return out


def leaderboard_section(games: pd.DataFrame, seats: pd.DataFrame, families: list[str]) -> str:
    """The report's leaderboard: one table per family (or the reason it has none)."""
    parts = [
        '<h2 id="leaderboard">Leaderboard</h2>',
        "<p>Per family, every agent ranked by its Bradley–Terry strength from head-to-head games (who gained "
        "more; 95 % intervals, the first agent by name is the reference at 0), next to its completed games and "
        "mean metrics in each role. competition: a GLEE competition agent (agent:&lt;name&gt; from glee "
        "serve-agents, sdk:&lt;function&gt; in process). The competition documents no 0–100 score; none is "
        "shown.</p>",
    ]
    for family in families:
        parts.append(f"<h3>{html.escape(family)}</h3>")
        try:
            frame = leaderboard(games, seats, family)
        except GleeError as exc:
            parts.append(f'<p class="note">{html.escape(str(exc))}</p>')
            continue
        parts.append(frame.to_html(index=False, escape=True, na_rep="–", float_format=lambda x: f"{x:.3f}", border=0))
    return "\n".join(parts)
