"""A small real database of model calls, written through the store's own writer: a rejected
attempt and its re-ask, tokens, latencies and finish reasons whose values the tests check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from glee.engine.record import GameRecord, TurnRecord
from glee.players.base import LLMCall
from glee.store import open_store

MODEL_X = "model:x@openai"
MODEL_Y = "model:y@openai"
BARGAINING = "calls-bargaining"
NEGOTIATION = "calls-negotiation"
REJECTION = "propose.price: must be >= 0, got -5"
HOSTILE_REPLY = '{"decision": "accept"} <script>document.title = "run"</script><b>bold</b>'
"""A reply holding markup: shown as text, never run."""


def _message(role: str, content: str) -> dict[str, Any]:
    return {"role": role, "content": content}


def _call(turn: int, seat: int, attempt: int, request: list[dict[str, Any]], **fields: Any) -> LLMCall:
    values: dict[str, Any] = {
        "model": "x",
        "prompt_tokens": 100 * turn + attempt,
        "completion_tokens": 10 + attempt,
        "cached_tokens": 0 if turn == 1 and attempt == 1 else 90,
        "latency_ms": 250.0 * attempt,
        "finish_reason": "stop",
        "response": '{"price": 120}',
    }
    values.update(fields)
    return LLMCall(turn=turn, seat=seat, attempt=attempt, request=request, **values)  # type: ignore[arg-type]


def calls_database(path: Path) -> Path:
    """Two finished games: in negotiation model:x (seat 1, seller) has a rejected attempt at turn 1
    (cut by the length limit) and is re-asked; in bargaining model:y (seat 1) plays model:x (seat 2)."""
    negotiation = GameRecord(
        game_id=NEGOTIATION,
        run_id="calls",
        family="negotiation",
        params={"price_scale": 100, "max_rounds": 2},
        player_1=MODEL_X,
        player_2="baseline:spe",
        status="completed",
        end_reason="agreement",
        rounds_played=2,
        turns=[
            TurnRecord(turn=1, round=1, seat=1, kind="propose", action={"price": 120.0, "message": "a fair price"}),
            TurnRecord(turn=2, round=1, seat=2, kind="respond", action={"decision": "reject"}),
            TurnRecord(turn=3, round=2, seat=2, kind="propose", action={"price": 105.0}),
            TurnRecord(turn=4, round=2, seat=1, kind="respond", action={"decision": "accept"}),
        ],
        calls=[
            _call(
                1,
                1,
                1,
                [_message("system", "You are Alice, a seller."), _message("user", "Round 1: propose.")],
                response='{"price": -5',
                finish_reason="length",
                rejection=REJECTION,
                parsed=None,
            ),
            _call(
                1,
                1,
                2,
                [_message("assistant", '{"price": -5'), _message("user", f"Invalid: {REJECTION}")],
                parsed={"price": 120.0, "message": "a fair price"},
            ),
            _call(
                4,
                1,
                1,
                [_message("assistant", '{"price": 120}'), _message("user", "Bob offers 105.")],
                response='{"decision": "accept"}',
                parsed={"decision": "accept"},
            ),
        ],
    )
    bargaining = GameRecord(
        game_id=BARGAINING,
        run_id="calls",
        family="bargaining",
        params={"money": 100, "max_rounds": 1},
        player_1=MODEL_Y,
        player_2=MODEL_X,
        status="completed",
        end_reason="agreement",
        rounds_played=1,
        turns=[
            TurnRecord(turn=1, round=1, seat=1, kind="propose", action={"own_gain": 60.0}),
            TurnRecord(turn=2, round=1, seat=2, kind="respond", action={"decision": "accept"}),
        ],
        calls=[
            _call(
                1,
                1,
                1,
                [_message("system", "You are Alice."), _message("user", "Propose.")],
                response='{"own_gain": 60}',
                parsed={"own_gain": 60.0},
                model="y",
            ),
            _call(
                2,
                2,
                1,
                [_message("system", "You are Bob."), _message("user", "Alice keeps 60.")],
                response=HOSTILE_REPLY,
                parsed={"decision": "accept"},
            ),
        ],
    )
    with open_store(path) as store:
        store.write([negotiation, bargaining])
    return path
