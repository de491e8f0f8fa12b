"""Every call and every run is bounded, against the loopback fault server (tests/support/fault_server.py):

- a reply that trickles in a byte at a time, or a chunked body of endless whitespace, ends at the
  call's wall-clock deadline (`timeout_s`), each retry with its own;
- `run_timeout_s` ends a run against a slow server, the rest left for resume;
- a hanging endpoint is marked down after `down_after` consecutive transport failures: its calls in
  flight fail at once with one message and the run stops saying so (1 000 games, timed);
- a Retry-After beyond `retry_after_max_s` fails at once saying so; one within it is waited for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glee.backends import OpenAIEndpoint
from glee.backends.spec import EndpointSpec
from glee.engine.scheduler import run, run_async
from glee.engine.specs import PlayerSpec
from glee.errors import EndpointDown, InfrastructureError
from glee.players.base import Sampling
from glee.store import open_store
from tests.conftest import baseline, small_config
from tests.support.fault_server import FaultPlan, FaultServer

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"price": {"type": "number", "minimum": 0, "maximum": 100}, "message": {"type": "string"}},
    "required": ["price", "message"],
}
MESSAGES = [{"role": "system", "content": "You play a game."}, {"role": "user", "content": "Your move."}]
SAFETY_S = 60.0
"""An outer bound for code that might never return (so that a regression fails instead of hanging)."""


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def spec(server: FaultServer, **fields: Any) -> EndpointSpec:
    settings: dict[str, Any] = {"model": "mock-model", "timeout_s": 1.0, "max_retries": 0}
    return EndpointSpec(backend="openai", base_url=server.base_url, **{**settings, **fields})


async def call(endpoint_spec: EndpointSpec) -> tuple[InfrastructureError | None, float]:
    """One completion: the error it raised (None if it answered) and how long it took."""
    endpoint = OpenAIEndpoint(endpoint_spec)
    start = time.monotonic()
    try:
        await asyncio.wait_for(endpoint.complete(MESSAGES, SCHEMA, Sampling()), SAFETY_S)
    except InfrastructureError as exc:
        return exc, time.monotonic() - start
    finally:
        await endpoint.aclose()
    return None, time.monotonic() - start


@pytest.mark.parametrize("fault", ["trickle", "whitespace"])
async def test_a_slow_body_ends_at_the_calls_wall_clock_deadline(fault_server: FaultServer, fault: str) -> None:
    # A byte every 0.2 s: each read is quick (the client's per-read timeout never fires), and the
    # ~300-byte reply would take a minute; whitespace never ends at all.
    fault_server.set_plan(FaultPlan(rates={fault: 1.0}, trickle_s=0.2))
    error, took = await call(spec(fault_server, timeout_s=1.0, max_retries=1))
    assert error is not None and error.kind == "timeout", error
    assert "no complete reply within timeout_s=1 s" in str(error) and "after 1 retries" in str(error)
    assert len(fault_server.requests()) == 2  # each retry is a request of its own, with its own deadline
    assert took < SAFETY_S / 2


def test_run_timeout_s_bounds_a_run_and_leaves_the_rest_for_resume(tmp_path: Path, fault_server: FaultServer) -> None:
    fault_server.set_plan(FaultPlan(delay_s=0.5))
    llm = PlayerSpec(kind="llm", endpoint=spec(fault_server, timeout_s=5.0, max_concurrency=4))
    config = small_config(tmp_path / "bounded.duckdb", [(llm, baseline("spe"))], n_games=10, max_games_in_flight=4)
    config = config.model_copy(update={"run_timeout_s": 2.0})
    summary = run(config)
    assert summary.error is not None and "run_timeout_s=2 reached" in summary.error
    assert summary.unplayed > 0 and summary.played + summary.unplayed == summary.planned == 120
    assert "not played" in summary.text()
    with open_store(config.db, read_only=True) as store:
        rows = store.con.execute("SELECT count(*) FROM games").fetchone()
    assert rows == (summary.played,)


def test_a_hanging_endpoint_is_marked_down_and_1000_games_fail_fast(tmp_path: Path, fault_server: FaultServer) -> None:
    """At the default in-flight limit (32) and 7 tries a call, a hanging endpoint would take
    32 waves of 7 timeouts; the breaker opens after the first wave of 8 failures."""
    fault_server.set_plan(FaultPlan(rates={"hang": 1.0}, hang_s=30.0))
    llm = PlayerSpec(kind="llm", endpoint=spec(fault_server, timeout_s=0.5, max_retries=6, down_after=8))
    config = small_config(tmp_path / "hanging.duckdb", [(llm, baseline("spe"))], n_games=84, max_games_in_flight=32)
    start = time.monotonic()
    summary = asyncio.run(asyncio.wait_for(run_async(config), SAFETY_S))
    took = time.monotonic() - start
    requests = fault_server.requests()
    opened = sorted(r.at for r in requests)[7] + 0.5  # the 8th request's deadline: the breaker opens
    after_open = time.monotonic() - opened
    print(f"{summary.planned} games against a hanging endpoint: run over {took:.1f} s after it began, "
          f"{after_open:.1f} s after the breaker opened; {len(requests)} requests; {summary.text()}")  # fmt: skip
    assert summary.planned == 1008 and summary.completed == summary.forfeit == 0
    assert summary.error is not None and "marked down after 8 consecutive transport failures" in summary.error
    assert "down_after=8" in summary.error and "EndpointDown" in summary.error
    # Only the first wave was sent (32 in flight, none retried after the breaker opened).
    assert len(requests) <= 32 + 8
    assert after_open < 60.0
    with open_store(config.db, read_only=True) as store:
        errors = store.con.execute("SELECT status, error_kind, error, count(*) FROM games GROUP BY ALL").fetchall()
    # Every game in flight failed with the one message; the rest were never started (played on resume).
    assert len(errors) == 1 and errors[0][:2] == ("failed", "endpoint_down") and "marked down" in errors[0][2]
    assert 1 <= errors[0][3] <= 32 and summary.unplayed == 1008 - errors[0][3]


async def test_a_marked_down_endpoint_fails_every_later_call_at_once(fault_server: FaultServer) -> None:
    fault_server.set_plan(FaultPlan(rates={"reset": 1.0}))
    endpoint = OpenAIEndpoint(spec(fault_server, max_retries=5, down_after=3))
    try:
        with pytest.raises(EndpointDown, match="marked down after 3 consecutive transport failures"):
            await endpoint.complete(MESSAGES, SCHEMA, Sampling())
        assert len(fault_server.requests()) == 3  # stopped retrying when the breaker opened
        fault_server.set_plan(FaultPlan())
        with pytest.raises(EndpointDown):
            await endpoint.complete(MESSAGES, SCHEMA, Sampling())
        assert fault_server.requests() == []
    finally:
        await endpoint.aclose()


async def test_a_reply_resets_the_count_of_transport_failures(fault_server: FaultServer) -> None:
    # Two resets, an answer, two resets, an answer: never 3 in a row, so never down.
    fault_server.set_plan(FaultPlan(script=["reset", "reset", None, "reset", "reset", None]))
    endpoint = OpenAIEndpoint(spec(fault_server, max_retries=2, down_after=3))
    try:
        for _ in range(2):
            assert (await endpoint.complete(MESSAGES, SCHEMA, Sampling())).response
    finally:
        await endpoint.aclose()


async def test_a_retry_after_beyond_the_cap_fails_at_once_saying_why(fault_server: FaultServer) -> None:
    fault_server.set_plan(FaultPlan(rates={"rate_limit": 1.0}, retry_after_s=3600))
    error, _ = await call(spec(fault_server, max_retries=6, retry_after_max_s=60))
    assert error is not None and error.kind == "rate_limit"
    message = str(error)
    assert "asked to retry after 3600 s (Retry-After)" in message and "retry_after_max_s=60" in message
    assert "persisted" not in message
    assert len(fault_server.requests()) == 1


async def test_a_retry_after_within_the_cap_is_waited_for(fault_server: FaultServer) -> None:
    fault_server.set_plan(FaultPlan(script=["rate_limit", None], retry_after_s=1.5))
    error, _ = await call(spec(fault_server, max_retries=1, retry_after_max_s=2))
    assert error is None
    first, second = fault_server.requests()
    assert second.at - first.at >= 1.5
