"""Errors every layer may raise, with one-line messages a researcher can act on."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class GleeError(Exception):
    """Base of glee's own errors; the CLI prints these as one line, without a traceback."""


class ConfigError(GleeError, ValueError):
    """A parameter, config key or override is wrong: names the field, the value and what is allowed."""


class IllegalAction(GleeError, ValueError):
    """An action the rules do not allow in the current state (a player fault, not a bug)."""


def _allowed(error: Any) -> str:
    """What the failing constraint allows, in words."""
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "extra_forbidden":
        return "not a known key"
    if kind == "literal_error":
        return f"one of {ctx.get('expected')}"
    bounds = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return f"a number {bounds[kind]} {limit}"
    return str(error["msg"])


def explain(exc: ValidationError, prefix: str = "", allowed_keys: list[str] | None = None) -> ConfigError:
    """Turn a pydantic ValidationError into one ConfigError line per failing field."""
    lines = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "(root)"
        name = f"{prefix}{field}"
        value = error.get("input")
        if error["type"] == "extra_forbidden":
            keys = f"; allowed keys: {', '.join(allowed_keys)}" if allowed_keys else ""
            lines.append(f"{name}: unknown key (value {value!r}){keys}")
        elif error["type"] == "value_error":
            lines.append(f"{name}: {error['msg'].removeprefix('Value error, ')} (got {value!r})")
        else:
            lines.append(f"{name}: got {value!r}; allowed: {_allowed(error)}")
    return ConfigError("; ".join(lines))


class GameAbandoned(GleeError):
    """A person stopped playing (closed the tab, went silent past the inactivity timeout, quit).

    The game is recorded with status `abandoned`: neither a player fault nor an infrastructure one.
    """


class InfrastructureError(GleeError):
    """A model endpoint kept failing (429, 5xx, timeouts, a dead server) after its retries.

    The game is recorded as failed, left out of metrics, and played again on resume.
    `attempts` holds the player's attempts of the failing turn, the failed call last, so
    that the store keeps every model call (the player fills it in as the error passes).
    """

    attempts: list[Any]

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.attempts = []


class EndpointDown(InfrastructureError):
    """An endpoint that cannot work at all (401, unknown model, server did not start).

    Every game on it stops with this one message instead of failing one by one.
    """


def validated(model: type[Model], data: Any, prefix: str = "") -> Model:
    """`model` validated from `data`, or one ConfigError naming each bad field and the keys allowed."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise explain(exc, prefix=prefix, allowed_keys=sorted(model.model_fields)) from None
