"""`workers=N`: one run in N processes of one machine, one database, the same games as one process,
and each endpoint's limit on requests in flight kept across the workers."""

from __future__ import annotations

from pathlib import Path

import duckdb

from glee.backends.spec import EndpointSpec
from glee.engine import run
from glee.engine.specs import GameSet, PlayerSpec, RunConfig
from glee.engine.workers import share, worker_count
from tests.conftest import SHORT, baseline
from tests.support.fault_server import FaultPlan, FaultServer


def _rows(db: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT g.game_id, g.status, g.end_reason, g.rounds_played, o.payoff_1, o.payoff_2, "
            "(SELECT count(*) FROM turns t WHERE t.game_id = g.game_id) "
            "FROM games g JOIN outcomes o USING (game_id) ORDER BY g.game_id"
        ).fetchall()


def test_two_workers_play_the_same_games_as_one_process(tmp_path: Path) -> None:
    games = [GameSet(family="bargaining", grid="paper"), GameSet(family="negotiation", grid="paper")]
    pairs = [(baseline("spe"), baseline("random")), (baseline("random"), baseline("fair"))]
    one = RunConfig(games=games, pairs=pairs, db=tmp_path / "one.duckdb", workers=1, progress=False)
    two = one.model_copy(update={"db": tmp_path / "two.duckdb", "workers": 2})
    first, second = run(one), run(two)
    assert first.workers == 1 and second.workers == 2
    assert first.planned == second.planned == 2 * (384 + 576)
    assert second.completed + second.forfeit == second.planned and second.failed == 0
    assert second.turns == first.turns
    rows = _rows(tmp_path / "two.duckdb")
    assert rows == _rows(tmp_path / "one.duckdb")
    assert len({r[0] for r in rows}) == len(rows) == second.planned

    again = run(two)  # resume: nothing left, in any number of processes
    assert (again.skipped, again.played) == (again.planned, 0)


def test_the_endpoint_limit_holds_across_workers(tmp_path: Path) -> None:
    with FaultServer(FaultPlan(delay_s=0.05)) as server:
        endpoint = EndpointSpec(backend="openai", base_url=server.base_url, model="mock-model", max_concurrency=3)
        llm = PlayerSpec(kind="llm", endpoint=endpoint)
        config = RunConfig(
            games=[GameSet(family="bargaining", fixed=SHORT["bargaining"])],
            pairs=[(llm, baseline("spe")), (baseline("random"), llm)],
            n_games=12,
            db=tmp_path / "llm.duckdb",
            workers=2,
            max_games_in_flight=16,
            progress=False,
        )
        summary = run(config)
        assert summary.workers == 2
        assert summary.completed + summary.forfeit == summary.planned == 24, summary.text()
        assert 1 < server.max_in_flight() <= 3  # 2 + 1 of the 3 requests allowed, not 3 per worker
        with duckdb.connect(str(config.db), read_only=True) as con:
            calls = con.execute("SELECT count(*) FROM llm_calls").fetchone()
        assert calls is not None and calls[0] == len(server.requests()) > 0


def test_the_number_of_workers_stays_within_cores_games_and_limits() -> None:
    narrow = EndpointSpec(backend="openai", base_url="http://127.0.0.1:9", max_concurrency=2)
    assert worker_count(8, 10_000, [narrow]) == 2
    assert worker_count(8, 3, []) == 3
    assert worker_count(None, 10, []) == 1  # too few games to pay for a second process
    assert worker_count(None, 1_000_000, []) >= 1
    assert [share(7, 3, i) for i in range(3)] == [3, 2, 2]
