"""Plain-text summaries for the terminal: a table per family and agent, one game's transcript."""

from __future__ import annotations

import shlex
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
    "forfeit_games": "forfeit games",
    "own_forfeits": "own forfeits",
    "failed": "failed",
    "agreement": "agreement",
    "self_gain": "self-gain",
    "self_gain_itt": "self-gain (ITT)",
    "efficiency": "efficiency",
    "fairness": "fairness",
}
"""metric_table column -> printed header."""


def agent_table(db_path: Path, game_ids: Sequence[str] | None = None) -> str:
    """Per family, one row per agent and role (seller and buyer, ...: a seller's gain is never averaged with
    a buyer's): games, the games that ended in a forfeit (by either seat), the agent's own forfeits,
    failures, and the mean agreement rate, self-gain, efficiency and fairness over its completed games,
    and the self-gain by intention to treat (forfeits scored as their stored outcome)."""
    filters = {"game_id": list(game_ids)} if game_ids is not None else None
    games = load_games(db_path, filters=filters) if game_ids is None or game_ids else pd.DataFrame()
    if games.empty:
        return "no games in the database yet"
    # Means without intervals: this is a glance at a run, the notebooks have the intervals.
    seats = seat_frame(games)
    table = metric_table(seats, by=("family", "agent", "seat", "role"), resamples=1)
    blocks = []
    for family, part in table.groupby("family", sort=True):
        shown = part.set_index(["agent", "role"])[[c for c in COLUMNS if c in part]].rename(columns=COLUMNS)
        shown.index.names = [None, None]
        blocks.append(f"{family}\n{shown.to_string(float_format=lambda x: f'{x:.3f}', na_rep='-')}")
    return "\n\n".join(blocks)


EXAMPLE_SQL = (
    "SELECT family, player_1, player_2, count(*) AS games, avg(efficiency) AS efficiency, "
    "avg(fairness) AS fairness FROM games JOIN outcomes USING (game_id) GROUP BY ALL ORDER BY ALL"
)


def example_query(db_path: Path) -> str:
    """One query to run next, as a `glee sql` command (the duckdb CLI takes the same SQL)."""
    return f'next, query the games in SQL, e.g.:\n  glee sql {shlex.quote(str(db_path))} "{EXAMPLE_SQL}"'


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
        f"  rounds {record.rounds_played}  seed {record.seed}  replicate {record.replicate}",
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


def call_table(record: GameRecord) -> str:
    """One line per model call of a game, in order: turn, seat and agent, attempt, tokens, latency,
    finish reason, and why the reply was rejected (or the error of a call that failed)."""
    if not record.calls:
        return "no model calls in this game"
    agents = {1: record.player_1, 2: record.player_2}

    def cell(value: Any) -> str:
        return "-" if value is None else f"{value:.0f}" if isinstance(value, float) else str(value)

    rows = [
        {
            "turn": c.turn,
            "seat": c.seat,
            "agent": agents.get(c.seat, "-") if c.seat is not None else "-",
            "attempt": c.attempt,
            "prompt tokens": c.prompt_tokens,
            "completion tokens": c.completion_tokens,
            "cached tokens": c.cached_tokens,
            "latency ms": c.latency_ms,
            "finish": c.finish_reason,
            "rejection": " ".join((c.rejection or (f"error: {c.error}" if c.error else "-")).split()),
        }
        for c in record.calls
    ]
    table = pd.DataFrame([{k: cell(v) for k, v in row.items()} for row in rows])
    text = table.to_string(index=False, justify="left")
    return f"model calls ({len(rows)}):\n{text}"
