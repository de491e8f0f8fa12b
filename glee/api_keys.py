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
_PROVIDER_KEYS = re.compile(
    r"(?:^|[^A-Za-z0-9])(?:sk-(?:ant|proj|or)-[A-Za-z0-9_\-]{16,}|xai-[A-Za-z0-9]{20,}|gsk_[A-Za-z0-9]{20,}"
    r"|pplx-[A-Za-z0-9]{20,}|r8_[A-Za-z0-9]{20,}|nvapi-[A-Za-z0-9_\-]{20,}|glpat-[A-Za-z0-9_\-]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}|ya29\.[A-Za-z0-9_\-]{20,}|ASIA[0-9A-Z]{16})"
)
"""More providers' key shapes: Anthropic, OpenAI project, OpenRouter, xAI, Groq, Perplexity,
Replicate, NVIDIA, GitLab, GitHub fine-grained, Google OAuth, AWS session keys."""
_HEX_KEY = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}(?![0-9A-Fa-f])")
"""32 hex digits or more (the shape of an Azure OpenAI key), when letters and digits both occur."""
_BASE64_KEY = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{32,}={0,2}(?![A-Za-z0-9+/=])")
"""32 base64 characters or more; those with a `+` or `=` padding only (an alphanumeric run is
_LONG_RUN's, and a path of letters and slashes is no key)."""
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")
_URL_CREDENTIALS = re.compile(
    r"(?<![A-Za-z0-9+.\-])(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]{0,31}://)(?P<user>[^/@\s:]{0,256}):(?P<password>[^/@\s]{1,256})@"
)
"""`scheme://user:password@` in a URL. The scheme starts at a boundary and every part is bounded, so a
long run of letters (a hostile reply of a million "A"s) costs linear time, not quadratic."""
_LONG_RUN = re.compile(r"[A-Za-z0-9]{24,}")
_SECRET_ADVICE = (
    "glee never takes API keys from configs or overrides (Hydra saves both to disk): export the key in an "
    "environment variable and name that variable with the endpoint's api_key_env (e.g. "
    "player_1.endpoint.api_key_env=OPENAI_API_KEY)"
)


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _key_like_runs(value: str) -> list[str]:
    """The substrings of `value` shaped like a key: provider prefixes, a JWT, 32+ hex digits (letters
    and digits both), 32+ base64 characters (upper, lower and digits), a URL's password."""
    found = [m.group(0) for pattern in (_KEY_PATTERNS, _PROVIDER_KEYS, _JWT) for m in pattern.finditer(value)]
    for m in _HEX_KEY.finditer(value):
        run = m.group(0)
        if any(c.isdigit() for c in run) and any(c.isalpha() for c in run):
            found.append(run)
    for m in _BASE64_KEY.finditer(value):
        run = m.group(0)
        mixed = any(c.isupper() for c in run) and any(c.islower() for c in run) and any(c.isdigit() for c in run)
        if mixed and ("+" in run or run.endswith("=")) and _entropy(run) >= 4.0:
            found.append(run)
    found += [m.group("password") for m in _URL_CREDENTIALS.finditer(value)]
    return found


def redact(text: str, *known: str) -> str:
    """`text` with key-like substrings, URL passwords and the `known` secrets replaced by "***"."""
    for secret in known:
        if secret:
            text = text.replace(secret, "***")
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:***@", text)
    for run in sorted(set(_key_like_runs(text)), key=len, reverse=True):
        text = text.replace(run.lstrip("^ ,;:\"'=([{"), "***")
    return text


def looks_like_key(value: str) -> bool:
    """A known API-key shape, or a long random-looking token (mixed case and digits, high entropy)."""
    if _key_like_runs(value):
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


_ENV_ADVICE = (
    "an environment variable's value would end up in stored configs, agent labels and pages; allowed only "
    "in fields that name a variable (ending in _env, e.g. api_key_env)"
)


def _names_a_variable(key: str) -> bool:
    return key.rsplit(".", 1)[-1].endswith("_env")


def refuse_secrets_in_overrides(overrides: list[str]) -> None:
    """Raise ConfigError (without echoing the value) for an override that carries a key-like value,
    or an `${oc.env:...}` interpolation outside a field that names a variable."""
    for override in overrides:
        key, sep, value = override.partition("=")
        key = key.lstrip("+~")
        if sep and "oc.env" in value and not _names_a_variable(key):
            raise ConfigError(f"{key}: refusing an ${{oc.env:...}} interpolation; {_ENV_ADVICE}")
        if sep and value.strip() not in ("", "null") and (secret_named(key) or looks_like_key(value)):
            raise ConfigError(f"{key}: refusing a key-like value in an override; {_SECRET_ADVICE}")


def refuse_env_interpolation(data: Any, path: str = "") -> None:
    """Raise ConfigError for an `${oc.env:...}` in an unresolved config outside a field naming a variable."""
    if isinstance(data, dict):
        for key, value in data.items():
            refuse_env_interpolation(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            refuse_env_interpolation(value, f"{path}.{i}")
    elif isinstance(data, str) and "oc.env" in data and not _names_a_variable(path):
        raise ConfigError(f"{path}: refusing an ${{oc.env:...}} interpolation; {_ENV_ADVICE}")


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
    if isinstance(value, str):
        return redact(value)
    return value
