"""The text boundary: observations -> chat messages, model text -> actions, action schemas,
and the quoting of untrusted opponent text. The only layer with prose."""

from glee.games.base import MESSAGE_LIMIT
from glee.prompts.chat import (
    TurnKey,
    mark_shown,
    new_events,
    reask_prompt,
    starts_new_chat,
    system_prompt,
    turn_prompt,
)
from glee.prompts.parser import Parsed, parse_action
from glee.prompts.schema import ActionShape, action_schema, action_shape
from glee.prompts.text import JSON_INSTRUCTION, Cleaned, clean_untrusted, money, quote_untrusted

PROMPT_VERSION = "4"
"""Part of every game's identity (its game_id). Bump it whenever any prompt text, request shape,
schema or parsing rule in this package changes, so games played with other text are never reused."""

__all__ = [
    "JSON_INSTRUCTION",
    "MESSAGE_LIMIT",
    "PROMPT_VERSION",
    "ActionShape",
    "Cleaned",
    "Parsed",
    "TurnKey",
    "action_schema",
    "action_shape",
    "clean_untrusted",
    "mark_shown",
    "money",
    "new_events",
    "parse_action",
    "quote_untrusted",
    "reask_prompt",
    "starts_new_chat",
    "system_prompt",
    "turn_prompt",
]
