"""User-supplied filters never become SQL: injection payloads given to the analysis loaders and
the store readers either match no row (bound as values), or are refused with a ConfigError
naming the field; the database is unchanged either way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glee.analysis.frames import load_games, load_turns
from glee.engine.scheduler import run
from glee.errors import ConfigError
from glee.store import list_games, load_game, open_store, prompt_of
from tests.conftest import baseline, small_config
from tests.support.engine_players import CHATTY, scripted_factory

PAYLOADS = [
    "x' OR '1'='1",
    "x'; DROP TABLE games; --",
    "1; DELETE FROM outcomes",
    "' UNION SELECT game_id, game_id FROM games --",
    "baseline:spe' --",
    '") OR 1=1 --',
    "x'); ATTACH '/tmp/glee-evil.duckdb' AS evil; --",
    "\x00' OR TRUE --",
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sql") / "glee.duckdb"
    pairs = [(baseline("spe", CHATTY), baseline("random")), (baseline("fair"), baseline("spe"))]
    run(small_config(path, pairs), make_player=scripted_factory())
    return path


def counts(db: Path) -> dict[str, int]:
    with open_store(db, read_only=True) as store:
        out = {}
        for table in ("runs", "games", "turns", "llm_calls", "outcomes"):
            row = store.con.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert row is not None
            out[table] = row[0]
        return out


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_as_filter_values_match_nothing(db: Path, payload: str) -> None:
    before = counts(db)
    assert before["games"] == 24
    for column in ("player_1", "status", "game_id", "end_reason"):
        assert len(load_games(db, filters={column: payload})) == 0
        assert len(load_games(db, filters={column: [payload, payload + "'"]})) == 0
    # A payload next to a real value: only the real value matches.
    assert len(load_games(db, filters={"player_1": ["baseline:fair", payload]})) == 12
    # A typed parameter column: the payload is a value that cannot match (or a typed error).
    try:
        assert len(load_games(db, filters={"delta_1": payload})) == 0
    except ConfigError as exc:
        assert "filter" in str(exc)
    assert len(load_turns(db, payload)) == 0
    with open_store(db, read_only=True) as store:
        assert len(list_games(store, family=payload)) == 0
        assert len(list_games(store, status=payload, run_id=payload)) == 0
        with pytest.raises(ConfigError, match="game_id"):
            load_game(store, payload)
        with pytest.raises(ConfigError, match="llm call"):
            prompt_of(store, payload, 1)
    assert counts(db) == before
    assert not Path("/tmp/glee-evil.duckdb").exists()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_as_column_names_or_families_are_refused_by_name(db: Path, payload: str) -> None:
    before = counts(db)
    with pytest.raises(ConfigError, match=r"filter: unknown column") as info:
        load_games(db, filters={payload: "x"})
    assert "allowed:" in str(info.value)
    with pytest.raises(ConfigError, match="family"):
        load_games(db, family=payload)
    assert counts(db) == before


@pytest.mark.parametrize(
    "value",
    [{"a": 1}, object(), b"x' OR '1'='1"],
)
def test_odd_filter_values_are_values_or_typed_errors(db: Path, value: Any) -> None:
    try:
        frame = load_games(db, filters={"player_1": value})
    except ConfigError as exc:  # a clear refusal naming the filter
        assert "filter" in str(exc)
        return
    assert len(frame) == 0


def test_a_real_filter_still_works(db: Path) -> None:
    frame = load_games(db, filters={"player_2": "baseline:spe", "family": "bargaining"})
    assert len(frame) == 4 and set(frame["player_1"]) == {"baseline:fair"}
