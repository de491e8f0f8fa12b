"""The GLEE competition's game dicts and moves (the PyPI package `glee-sdk`), one codec per family.

A competition agent is a function `strategy(game: dict) -> dict`. The game dict carries
`game_id`, `game_family`, `your_player`, `phase`, `opponent`, `game_state` (the seat's own view,
in the field names the SDK's README documents per family), `valid_actions` (`type` and `fields`)
and `prompt`; the move is a dict in the SDK's action shapes. A family's codec, registered next to
its code (glee/players/sdk/<family>.py), turns its observation into `phase`, `game_state` and
`valid_actions`, and a move into glee actions. Both the in-process `sdk` player and
`glee serve-agents` go through the same codec, so the two paths play alike.

A move may stand for more than one glee action of the same seat: the competition's negotiation
rejection carries the counteroffer, which in glee's rules is the rejecter's next proposal.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from glee.errors import explain
from glee.games import Action, FamilyError, Observation, Turn, registry
from glee.games.base import MESSAGE_LIMIT
from glee.prompts import new_events, system_prompt, turn_prompt

Move = Mapping[str, Any]
"""What a strategy returns: a dict in the SDK's action shapes."""


class InvalidMove(ValueError):
    """A move the codec or the rules refused: the message says what is wrong and what is allowed."""


@dataclass(frozen=True)
class SdkView:
    """What a codec says of one seat at one turn."""

    phase: str
    game_state: dict[str, Any]
    valid_actions: dict[str, Any]
    """`{"type": ..., "fields": {key: what it takes}}`."""


@dataclass(frozen=True)
class SdkCodec:
    """One family's mapping to and from the competition's shapes.

    `view(observation, action_model)` is the seat's phase, game_state and valid_actions;
    `decode(observation, action_model, move)` is the glee actions the move stands for, the first of
    `action_model`, the others the same seat's next turns (raises InvalidMove).
    """

    family: str
    view: Callable[[Any, type[Action]], SdkView]
    decode: Callable[[Any, type[Action], Move], list[Action]]


_CODECS: dict[str, SdkCodec] = {}
_loaded = False


def register_codec(codec: SdkCodec) -> SdkCodec:
    """Add a family's codec (its module calls this once, at import)."""
    _CODECS[codec.family] = codec
    return codec


def codec(family: str) -> SdkCodec:
    """The codec of `family`, or a FamilyError naming the family and the missing piece."""
    global _loaded
    if not _loaded:
        _loaded = True
        for name in registry.BUILTIN:
            importlib.import_module(f"glee.players.sdk.{name}")
        registry.load()
    found = _CODECS.get(family)
    if found is None:
        raise FamilyError(
            f"family {family!r}: piece 'sdk codec' is missing (register one with glee.players.sdk.register_codec); "
            f"competition agents play {sorted(_CODECS)}"
        )
    return found


def player_key(seat: int) -> str:
    """How the SDK names a seat: `player_1`, `player_2`."""
    return f"player_{seat}"


def history(events: tuple[Turn, ...]) -> list[dict[str, Any]]:
    """The turns the seat has seen, oldest first, in glee's own action fields (the SDK documents no
    shape for its `history`)."""
    return [
        {"round": t.round, "player": "nature" if t.seat == 0 else player_key(t.seat), "type": t.kind, **t.action}
        for t in events
    ]


def prompt(observation: Observation, action_model: type[Action], system: str | None = None) -> str:
    """glee's prompt for this seat now: its rules (`system`, the seat's system prompt, when the caller
    already has it: it never changes during a game), then everything it has seen, then the request."""
    rendered = turn_prompt(observation, new_events(observation, set()), action_model)
    return f"{system if system is not None else system_prompt(observation)}\n\n{rendered.text}"


def game_dict(
    observation: Observation,
    action_model: type[Action],
    game_id: str,
    opponent: Mapping[str, Any],
    *,
    with_prompt: bool = True,
    system: str | None = None,
) -> dict[str, Any]:
    """The game dict a competition strategy is given for this seat and turn (`system`: see `prompt`)."""
    view = codec(observation.family).view(observation, action_model)
    return {
        "game_id": game_id,
        "game_family": observation.family,
        "your_player": player_key(observation.seat),
        "phase": view.phase,
        "opponent": dict(opponent),
        "game_state": view.game_state,
        "valid_actions": view.valid_actions,
        "prompt": prompt(observation, action_model, system) if with_prompt else "",
    }


def decode(observation: Observation, action_model: type[Action], move: Any) -> list[Action]:
    """The glee actions `move` stands for (raises InvalidMove with a one-line reason)."""
    if not isinstance(move, Mapping):
        raise InvalidMove(f"move: got {type(move).__name__} {_short(move)}; allowed: a dict (JSON object)")
    return codec(observation.family).decode(observation, action_model, move)


def validate(model: type[Action], data: dict[str, Any]) -> Action:
    """`data` as an action of `model`, or InvalidMove naming the field (in glee's names)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidMove(str(explain(exc, prefix=f"{model.kind}."))) from None


def number(move: Move, key: str) -> float:
    """A required finite number of a move."""
    value = move.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidMove(f"{key}: got {_short(value)}; allowed: a finite number")
    return float(value)


def choice(move: Move, key: str, allowed: tuple[str, ...]) -> str:
    """A required token of a move, one of `allowed`."""
    value = move.get(key)
    if value not in allowed:
        raise InvalidMove(f"{key}: got {_short(value)}; allowed: one of {list(allowed)}")
    return str(value)


def message(move: Move, allowed: bool) -> dict[str, Any]:
    """The glee message field of a move: "" when allowed and absent; dropped when the game has no messages
    (the SDK's message is optional everywhere); longer than MESSAGE_LIMIT is invalid, as in the SDK."""
    value = move.get("message")
    if value is not None and not isinstance(value, str):
        raise InvalidMove(f"message: got {_short(value)}; allowed: a string")
    if value is not None and len(value) > MESSAGE_LIMIT:
        raise InvalidMove(f"message: got {len(value)} characters; allowed: at most {MESSAGE_LIMIT}")
    return {"message": value or ""} if allowed else {}


def message_field(allowed: bool) -> dict[str, str]:
    return {"message": f"string (optional, at most {MESSAGE_LIMIT} characters)"} if allowed else {}


def quoted(tokens: tuple[str, ...]) -> str:
    """`'a', 'b', or 'c'`: how the SDK's `fields` list allowed tokens."""
    words = [f"'{t}'" for t in tokens]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + (", or " if len(words) > 2 else " or ") + words[-1]


def _short(value: Any) -> str:
    text = json.dumps(value, default=repr) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


__all__ = [
    "InvalidMove",
    "Move",
    "SdkCodec",
    "SdkView",
    "choice",
    "codec",
    "decode",
    "game_dict",
    "history",
    "message",
    "message_field",
    "number",
    "player_key",
    "prompt",
    "quoted",
    "register_codec",
    "validate",
]
