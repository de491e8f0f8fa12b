"""Errors every layer may raise, with one-line messages a researcher can act on."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)

ErrorKind = Literal[
    "endpoint_down",
    "timeout",
    "transport",
    "rate_limit",
    "server_error",
    "request_rejected",
    "context_length",
    "malformed_reply",
    "rules_bug",
    "player_bug",
    "abandoned",
]
"""Why a game did not finish (`games.error_kind`), set where the failure is caught:
endpoint_down: the endpoint cannot work at all (refused key, unknown model, server did not start);
timeout: requests kept timing out; transport: connections kept failing (refused, reset);
rate_limit: HTTP 429 persisted; server_error: another HTTP status (5xx) persisted;
request_rejected: HTTP 400/422 (no retry cures it); context_length: the prompt outgrew the model;
malformed_reply: 200 replies that were no chat completion persisted;
rules_bug / player_bug: an unexpected exception in the rules or in a player (the traceback is kept);
abandoned: a person left (status abandoned)."""


class GleeError(Exception):
    """Base of glee's own errors; the CLI prints these as one line, without a traceback."""


class ConfigError(GleeError, ValueError):
    """A parameter, config key or override is wrong: names the field, the value and what is allowed."""


class StoreError(GleeError):
    """The database could not be written (a full disk, a lost file system): names the file and the cause.

    Each batch is one transaction, so the file keeps every batch written before; the same command resumes.
    """


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

    kind: ErrorKind = "abandoned"


class InfrastructureError(GleeError):
    """A model endpoint kept failing (429, 5xx, timeouts, a dead server) after its retries.

    The game is recorded as failed, left out of metrics, and played again on resume.
    `kind` says what kept failing (glee.errors.ErrorKind), set where the error is raised, so
    that nothing downstream reads it out of the message. `attempts` holds the player's attempts
    of the failing turn, the failed call last, so that the store keeps every model call (the
    player fills it in as the error passes).
    """

    kind: ErrorKind = "transport"
    attempts: list[Any]
    prompt_tokens: int | None
    """The prompt's length in tokens when the server said it (a context overflow), else None."""

    def __init__(self, *args: object, kind: ErrorKind | None = None, prompt_tokens: int | None = None) -> None:
        super().__init__(*args)
        if kind is not None:
            self.kind = kind
        self.attempts = []
        self.prompt_tokens = prompt_tokens


class EndpointDown(InfrastructureError):
    """An endpoint that cannot work at all (401, unknown model, server did not start).

    Every game on it stops with this one message instead of failing one by one.
    """

    kind: ErrorKind = "endpoint_down"


def validated(model: type[Model], data: Any, prefix: str = "") -> Model:
    """`model` validated from `data`, or one ConfigError naming each bad field and the keys allowed."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise explain(exc, prefix=prefix, allowed_keys=sorted(model.model_fields)) from None
