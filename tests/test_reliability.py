"""Nothing is lost: LLM sweeps against the loopback fault server (a mock of flaky APIs, see
tests/support/fault_server.py) with transient faults injected on a seeded schedule.

- about 15 % transient faults: every planned game gets a row, each completed or failed for a
  reason that retrying cannot cure, and the games are exactly those of a fault-free run;
- player faults (garbage text) are re-asks then forfeits, never transport retries;
- a refused key or an unknown model stops the run with one message;
- SIGKILL at 10 random points of an LLM sweep, then resume: every game once, none missing.

The server answers with `reply="hashed"`: a reply is a function of the prompt alone (a
deterministic model), so a retried request gets the reply the first try would have got.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glee.backends.spec import EndpointSpec
from glee.engine.plan import plan
from glee.engine.scheduler import run
from glee.engine.specs import PlayerSpec, RunConfig
from glee.store import open_store
from tests.conftest import baseline, small_config
from tests.support.fault_server import Fault, FaultPlan, FaultServer

ROOT = Path(__file__).resolve().parents[1]

TRANSIENT: dict[Fault, float] = {
    "rate_limit": 0.04,
    "server_error": 0.03,
    "reset": 0.02,
    "hang": 0.01,
    "malformed": 0.025,
    "empty": 0.025,
}
"""15 % of requests: every fault a retry cures."""
PERMANENT: dict[Fault, float] = {"context_length": 0.004}
"""A fault no retry cures (400): its game ends as context_overflow, with the reason."""


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def llm(server: FaultServer, **fields: Any) -> PlayerSpec:
    """An LLM player on the fault server with a short timeout (a hang costs 5 s; a shared machine needs the slack)."""
    settings: dict[str, Any] = {"model": "mock-model", "max_concurrency": 64, "timeout_s": 5.0, "max_retries": 6}
    endpoint = EndpointSpec(backend="openai", base_url=server.base_url, **{**settings, **fields})
    return PlayerSpec(kind="llm", endpoint=endpoint, max_attempts=3)


def played(db: Path) -> dict[str, Any]:
    """Everything played per game (no timings, run ids or errors), keyed by game_id."""
    with open_store(db, read_only=True) as store:
        con = store.con

        def by_game(sql: str) -> dict[str, list[tuple[Any, ...]]]:
            out: dict[str, list[tuple[Any, ...]]] = {}
            for row in con.execute(sql).fetchall():
                out.setdefault(row[0], []).append(row[1:])
            return out

        return {
            "games": by_game("SELECT game_id, status, end_reason, rounds_played, forfeit_seat, seed FROM games"),
            "turns": by_game("SELECT * FROM turns ORDER BY game_id, turn"),
            "calls": by_game(
                "SELECT game_id, turn, seat, attempt, model, request, response, error, parsed, rejection, "
                "prompt_tokens, completion_tokens, finish_reason FROM llm_calls ORDER BY game_id, turn, attempt"
            ),
            "outcomes": by_game("SELECT * FROM outcomes"),
            "errors": by_game("SELECT game_id, error FROM games WHERE status NOT IN ('completed', 'forfeit')"),
        }


def test_transient_faults_lose_no_game_and_change_no_outcome(tmp_path: Path, fault_server: FaultServer) -> None:
    player = llm(fault_server)
    config = small_config(tmp_path / "faults.duckdb", [(player, player)], n_games=42, max_games_in_flight=64)
    planned = {s.game_id for s in plan(config)}
    assert len(planned) == 504

    fault_server.set_plan(FaultPlan(reply="hashed", rates={**TRANSIENT, **PERMANENT}, seed=11, hang_s=8.0))
    faulty = run(config)
    requests = fault_server.requests()
    faults = [r.fault for r in requests]
    transient = sum(f in TRANSIENT for f in faults) / len(faults)
    permanent = sum(f in PERMANENT for f in faults)
    print(f"{len(faults)} requests, {transient:.1%} transient faults, {permanent} permanent; {faulty.text()}")
    assert 0.12 < transient < 0.18
    assert {f for f in faults if f} == set(TRANSIENT) | set(PERMANENT)  # every kind of fault was met

    fault_server.set_plan(FaultPlan(reply="hashed"))
    clean = run(config.model_copy(update={"db": tmp_path / "clean.duckdb"}))
    assert (clean.failed, clean.played) == (0, 504)

    a, b = played(config.db), played(tmp_path / "clean.duckdb")
    # None lost: one row per planned game, in both runs.
    assert set(a["games"]) == set(b["games"]) == planned
    assert faulty.played == 504 and faulty.error is None
    # Ended without an outcome only for what no retry cures (context_overflow), and only a few.
    failed = set(a["errors"])
    assert faulty.failed == 0 and faulty.context_overflow == len(failed) <= permanent
    for (error,) in (row[0] for row in a["errors"].values()):
        assert "context length exceeded" in error, error
    # A failed game keeps its model calls, the failed call last with its error.
    for gid in failed:
        last_error = a["calls"][gid][-1][6]
        assert last_error is not None and "context length exceeded" in last_error, last_error
    # The games that finished are exactly the fault-free run's games, call for call.
    done = planned - failed
    assert len(done) >= 480
    for table in ("games", "turns", "calls", "outcomes"):
        differ = [gid for gid in done if a[table].get(gid) != b[table].get(gid)]
        assert differ == [], (table, differ[:3])
    # Resume leaves them be; asked to replay them, without faults they finish like the clean run's.
    assert run(config).played == 0
    again = run(config.model_copy(update={"replay": ["context_overflow"]}))
    assert (again.skipped, again.played, again.failed) == (504 - len(failed), len(failed), 0)
    a = played(config.db)
    for table in ("games", "turns", "calls", "outcomes"):
        assert a[table] == b[table], table


def test_garbage_replies_are_forfeits_after_re_asks_not_retries(tmp_path: Path, fault_server: FaultServer) -> None:
    config = small_config(
        tmp_path / "garbage.duckdb", [(llm(fault_server), baseline("spe"))], n_games=5, max_games_in_flight=16
    )
    fault_server.set_plan(FaultPlan(reply="garbage", rates=TRANSIENT, seed=5, hang_s=8.0))
    summary = run(config)
    requests = fault_server.requests()
    assert (summary.forfeit, summary.completed, summary.failed) == (60, 0, 0)
    with open_store(config.db, read_only=True) as store:
        con = store.con
        per_game = con.execute(
            "SELECT count(*), count(rejection), count(DISTINCT turn), max(attempt) FROM llm_calls GROUP BY game_id"
        ).fetchall()
        forfeits = con.execute("SELECT DISTINCT status, end_reason, forfeit_seat FROM games").fetchall()
    # Each game: one turn, three attempts (two re-asks), all rejected; then Alice forfeits.
    assert per_game == [(3, 3, 1, 3)] * 60
    assert forfeits == [("forfeit", "forfeit", 1)]
    # The transport retried the faults on its own: more requests than logged calls, none logged twice.
    faulted = sum(r.fault is not None for r in requests)
    assert faulted > 0 and len(requests) == 180 + faulted


@pytest.mark.parametrize(
    ("plan_fields", "spec_fields", "message"),
    [
        ({"api_key": "the-right-key"}, {"api_key_env": "GLEE_RELIABILITY_WRONG_KEY"}, "refused the API key"),
        ({}, {"model": "no-such-model"}, "unknown model 'no-such-model'"),
    ],
)
def test_a_refused_key_or_unknown_model_stops_the_run_with_one_message(
    tmp_path: Path,
    fault_server: FaultServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    plan_fields: dict[str, Any],
    spec_fields: dict[str, Any],
    message: str,
) -> None:
    monkeypatch.setenv("GLEE_RELIABILITY_WRONG_KEY", "a-wrong-key")
    player = llm(fault_server, **spec_fields)
    config = small_config(tmp_path / "down.duckdb", [(player, baseline("spe"))], n_games=20, max_games_in_flight=8)
    config = config.model_copy(update={"progress": True})
    fault_server.set_plan(FaultPlan(**plan_fields))
    summary = run(config)
    err = capsys.readouterr().err
    assert summary.error is not None and message in summary.error and "EndpointDown" in summary.error
    assert summary.completed == summary.forfeit == 0
    # At most the games already in flight asked (each once: nothing retried), not all 240 of them.
    assert 1 <= len(fault_server.requests()) <= 8
    assert 1 <= summary.failed <= 8 < summary.planned
    assert err.count(message) == 1 and "Traceback" not in err
    with open_store(config.db, read_only=True) as store:
        errors = store.con.execute("SELECT DISTINCT status, error FROM games").fetchall()
    assert len(errors) == 1 and errors[0][0] == "failed" and message in errors[0][1]


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("rate_limit", "rate_limit"),
        ("server_error", "server_error"),
        ("reset", "transport"),
        ("hang", "timeout"),
        ("context_length", "context_length"),
        ("malformed", "malformed_reply"),
        ("empty", "malformed_reply"),
        ("unauthorized", "endpoint_down"),
        ("not_found", "endpoint_down"),
    ],
)
def test_a_failed_game_carries_the_kind_of_fault_that_stopped_it(
    tmp_path: Path, fault_server: FaultServer, fault: Fault, kind: str
) -> None:
    """Every request answered with one fault and no retries: each game that was played is failed
    with the kind the endpoint raised (games.error_kind), which nothing reads out of the message.
    The breaker is kept shut (down_after): tests/test_bounded_calls.py shows it opening."""
    player = llm(fault_server, max_retries=0, timeout_s=1.0, down_after=1000)
    config = small_config(tmp_path / f"{fault}.duckdb", [(player, baseline("spe"))], max_games_in_flight=12)
    fault_server.set_plan(FaultPlan(rates={fault: 1.0}, hang_s=3.0))
    summary = run(config)
    status = "context_overflow" if kind == "context_length" else "failed"  # a terminal status of its own
    assert summary.completed == summary.forfeit == 0 and summary.played >= 1
    with open_store(config.db, read_only=True) as store:
        kinds = store.con.execute("SELECT status, error_kind, count(*) FROM games GROUP BY ALL").fetchall()
    assert kinds == [(status, kind, summary.played)]
    assert (summary.error is not None) == (kind == "endpoint_down")


SWEEP = """
import sys
from glee.engine.scheduler import run
from glee.engine.specs import RunConfig
config = RunConfig.model_validate_json(sys.argv[1])
print("ready", flush=True)
run(config)
"""


def whole(db: Path, planned: set[str]) -> int:
    """Check a (possibly killed) database: no game twice, none unplanned, no orphan rows, every
    finished game with its outcome. Returns the games that will not be played again."""
    with open_store(db, read_only=True) as store:
        con = store.con
        ids = [r[0] for r in con.execute("SELECT game_id FROM games").fetchall()]
        assert len(ids) == len(set(ids)) and set(ids) <= planned
        for table in ("turns", "outcomes", "llm_calls"):
            orphans = con.execute(f"SELECT count(*) FROM {table} WHERE game_id NOT IN (SELECT game_id FROM games)")
            assert orphans.fetchone() == (0,), table
        lacking = con.execute(
            "SELECT count(*) FROM games g WHERE status IN ('completed', 'forfeit') "
            "AND (g.game_id NOT IN (SELECT game_id FROM outcomes) OR g.game_id NOT IN (SELECT game_id FROM turns))"
        ).fetchone()
        assert lacking == (0,)
        calls = con.execute("SELECT count(*), count(DISTINCT (game_id, turn, attempt)) FROM llm_calls").fetchone()
        assert calls is not None and calls[0] == calls[1]
        done = con.execute("SELECT count(*) FROM games WHERE status IN ('completed', 'forfeit')").fetchone()
        assert done is not None
        return int(done[0])


def start(config: RunConfig) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SWEEP, config.model_dump_json()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_sigkill_an_llm_sweep_at_ten_random_points_then_resume(tmp_path: Path, fault_server: FaultServer) -> None:
    # 20 ms per answer, 8 games in flight, transient faults but no hangs (each costs a 5 s timeout):
    # about 20 s of play, a few seconds of it between kills.
    faults = {fault: rate for fault, rate in TRANSIENT.items() if fault != "hang"}
    fault_server.set_plan(FaultPlan(reply="hashed", rates=faults, seed=3, delay_s=0.02))
    db = tmp_path / "killed.duckdb"
    config = small_config(db, [(llm(fault_server), baseline("random"))], n_games=40, max_games_in_flight=8)
    planned = {s.game_id for s in plan(config)}
    assert len(planned) == 480
    rng = random.Random(2026)
    counts = []
    for _ in range(10):
        proc = start(config)
        time.sleep(rng.uniform(0.5, 3.0))
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
        assert proc.returncode in (-signal.SIGKILL, 0), err  # 0: every game was already done
        counts.append(whole(db, planned) if db.exists() else 0)
    print("games kept after each kill:", counts)
    assert counts == sorted(counts)
    assert sum(0 < n < len(planned) for n in counts) >= 3, counts  # kills landed mid-sweep
    proc = start(config)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert whole(db, planned) == len(planned)
    with open_store(db, read_only=True) as store:
        statuses = store.con.execute("SELECT status, count(*) FROM games GROUP BY 1").fetchall()
        runs = store.con.execute("SELECT count(*) FROM runs").fetchone()
    assert sum(n for status, n in statuses if status in ("completed", "forfeit")) == len(planned)
    assert runs is not None and runs[0] >= 2
