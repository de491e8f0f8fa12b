"""The JSON schema of an action, shaped for structured decoding, and its shape in words.

Both come from the pydantic action model of glee/games (already bounded per game), so the
schema a decoder follows, the shape a prompt shows and the validation of the reply agree.
Only the fields the model requires are asked for: optional fields are what the rules
tolerate (e.g. a message when messages are off), not what a prompt requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from glee.games import Action
from glee.prompts.registry import field_words


@dataclass(frozen=True, slots=True)
class ActionShape:
    """What one action model asks for: its schema, its keys by kind, and an example line."""

    schema: dict[str, Any]
    keys: tuple[str, ...]
    amounts: frozenset[str]
    """Money fields (every number in an action is an amount of money)."""
    choices: dict[str, tuple[str, ...]]
    """Enum fields and their allowed words."""
    example: str
    """The JSON shape in words, e.g. {"decision": "accept" or "reject"}."""


_DROPPED = frozenset({"title", "default", "maxLength", "description"})
"""Titles and defaults are noise to a decoder. maxLength is left to validation: llama.cpp turns
maxLength 2000 into a grammar it refuses to build, and max_tokens bounds a reply anyway."""


def _amount(prop: dict[str, Any]) -> dict[str, Any]:
    """Money as a bounded integer: small models write valid whole numbers far more often than floats."""
    out: dict[str, Any] = {"type": "integer"}
    if "minimum" in prop:
        out["minimum"] = math.ceil(prop["minimum"])
    if "maximum" in prop:
        out["maximum"] = math.floor(prop["maximum"])
    return out


def _example(key: str, prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return f'"{key}": ' + " or ".join(f'"{word}"' for word in prop["enum"])
    if prop.get("type") == "integer":
        low, high = prop.get("minimum"), prop.get("maximum")
        bounds = f" from {low} to {high}" if high is not None else f" of at least {low}" if low is not None else ""
        return f'"{key}": <a whole number{bounds}>'
    return f'"{key}": "<{prop.get("description", "text")}>"'


@cache
def action_shape(action_model: type[Action]) -> ActionShape:
    """The shape of `action_model`, computed once per model class (it is asked for every turn)."""
    full = action_model.model_json_schema()
    required = list(full.get("required", []))
    props: dict[str, Any] = {}
    amounts: set[str] = set()
    choices: dict[str, tuple[str, ...]] = {}
    for key in required:
        prop = {k: v for k, v in full["properties"][key].items() if k not in _DROPPED}
        if prop.get("type") == "number":
            prop = _amount(prop)
            amounts.add(key)
        if "enum" in prop:
            choices[key] = tuple(prop["enum"])
        words = field_words(action_model.kind, key)
        props[key] = {"description": words, **prop} if words else prop
    schema = {"type": "object", "properties": props, "required": required, "additionalProperties": False}
    example = "{" + ", ".join(_example(key, props[key]) for key in required) + "}"
    return ActionShape(schema, tuple(required), frozenset(amounts), choices, example)


def action_schema(action_model: type[Action]) -> dict[str, Any]:
    """The JSON schema for structured decoding of `action_model`: required fields only, money as
    bounded integers, no extra keys, no titles. Cached and shared between calls: do not mutate it."""
    return action_shape(action_model).schema
