"""Plain-text summaries for the terminal: a table per family and agent, one game's transcript."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from glee.analysis.frames import load_games, seat_frame
from glee.analysis.metrics import metric_table
from glee.engine.record import GameRecord
from glee.games.base import seat_names

COLUMNS = {
    "games": "games",
    "forfeit": "forfeits",
    "failed": "failed",
    "agreement": "agreement",
    "self_gain": "self-gain",
    "efficiency": "efficiency",
    "fairness": "fairness",
}
"""metric_table column -> printed header."""


def agent_table(db_path: Path, game_ids: Sequence[str] | None = None) -> str:
    """Per family, one row per agent (both seats pooled): games, forfeits, failures and the
    mean agreement rate, self-gain, efficiency and fairness over its completed games."""
    filters = {"game_id": list(game_ids)} if game_ids is not None else None
    games = load_games(db_path, filters=filters) if game_ids is None or game_ids else pd.DataFrame()
    if games.empty:
        return "no games in the database yet"
    # Means without intervals: this is a glance at a run, the notebooks have the intervals.
    seats = seat_frame(games)
    table = metric_table(seats, by=("family", "agent"), resamples=1)
    # An agent playing itself fills both seats of a game: count games, not seats.
    distinct = seats.groupby(["family", "agent"])["game_id"].nunique().rename("distinct_games").reset_index()
    table = (
        table.merge(distinct, on=["family", "agent"]).drop(columns="games").rename(columns={"distinct_games": "games"})
    )
    blocks = []
    for family, part in table.groupby("family", sort=True):
        shown = part.set_index("agent")[[c for c in COLUMNS if c in part]].rename(columns=COLUMNS)
        shown.index.name = None
        blocks.append(f"{family}\n{shown.to_string(float_format=lambda x: f'{x:.3f}', na_rep='-')}")
    return "\n\n".join(blocks)


def example_query(db_path: Path) -> str:
    """One query to run next, spelled for Python's duckdb (the duckdb CLI takes the same SQL)."""
    sql = (
        "SELECT family, player_1, player_2, count(*) AS games, avg(efficiency) AS efficiency, "
        "avg(fairness) AS fairness FROM games JOIN outcomes USING (game_id) GROUP BY ALL ORDER BY ALL"
    )
    return (
        "next, query the games in SQL, e.g.:\n"
        f"  python -c \"import duckdb; duckdb.connect('{db_path}', read_only=True).sql('{sql}').show()\""
    )


def _value(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    return str(value)


def transcript(record: GameRecord) -> str:
    """One game as text: family and parameters, the two players, each turn (with rejected
    model replies), the outcome and its metrics."""
    params = record.params
    names = seat_names(params)
    lines = [
        f"game {record.game_id}  {record.family}  status {record.status}  end {record.end_reason}"
        f"  rounds {record.rounds}  seed {record.seed}  replicate {record.replicate}",
        "parameters: " + ", ".join(f"{k}={_value(v)}" for k, v in params.items()),
        f"player 1 ({names[1]}): {record.player_1}",
        f"player 2 ({names[2]}): {record.player_2}",
        "",
    ]
    rejected: dict[int | None, list[str]] = {}
    for call in record.calls:
        # A rejection is the player's reply refused; an error is the call itself failing (no reply).
        if call.rejection:
            rejected.setdefault(call.turn, []).append(f"rejected attempt {call.attempt}: {call.rejection}")
        elif call.error:
            rejected.setdefault(call.turn, []).append(f"failed call, attempt {call.attempt}: {call.error}")
    for turn in record.turns:
        action = turn.action or {}
        moves = ", ".join(f"{k}={_value(v)}" for k, v in action.items() if k != "message" and v is not None)
        line = f"round {turn.round:>3}  {names[turn.seat]:<8} {turn.kind:<15} {moves}"
        lines.append(line + ("  (invalid: forfeit)" if not turn.valid else ""))
        lines += [f"{'':>16}{why}" for why in rejected.get(turn.turn, [])]
        if turn.message:
            lines.append(f"{'':>16}message: {turn.message!r}")
    lines.append("")
    if record.error:
        lines.append(f"error: {record.error.strip().splitlines()[-1]}")
    if record.outcome is not None:
        outcome = record.outcome.model_dump(exclude={"extras", "rounds", "end_reason"})
        outcome.update(record.outcome.extras)
        lines.append("outcome: " + ", ".join(f"{k}={_value(v)}" for k, v in outcome.items() if v is not None))
    return "\n".join(lines)
