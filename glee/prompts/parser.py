"""Model text -> one action: a total function that never raises.

It finds JSON objects anywhere in the reply (prose, ```json fences, nested braces inside
strings), repairs the money spellings models write ($1,200 or 1,200.50, quoted or bare),
normalizes enum words and key spelling ("Accept", " Decision "), and validates with the
action's pydantic model. Zero valid objects, or several different ones, is an error in
words a model can act on ("own_gain must be <= 10000, got 12000").

Objects are found by json.JSONDecoder.raw_decode from each '{' that can open an object,
skipping past every decoded object: no backtracking regex ever runs over the reply.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from glee.games import Action
from glee.prompts.schema import ActionShape, action_shape

_DECODER = json.JSONDecoder()
_OPENER = re.compile(r"\{\s*[\"}]")
"""Where an object can start: '{' then a key or '}' (skips '{{{{' and '{x' cheaply)."""
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
"""A complete JSON string: each character matches exactly one branch, so matching is linear."""
_BARE_MONEY = re.compile(r"-?\$?\s*\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\$\s*\d+(?:\.\d+)?")
"""$1,200 / $1200.5 / 1,200 / 1,200.50 outside strings: not JSON numbers, so quoted for a second try."""
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_MAX_CANDIDATES = 64
"""Objects examined per reply at most; a real reply holds one or two."""
_ERROR_VALUE_CHARS = 40


@dataclass(frozen=True, slots=True)
class Parsed:
    """The result of reading a reply: the action (None when invalid), the dict it came from, why not."""

    action: Action | None
    data: dict[str, Any] | None
    error: str | None


def _objects(text: str) -> tuple[list[dict[str, Any]], str | None]:
    """Top-level JSON objects in `text`, in order (an object's inner braces are never rescanned),
    and why the first object that failed to decode did (a cut-off or malformed reply)."""
    found: list[dict[str, Any]] = []
    failure: str | None = None
    pos = 0
    attempts = 0
    while len(found) < _MAX_CANDIDATES and attempts < 4 * _MAX_CANDIDATES:
        match = _OPENER.search(text, pos)
        if match is None:
            break
        start = match.start()
        attempts += 1
        try:
            value, end = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            if failure is None:
                cut_off = exc.pos >= len(text) or exc.msg.startswith("Unterminated")
                failure = (
                    "the reply ends before the object is closed"
                    if cut_off
                    else f"{exc.msg}, character {exc.pos - start}"
                )
            pos = start + 1
            continue
        except (ValueError, RecursionError):
            failure = failure or "the object is nested too deeply"
            pos = start + 1
            continue
        if isinstance(value, dict):
            found.append(value)
        pos = end
    return found, failure


def _quote_bare_money(text: str) -> str:
    """Quote $1,200-style numbers that sit outside JSON strings, leaving strings untouched."""
    out: list[str] = []
    last = 0
    for match in _STRING.finditer(text):
        out.append(_BARE_MONEY.sub(lambda m: f'"{m.group()}"', text[last : match.start()]))
        out.append(match.group())
        last = match.end()
    out.append(_BARE_MONEY.sub(lambda m: f'"{m.group()}"', text[last:]))
    return "".join(out)


def _amount(value: Any) -> Any:
    """'$1,200.50' -> 1200.5, '1200' -> 1200; anything else unchanged (validation names it)."""
    if not isinstance(value, str):
        return value
    cleaned = value.strip().replace("$", "").replace(",", "").replace(" ", "").removesuffix("USD")
    if not _NUMBER.fullmatch(cleaned):
        return value
    number = float(cleaned)
    return int(number) if number.is_integer() else number


def _key(key: str) -> str:
    """ "Outside Option." -> "outside_option": case, spacing and trailing punctuation do not matter."""
    return key.strip().strip(".!\"'").strip().lower().replace(" ", "_").replace("-", "_")


def _normalize(raw: dict[str, Any], shape: ActionShape) -> tuple[dict[str, Any], list[str]]:
    """Keys and values in the model's spelling, and the keys it does not know."""
    data: dict[str, Any] = {}
    unknown: list[str] = []
    for raw_key, value in raw.items():
        key = raw_key if raw_key in shape.keys else _key(str(raw_key))
        if key not in shape.keys:
            unknown.append(str(raw_key))
            continue
        if key in shape.amounts:
            value = _amount(value)
        elif key in shape.choices and isinstance(value, str):
            word = _key(value)
            value = word if word in shape.choices[key] else value
        data[key] = value
    return data, unknown


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= _ERROR_VALUE_CHARS else text[: _ERROR_VALUE_CHARS - 3] + "..."


def _explain(exc: ValidationError, shape: ActionShape) -> str:
    """One short clause per failing field, in the words of the request."""
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "reply"
        kind, ctx, got = err["type"], err.get("ctx") or {}, err.get("input")
        if kind == "missing":
            parts.append(f'missing key "{field}"')
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            op = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">", "less_than": "<"}[kind]
            limit = next(iter(ctx.values()))
            limit_text = str(int(limit)) if isinstance(limit, float) and limit.is_integer() else str(limit)
            parts.append(f"{field} must be {op} {limit_text}, got {_short(got)}")
        elif kind == "literal_error":
            words = " or ".join(f'"{w}"' for w in shape.choices.get(field, ()))
            parts.append(f"{field} must be {words}, got {_short(got)}")
        elif field in shape.amounts:
            parts.append(f"{field} must be a whole number, got {_short(got)}")
        elif kind == "string_too_long":
            parts.append(f"{field} must be at most {ctx.get('max_length')} characters, got {len(str(got))}")
        elif kind == "string_type":
            parts.append(f"{field} must be a string, got {_short(got)}")
        else:
            parts.append(f"{field}: {err['msg']}")
    return "; ".join(parts)


def _check(raw: dict[str, Any], action_model: type[Action], shape: ActionShape) -> Parsed:
    data, unknown = _normalize(raw, shape)
    problems = [f'unknown key "{key}"' for key in unknown[:3]]
    try:
        action = action_model.model_validate(data)
    except ValidationError as exc:
        problems.append(_explain(exc, shape))
        action = None
    if problems:
        return Parsed(None, data, "; ".join(problems))
    return Parsed(action, data, None)


def _unwrapped(raw: dict[str, Any], shape: ActionShape) -> dict[str, Any] | None:
    """{"action": {...}}: the inner object, when the outer one has none of the action's keys."""
    if len(raw) == 1 and not any(_key(str(k)) in shape.keys for k in raw):
        inner = next(iter(raw.values()))
        if isinstance(inner, dict):
            return inner
    return None


def parse_action(text: str | None, action_model: type[Action]) -> Parsed:
    """Read exactly one action of `action_model` from a model's reply; never raises."""
    try:
        return _parse(text, action_model)
    except Exception as exc:  # A total function: a bug here must cost an attempt, never the game.
        return Parsed(None, None, f"the reply could not be read ({type(exc).__name__})")


def _parse(text: str | None, action_model: type[Action]) -> Parsed:
    shape = action_shape(action_model)
    if not text or not text.strip():
        return Parsed(None, None, "the reply was empty")
    objects, failure = _objects(text)
    results = [_check(raw, action_model, shape) for raw in objects]
    if not any(r.action for r in results) and ("$" in text or "," in text):
        repaired, _ = _objects(_quote_bare_money(text))
        if repaired:
            objects, results = repaired, [_check(raw, action_model, shape) for raw in repaired]
    for i, raw in enumerate(objects):
        inner = _unwrapped(raw, shape)
        if inner is not None and results[i].action is None:
            results[i] = _check(inner, action_model, shape)
    if not results:
        if failure is not None:
            return Parsed(None, None, f"the JSON object is not valid or not complete ({failure})")
        return Parsed(None, None, "no JSON object found")
    valid = [r for r in results if r.action is not None]
    distinct = {json.dumps(r.data, sort_keys=True, default=str) for r in valid}
    if len(distinct) > 1:
        return Parsed(None, None, f"the reply holds {len(distinct)} different actions; give exactly one")
    if valid:
        return valid[0]
    # No valid object: report the one closest to the request (most known keys; the last on ties).
    best = max(reversed(results), key=lambda r: len(r.data or {}))
    return Parsed(None, best.data, best.error)
