"""Secrets beyond `sk-`: hex, base64, JWT and provider-prefixed keys and URL passwords are refused in
overrides and configs (before Hydra saves either); `${oc.env:...}` is refused outside fields that name
a variable; a URL password and the API key are blanked in everything stored (runs.config, games.spec,
games.error, llm_calls), also when a 200 reply echoes the Authorization header. Real DuckDB files and
the loopback fault server; the database file's bytes are searched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from glee.api_keys import looks_like_key
from glee.backends.spec import EndpointSpec
from glee.config import validate
from glee.engine.scheduler import run
from glee.engine.specs import PlayerSpec
from glee.errors import ConfigError
from tests.conftest import baseline, small_config
from tests.support.fault_server import FaultPlan, FaultServer

AZURE_SHAPED = "3f2a9c4e7b1d0e8f6a5c4b3a2918d7e6"
"""32 hex digits: the shape of an Azure OpenAI key."""
SHAPES = [
    AZURE_SHAPED,
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",  # a JWT
    "Zm9vYmFyYmF6cXV4K2tleS8xMjM0NTY3ODkwQUJDREVGR0g+ZXh0cmE=",  # base64 with + and padding
    "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv",
    "gsk_AbCdEfGhIjKlMnOpQrStUv0123",
    "http://alice:s3cr3t-pass@models.internal:8000/v1",
]
NOT_KEYS = [
    "/models/SmolLM2-135M-Instruct-Q8_0.gguf",
    "Qwen2.5-7B-Instruct",
    "http://127.0.0.1:8000/v1",
    "data/sweep-1/shard.duckdb",
    "meta-llama/Llama-3.1-8B-Instruct",
]


@pytest.mark.parametrize("value", SHAPES)
def test_key_shapes_are_recognised_and_refused_in_overrides(value: str) -> None:
    from glee.api_keys import redact

    assert looks_like_key(value) and "***" in redact(f"the value {value} here")
    secret = value.split("@")[0].rsplit(":", 1)[-1] if "@" in value else value
    assert secret not in redact(f"the value {value} here")
    key = "player_1.base_url" if value.startswith("http") else "player_1.name"
    with pytest.raises(ConfigError) as caught:
        validate(["player_1=gpt-4o-mini", f"{key}={value}"])
    assert str(caught.value).startswith(f"{key}: refusing a key-like value") and secret not in str(caught.value)


@pytest.mark.parametrize("value", NOT_KEYS)
def test_paths_model_names_and_plain_urls_are_not_keys(value: str) -> None:
    from glee.api_keys import redact

    assert not looks_like_key(value) and redact(value) == value


@pytest.mark.parametrize("key", ["player_1.name", "game.max_rounds"])
def test_oc_env_interpolation_is_refused_outside_variable_names(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{key}: refusing an \$\{{oc.env:...\}} interpolation"):
        validate([f"{key}=${{oc.env:HOME}}"])


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def test_url_passwords_and_echoed_keys_never_reach_the_database(
    tmp_path: Path, fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the Python API (the command line refuses such a URL before it gets this far)."""
    canary = "sk-canary-" + "7f3e1d2c0b9a8" * 2
    monkeypatch.setenv("GLEE_SECRET_SHAPES_KEY", canary)
    url = fault_server.base_url.replace("http://", "http://alice:pw-3xT9qLm2@")
    endpoint = EndpointSpec(
        backend="openai",
        base_url=url,
        model="mock-model",
        api_key_env="GLEE_SECRET_SHAPES_KEY",
        max_retries=0,
        # httpx sends a request to a URL with credentials (aiohttp refuses it with an Authorization
        # header, before any request): the test needs the server's answers to store the URL.
        http_client="httpx",
    )
    llm = PlayerSpec(kind="llm", endpoint=endpoint, max_attempts=1)
    plain = PlayerSpec(kind="llm", endpoint=endpoint.model_copy(update={"base_url": fault_server.base_url}))
    db = tmp_path / "secrets.duckdb"
    fault_server.set_plan(FaultPlan(reply="echo_auth"))  # a 200 whose text repeats the Authorization header
    echoed = run(small_config(db, [(plain, baseline("spe"))]))
    assert echoed.played == 12
    assert all(f"Bearer {canary}" in r.headers["authorization"] for r in fault_server.requests())
    fault_server.set_plan(FaultPlan(rates={"server_error": 1.0}))  # failed games: the URL is in games.error
    failed = run(small_config(db, [(baseline("fair"), llm)]))
    assert failed.failed == 12 and failed.error is None
    assert fault_server.requests()
    wal = db.with_suffix(".duckdb.wal")
    stored = db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert b"pw-3xT9qLm2" not in stored and canary.encode() not in stored
    assert b"alice:***@" in stored  # the URL is kept, its password blanked
    assert b"You sent Authorization: Bearer ***" in stored  # the echoed key, blanked in llm_calls.response
    with duckdb.connect(str(db), read_only=True) as con:  # and the tables read back (compressed pages too)
        for table in ("runs", "games", "turns", "llm_calls", "outcomes"):
            text = con.execute(f"SELECT string_agg(CAST(t AS VARCHAR), ' ') FROM {table} t").fetchone()
            assert text is not None and "pw-3xT9qLm2" not in str(text[0]) and canary not in str(text[0]), table
