"""Recognizing API keys, so that none reaches a config, an override, the database or a log.

Keys come from the environment only: a player's endpoint names the variable (`api_key_env`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from glee.errors import ConfigError

_SECRET_WORDS = {
    "key",
    "apikey",
    "token",
    "secret",
    "password",
    "passwd",
    "credential",
    "credentials",
    "bearer",
    "auth",
    "authorization",
}
_KEY_PATTERNS = re.compile(
    r"(?:^|[^A-Za-z0-9])(?:sk-[A-Za-z0-9_\-]{16,}|sk_(?:live|test)_[A-Za-z0-9]{16,}|hf_[A-Za-z0-9]{20,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{30,}|AKIA[0-9A-Z]{16})"
)
_LONG_RUN = re.compile(r"[A-Za-z0-9]{24,}")
_SECRET_ADVICE = (
    "glee never takes API keys from configs or overrides (Hydra saves both to disk): export the key in an "
    "environment variable and name that variable with the endpoint's api_key_env (e.g. "
    "player_1.endpoint.api_key_env=OPENAI_API_KEY)"
)


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_like_key(value: str) -> bool:
    """A known API-key shape, or a long random-looking token (mixed case and digits, high entropy)."""
    if _KEY_PATTERNS.search(value):
        return True
    for run in _LONG_RUN.findall(value):
        mixed = any(c.isupper() for c in run) and any(c.islower() for c in run) and any(c.isdigit() for c in run)
        if mixed and _entropy(run) >= 4.0:
            return True
    return False


def secret_named(key: str) -> bool:
    """A field whose name says it holds a secret (`api_key`, `token`, ...), but not `api_key_env`."""
    words = [w for w in re.split(r"[^a-z0-9]+", key.lower().rsplit(".", 1)[-1]) if w]
    return bool(words) and words[-1] != "env" and any(w in _SECRET_WORDS for w in words)


def refuse_secrets_in_overrides(overrides: list[str]) -> None:
    """Raise ConfigError (without echoing the value) for an override that carries a key-like value."""
    for override in overrides:
        key, sep, value = override.partition("=")
        key = key.lstrip("+~")
        if sep and value.strip() not in ("", "null") and (secret_named(key) or looks_like_key(value)):
            raise ConfigError(f"{key}: refusing a key-like value in an override; {_SECRET_ADVICE}")


def refuse_secrets_in_config(data: Any, path: str = "") -> None:
    """Raise ConfigError for a key-like value anywhere in a composed config (e.g. in a user's yaml)."""
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and value != "" and secret_named(str(key)):
                raise ConfigError(f"{where}: refusing a literal secret in a config; {_SECRET_ADVICE}")
            refuse_secrets_in_config(value, where)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            refuse_secrets_in_config(value, f"{path}.{i}")
    elif isinstance(data, str) and looks_like_key(data):
        raise ConfigError(f"{path}: refusing a key-like value in a config; {_SECRET_ADVICE}")


# Keys whose values are secrets wherever they appear in a config (`api_key_env` names a variable: kept).
_SECRET_KEY = re.compile(
    r"(^|_)(api_?key|secret|password|passwd|access_token|auth_token|authorization|bearer)$", re.IGNORECASE
)
_SECRET_VALUE = re.compile(r"^(sk-|sk_|hf_|ghp_|gho_|xox[bp]-|AIza)[A-Za-z0-9_\-]{8,}")


def scrub(value: Any) -> Any:
    """A copy of a config with key-like values replaced by "***" (keys never belong in configs)."""
    if isinstance(value, dict):
        return {k: "***" if _SECRET_KEY.search(str(k)) and v is not None else scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, str) and _SECRET_VALUE.match(value):
        return "***"
    return value
