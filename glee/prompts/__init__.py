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
from glee.prompts.registry import (
    DEFAULT_SET,
    GLEE_PROMPTS,
    Prompts,
    choose_prompts,
    prompt_identity,
    prompt_set,
    prompt_set_versions,
    prompt_sets,
)
from glee.prompts.schema import ActionShape, action_schema, action_shape
from glee.prompts.text import JSON_INSTRUCTION, Cleaned, clean_untrusted, money, quote_untrusted


def prompt_version(family: str) -> int:
    """The prompt version of `family` in glee's own set: its renderer's (the VERSION of the module that registers it).

    Part of the family's game ids. Shared code here (chat, re-asks, schema, parsing, quoting)
    has no version of its own: a change to it bumps the VERSION of every family whose text it changes.
    """
    from glee.prompts.registry import renderer  # the registry imports the family modules, which import this package

    return renderer(family).version


__all__ = [
    "DEFAULT_SET",
    "GLEE_PROMPTS",
    "JSON_INSTRUCTION",
    "MESSAGE_LIMIT",
    "ActionShape",
    "Cleaned",
    "Parsed",
    "Prompts",
    "TurnKey",
    "action_schema",
    "action_shape",
    "choose_prompts",
    "clean_untrusted",
    "mark_shown",
    "money",
    "new_events",
    "parse_action",
    "prompt_identity",
    "prompt_set",
    "prompt_set_versions",
    "prompt_sets",
    "prompt_version",
    "quote_untrusted",
    "reask_prompt",
    "starts_new_chat",
    "system_prompt",
    "turn_prompt",
]
