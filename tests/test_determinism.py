"""Deterministic players give identical transcripts whatever the number of games in flight."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glee.backends.spec import EndpointSpec
from glee.engine.scheduler import run
from glee.engine.specs import PlayerSpec
from glee.store import open_store
from tests.conftest import baseline, small_config
from tests.support.engine_players import CHATTY, SLOW, scripted_factory
from tests.support.hash_model import HASH_MODEL
from tests.support.loopback import model_server

PAIRS = [
    (baseline("random"), baseline("random")),
    (baseline("spe"), baseline("random")),
    (baseline("random"), baseline("fair")),
    (baseline("spe", CHATTY), baseline("random")),
    (baseline("spe", SLOW), baseline("random")),  # suspends, so games really interleave at 64 in flight
]


def transcripts(db: Path) -> dict[str, Any]:
    """Everything that was played, without timings or run ids."""
    with open_store(db, read_only=True) as store:
        con = store.con
        return {
            "games": con.execute(
                "SELECT game_id, family, params, player_1, player_2, seed, status, end_reason, rounds_played "
                "FROM games ORDER BY game_id"
            ).fetchall(),
            "turns": con.execute("SELECT * FROM turns ORDER BY game_id, turn").fetchall(),
            "calls": con.execute(
                "SELECT * EXCLUDE (latency_ms) FROM llm_calls ORDER BY game_id, turn, attempt"
            ).fetchall(),
            "outcomes": con.execute("SELECT * FROM outcomes ORDER BY game_id").fetchall(),
        }


def test_one_and_sixty_four_games_in_flight_play_the_same_games(tmp_path: Path) -> None:
    one, many = tmp_path / "one.duckdb", tmp_path / "many.duckdb"
    run(small_config(one, PAIRS, n_games=4, max_games_in_flight=1), make_player=scripted_factory(0.001))
    run(small_config(many, PAIRS, n_games=4, max_games_in_flight=64), make_player=scripted_factory(0.001))
    a, b = transcripts(one), transcripts(many)
    assert len(a["games"]) == 5 * 12 * 4
    assert len(a["turns"]) > len(a["games"]) and len(a["calls"]) > 0
    for table in a:
        assert a[table] == b[table], table
    # The seeds reach the players and Nature: replicates of one random pairing play differently.
    random_ids = {row[0] for row in a["games"] if row[3] == row[4] == "baseline:random"}
    played: dict[str, list[str]] = {}
    for row in a["turns"]:
        if row[0] in random_ids:
            played.setdefault(row[0], []).append(row[5])
    assert len({str(actions) for actions in played.values()}) > len(random_ids) // 2


@pytest.fixture(scope="module")
def hash_model() -> Iterator[str]:
    """The deterministic stand-in model server (tests/support/hash_model.py) on a free loopback port."""
    with model_server(HASH_MODEL) as url:
        yield url


def test_llm_players_over_http_play_the_same_games_at_one_and_sixty_four_in_flight(
    tmp_path: Path, hash_model: str
) -> None:
    endpoint = EndpointSpec(backend="openai", base_url=hash_model, model="hash-model", api_key_env=None,
                            max_concurrency=64)  # fmt: skip
    llm = PlayerSpec(kind="llm", endpoint=endpoint)
    pairs = [(llm, baseline("random")), (baseline("spe"), llm)]
    one, many = tmp_path / "one.duckdb", tmp_path / "many.duckdb"
    first = run(small_config(one, pairs, max_games_in_flight=1))
    second = run(small_config(many, pairs, max_games_in_flight=64))
    assert first.failed == second.failed == 0
    assert first.completed + first.forfeit == 24
    a, b = transcripts(one), transcripts(many)
    assert len(a["calls"]) >= 24
    for table in a:
        assert a[table] == b[table], table
