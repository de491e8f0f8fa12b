"""A game's turns as a readable table: who moved, what they did, what they said."""

from __future__ import annotations

from typing import Any

import pandas as pd

from glee.games.base import seat_names


def _value(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def turn_table(turns: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """One row per turn of a `load_turns` frame: turn, round, player, kind, move, message, valid.

    Messages are returned as stored (untrusted text): escape them wherever they are rendered.
    """
    names = seat_names(params)
    rows = []
    for turn in turns.to_dict("records"):
        action: dict[str, Any] = turn["action"] if isinstance(turn["action"], dict) else {}
        move = ", ".join(f"{k}={_value(v)}" for k, v in action.items() if k != "message" and v is not None)
        message = turn["message"] if isinstance(turn["message"], str) else action.get("message")
        seat = int(turn["seat"])
        rows.append(
            {
                "turn": int(turn["turn"]),
                "round": int(turn["round"]),
                "player": f"{names.get(seat, seat)} ({seat})",
                "kind": turn["kind"],
                "move": move,
                "message": message if isinstance(message, str) else "",
                "valid": bool(turn["valid"]),
            }
        )
    return pd.DataFrame(rows, columns=["turn", "round", "player", "kind", "move", "message", "valid"])
