"""A prompt that outgrows its model (HTTP 400 context length) and other deterministic 4xx end a game
with a status of their own, counted in the tables and not replayed unless a run asks; any status
or end reason can be replayed (`replay=[forfeit]`), and the run records that it asked.
Against the loopback fault server and real DuckDB files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glee.analysis.frames import load_games, seat_frame
from glee.analysis.metrics import metric_table
from glee.backends.spec import EndpointSpec
from glee.engine.scheduler import run
from glee.engine.specs import PlayerSpec, RunConfig
from glee.errors import ConfigError, validated
from glee.store import open_store
from tests.conftest import baseline, small_config
from tests.support.fault_server import FaultPlan, FaultServer


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def llm(server: FaultServer) -> PlayerSpec:
    endpoint = EndpointSpec(backend="openai", base_url=server.base_url, model="mock-model", timeout_s=5.0)
    return PlayerSpec(kind="llm", endpoint=endpoint, max_attempts=2)


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_store(db, read_only=True) as store:
        return store.con.execute(sql).fetchall()


def test_context_overflow_is_a_terminal_status_with_the_seat_and_prompt_tokens(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    config = small_config(tmp_path / "overflow.duckdb", [(baseline("spe"), llm(fault_server))])
    # Bob (seat 2, the model) overflows on his first turn; Alice is a baseline.
    fault_server.set_plan(FaultPlan(rates={"context_length": 1.0}))
    summary = run(config)
    assert (summary.context_overflow, summary.failed, summary.completed) == (12, 0, 0)
    assert len(fault_server.requests()) == 12  # no retry: a longer wait does not shorten a prompt
    games = rows(config.db, "SELECT status, error_kind, error FROM games")
    assert {(status, kind) for status, kind, _ in games} == {("context_overflow", "context_length")}
    assert all(error.startswith("seat 2, prompt_tokens 4096: ") for _, _, error in games)
    calls = rows(config.db, "SELECT DISTINCT seat, prompt_tokens, error IS NOT NULL FROM llm_calls")
    assert calls == [(2, 4096, True)]

    # Counted in the metric table, apart from failed games; its metrics are not averaged.
    table = metric_table(seat_frame(load_games(config.db)), by=("agent",), resamples=10).set_index("agent")
    model = table.loc["mock-model@openai"]
    assert (model["games"], model["context_overflow"], model["failed"], model["completed"]) == (12, 12, 0, 0)

    # Resume does not play them again...
    fault_server.set_plan(FaultPlan())
    again = run(config)
    assert (again.skipped, again.played) == (12, 0) and fault_server.requests() == []
    # ...unless asked: then they are played and replace the stored rows (tries counts both).
    replayed = run(config.model_copy(update={"replay": ["context_overflow"]}))
    assert (replayed.skipped, replayed.completed + replayed.forfeit) == (0, 12)
    assert rows(config.db, "SELECT DISTINCT status IN ('completed', 'forfeit'), tries, error FROM games") == [
        (True, 2, None)
    ]
    asked = rows(config.db, "SELECT config->'replay' FROM runs ORDER BY started_at")
    assert [json.loads(a) for (a,) in asked] == [[], [], ["context_overflow"]]


def test_any_other_400_is_request_rejected_and_terminal(tmp_path: Path, fault_server: FaultServer) -> None:
    config = small_config(tmp_path / "rejected.duckdb", [(llm(fault_server), baseline("spe"))])
    fault_server.set_plan(FaultPlan(rates={"bad_request": 1.0}))
    summary = run(config)
    assert (summary.request_rejected, summary.failed) == (12, 0)
    kinds = rows(config.db, "SELECT DISTINCT status, error_kind FROM games")
    assert kinds == [("request_rejected", "request_rejected")]
    fault_server.set_plan(FaultPlan())
    assert run(config).played == 0
    assert run(config.model_copy(update={"replay": ["request_rejected"]})).played == 12


def test_replay_forfeit_plays_forfeits_again(tmp_path: Path, fault_server: FaultServer) -> None:
    """A misconfigured endpoint (a 200 with garbage) forfeits every game, and the base URL is rightly
    not in the game id: replay=[forfeit] plays them again once the endpoint is fixed."""
    config = small_config(tmp_path / "forfeits.duckdb", [(llm(fault_server), baseline("spe"))])
    fault_server.set_plan(FaultPlan(reply="garbage"))
    assert run(config).forfeit == 12
    fault_server.set_plan(FaultPlan())
    assert run(config).played == 0
    fixed = run(config.model_copy(update={"replay": ["forfeit"]}))
    assert fixed.played == 12 and fixed.forfeit < 12
    statuses = rows(config.db, "SELECT count(*), count(*) FILTER (tries = 2) FROM games")
    assert statuses == [(12, 12)]
    assert rows(config.db, "SELECT count(*) FROM games WHERE end_reason = 'forfeit' AND tries = 1") == [(0,)]


def test_replay_names_only_statuses_and_end_reasons() -> None:
    with pytest.raises(ConfigError, match=r"replay: 'forfit' is neither a status nor an end reason; allowed: "):
        validated(RunConfig, {"replay": ["forfit"]})
    assert validated(RunConfig, {"replay": ["no_deal", "context_overflow"]}).replay == ["no_deal", "context_overflow"]
