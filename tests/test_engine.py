"""The match and the scheduler: statuses, failures that never stop a sweep, summaries, endpoints down."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from glee.engine.match import play
from glee.engine.plan import plan
from glee.engine.scheduler import run, run_async
from glee.store import load_game, open_store
from tests.conftest import baseline, small_config
from tests.support.engine_players import BUG, CHATTY, DOWN, FORFEIT, INFRA, scripted_factory


def test_statuses_of_a_mixed_sweep_and_its_summary(db_path: Path) -> None:
    pairs = [
        (baseline("spe"), baseline("random")),
        (baseline("spe", FORFEIT), baseline("fair")),
        (baseline("fair"), baseline("spe", INFRA)),
        (baseline("spe", BUG), baseline("spe")),
    ]
    config = small_config(db_path, pairs, max_games_in_flight=5)
    summary = run(config, make_player=scripted_factory())
    per_pair = len(plan(config)) // len(pairs)
    assert (summary.planned, summary.skipped) == (4 * per_pair, 0)
    assert (summary.completed, summary.forfeit, summary.failed) == (per_pair, per_pair, 2 * per_pair)
    assert summary.error is None and not summary.interrupted
    with open_store(db_path, read_only=True) as store:
        rows = store.con.execute(
            "SELECT player_1, player_2, status, end_reason, forfeit_seat, error, error_kind FROM games"
        ).fetchall()
        assert len(rows) == summary.planned
        for p1, p2, status, end_reason, forfeit_seat, error, kind in rows:
            if FORFEIT in (p1, p2):
                assert (status, end_reason, forfeit_seat, error, kind) == ("forfeit", "forfeit", 1, None, None)
            elif INFRA in (p1, p2):
                assert status == "failed" and end_reason is None and kind == "transport"
                assert error == "InfrastructureError: http://127.0.0.1:9/v1: 503 after 6 retries"
            elif BUG in (p1, p2):
                assert status == "failed" and "Traceback" in error and "RuntimeError: a bug in a player" in error
                assert kind == "player_bug"
            else:
                assert status == "completed" and end_reason in ("agreement", "no_deal", "deadline", "outside_option")
                assert error is None and kind is None
    # Resume: completed and forfeited games are skipped, failed ones played again.
    again = run(config, make_player=scripted_factory())
    assert (again.skipped, again.failed, again.completed + again.forfeit) == (2 * per_pair, 2 * per_pair, 0)


def test_an_endpoint_that_cannot_work_stops_the_run_with_its_message(db_path: Path) -> None:
    config = small_config(db_path, [(baseline("spe", DOWN), baseline("spe"))], n_games=20, max_games_in_flight=2)
    summary = run(config, make_player=scripted_factory())
    assert summary.error == "EndpointDown: http://127.0.0.1:9/v1: 401 unauthorized"
    assert 1 <= summary.failed < summary.planned
    assert summary.completed == summary.forfeit == 0
    with open_store(db_path, read_only=True) as store:
        kinds = store.con.execute("SELECT DISTINCT status, error_kind FROM games").fetchall()
    assert kinds == [("failed", "endpoint_down")]


def test_an_exception_in_the_rules_fails_the_game_as_a_rules_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same exception is the rules' bug when the rules raise it, the player's when a player does."""
    from glee.games.bargaining import BargainingState

    def broken(self: BargainingState, action: object) -> BargainingState:
        raise RuntimeError("a bug in the rules")

    spec = next(s for s in plan(small_config(Path("unused.duckdb"), [(baseline("spe"), baseline("spe"))]))
                if s.family == "bargaining")  # fmt: skip
    monkeypatch.setattr(BargainingState, "apply", broken)
    record = asyncio.run(play(spec, scripted_factory()))
    assert (record.status, record.error_kind) == ("failed", "rules_bug")
    assert record.error is not None and "RuntimeError: a bug in the rules" in record.error
    monkeypatch.undo()
    spec = spec.model_copy(update={"player_1": baseline("spe", BUG)})
    record = asyncio.run(play(spec, scripted_factory()))
    assert (record.status, record.error_kind) == ("failed", "player_bug")


def test_a_stored_game_replays_to_the_same_record(db_path: Path) -> None:
    pairs = [(baseline("random"), baseline("random")), (baseline("spe", CHATTY), baseline("fair"))]
    config = small_config(db_path, pairs)
    run(config, make_player=scripted_factory())
    factory = scripted_factory()
    with open_store(db_path, read_only=True) as store:
        for spec in plan(config):
            stored = load_game(store, spec.game_id)
            replayed = asyncio.run(play(spec, factory, stored.run_id))
            assert replayed.turns == stored.turns
            assert replayed.outcome == stored.outcome
            assert [c.request for c in replayed.calls] == [c.request for c in stored.calls]
            assert (stored.status, stored.rounds, stored.seed) == (replayed.status, replayed.rounds, spec.seed)


def test_turns_count_matches_rounds_for_every_family(db_path: Path) -> None:
    config = small_config(db_path, [(baseline("random"), baseline("random"))], n_games=3)
    summary = asyncio.run(run_async(config))
    assert summary.completed == summary.planned
    with open_store(db_path, read_only=True) as store:
        rows = store.con.execute(
            """
            SELECT g.game_id, g.family, g.rounds, g.end_reason, count(t.turn), count(t.turn) FILTER (t.seat = 0),
                   max(t.round), bool_and(t.turn BETWEEN 1 AND 1000)
            FROM games g JOIN turns t USING (game_id) GROUP BY ALL
            """
        ).fetchall()
    assert len(rows) == summary.planned
    for _, family, rounds, end_reason, n, nature, last_round, ordered in rows:
        assert last_round == rounds and ordered
        if family == "persuasion":
            assert (n, nature) == (3 * rounds, rounds)
        else:
            assert nature == 0
            # Every round has an offer and an answer.
            assert n == 2 * rounds, (family, end_reason)


class BrokenSink:
    """A sink whose writes fail (a full disk, say): the run must stop and say so, not hang or go on."""

    def __init__(self) -> None:
        self.writes = 0

    def done_ids(self) -> set[str]:
        return set()

    def begin_run(self, *args: object, **kwargs: object) -> None:
        pass

    def write(self, records: object) -> None:
        self.writes += 1
        raise OSError("No space left on device")

    def close(self) -> None:
        pass


def test_a_failing_write_stops_the_run_with_its_error(db_path: Path) -> None:
    sink = BrokenSink()
    config = small_config(db_path, [(baseline("random"), baseline("random"))], n_games=400)
    with pytest.raises(OSError, match="No space left"):
        run(config, sink=sink)
    assert sink.writes == 1
