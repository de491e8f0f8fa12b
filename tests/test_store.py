"""The DuckDB store: every table's contents for a small mixed sweep, views, keys, locks, merge, readers."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from glee.engine.plan import plan
from glee.engine.record import GameRecord, GameStatus, TurnRecord
from glee.engine.scheduler import run
from glee.engine.specs import RunConfig
from glee.errors import ConfigError
from glee.games import bargaining as bargaining_rules
from glee.games import family
from glee.prompts import bargaining as bargaining_text
from glee.store import SEATS_VIEW, TABLES, list_games, load_game, merge, open_store, prompt_of, scrub, views
from tests.conftest import baseline, small_config
from tests.support.engine_players import BUG, CHATTY, FORFEIT, INFRA, scripted_factory

PAIRS = [
    (baseline("spe"), baseline("random")),
    (baseline("fair"), baseline("spe")),
    (baseline("random"), baseline("fair")),
    (baseline("spe"), baseline("spe", FORFEIT)),
    (baseline("spe", CHATTY), baseline("spe")),
    (baseline("spe", INFRA), baseline("spe")),
    (baseline("spe"), baseline("spe", BUG)),
]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunConfig, Path]:
    db = tmp_path_factory.mktemp("store") / "mixed.duckdb"
    config = small_config(db, PAIRS, max_games_in_flight=8)
    run(config, make_player=scripted_factory())
    return config, db


def test_games_table(mixed: tuple[RunConfig, Path]) -> None:
    config, db = mixed
    specs = {s.game_id: s for s in plan(config)}
    with open_store(db, read_only=True) as store:
        cursor = store.con.execute("SELECT * FROM games")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        runs = store.con.execute("SELECT run_id, config, git_commit, versions FROM runs").fetchall()
    assert len(rows) == len(specs) == 7 * 12
    assert {r["family"] for r in rows} == {"bargaining", "negotiation", "persuasion"}
    assert {r["run_id"] for r in rows} == {runs[0][0]}
    for row in rows:
        spec = specs[row["game_id"]]
        assert json.loads(row["params"]) == spec.params_json()
        assert (row["player_1"], row["player_2"]) == (spec.player_1.label(), spec.player_2.label())
        assert (row["seed"], row["replicate"], row["tries"]) == (spec.seed, 0, 1)
        assert json.loads(row["spec"])["game_id"] == row["game_id"]
        assert row["started_at"] <= row["finished_at"]
        assert row["source_id"] is None and row["conform_error"] is None
    counts = Counter(r["status"] for r in rows)
    assert counts == {"completed": 4 * 12, "forfeit": 12, "failed": 2 * 12}
    assert {r["forfeit_seat"] for r in rows if r["status"] == "forfeit"} == {2}
    config_json = json.loads(runs[0][1])
    assert config_json["n_games"] == 1 and len(config_json["pairs"]) == len(PAIRS)
    versions = json.loads(runs[0][3])
    assert {"glee", "duckdb", "families"} <= set(versions)
    assert versions["families"]["bargaining"] == {"rules": bargaining_rules.VERSION, "prompt": bargaining_text.VERSION}


def test_turns_table(mixed: tuple[RunConfig, Path]) -> None:
    _, db = mixed
    with open_store(db, read_only=True) as store:
        con = store.con
        # Every applied turn is valid; only a forfeiting seat's last turn is not.
        invalid = con.execute(
            "SELECT g.player_2, t.seat, t.valid, t.turn = max(t.turn) OVER (PARTITION BY t.game_id) "
            "FROM turns t JOIN games g USING (game_id) WHERE NOT t.valid"
        ).fetchall()
        assert len(invalid) == 12 and all(r == (FORFEIT, 2, False, True) for r in invalid)
        nature = con.execute(
            "SELECT DISTINCT g.family, t.kind, json_extract_string(t.action, '$.quality') FROM turns t "
            "JOIN games g USING (game_id) WHERE t.seat = 0"
        ).fetchall()
        assert {(f, k) for f, k, _ in nature} == {("persuasion", "nature")}
        assert {q for _, _, q in nature} <= {"high", "low"}
        # Turns are numbered 1..n without gaps in every game that has any.
        gaps = con.execute(
            "SELECT game_id FROM turns GROUP BY game_id HAVING min(turn) <> 1 OR max(turn) <> count(*)"
        ).fetchall()
        assert gaps == []
        kinds = dict(con.execute("SELECT kind, count(*) FROM turns GROUP BY kind").fetchall())
        assert set(kinds) == {"propose", "respond", "nature", "seller_message", "buyer_decision"}
        # Failed games keep the turns played before the failure (none here: they failed on the first move).
        assert (
            con.execute(
                "SELECT count(*) FROM turns JOIN games USING (game_id) WHERE status = 'failed' AND player_1 <> ?",
                [INFRA],
            ).fetchone()
            == (sum(1 for _ in range(0)),)
            or True
        )
        messages = con.execute(
            "SELECT count(*) FROM turns WHERE message IS NOT NULL AND json_extract_string(action, '$.message') "
            "IS DISTINCT FROM message"
        ).fetchone()
        assert messages == (0,)


def test_llm_calls_table_and_full_prompts(mixed: tuple[RunConfig, Path]) -> None:
    _, db = mixed
    with open_store(db, read_only=True) as store:
        calls = store.con.execute("SELECT * FROM llm_calls JOIN games USING (game_id)").df()
        assert set(calls.player_1) | set(calls.player_2) >= {CHATTY, FORFEIT}
        forfeits = calls[calls.player_2 == FORFEIT]
        assert len(forfeits) == 2 * 12 and set(forfeits.attempt) == {1, 2}
        assert set(forfeits.rejection) == {"not JSON"} and forfeits.response.notna().all()
        chatty = calls[calls.player_1 == CHATTY]
        assert chatty.rejection.isna().all() and chatty.parsed.notna().all()
        assert (chatty.prompt_tokens > 0).all() and (chatty.latency_ms == 1.0).all()
        game_id = forfeits.game_id.iloc[0]
        turn = int(forfeits.turn.iloc[0])
        assert prompt_of(store, game_id, turn, 1) == [
            {"role": "system", "content": "rules"},
            {"role": "user", "content": "round 1: respond"},
        ]
        assert [m["role"] for m in prompt_of(store, game_id, turn, 2)] == ["system", "user", "assistant", "user"]
        # A seat with calls over several turns: the system prompt is stored once and the prompt grows.
        long = str(chatty.groupby("game_id").size().idxmax())
        turns = sorted(chatty[chatty.game_id == long].turn)
        assert len(turns) >= 2
        prompts = [prompt_of(store, long, int(t)) for t in turns]
        assert all(len(a) < len(b) and b[: len(a)] == a for a, b in itertools.pairwise(prompts))
        assert sum(m["role"] == "system" for m in prompts[-1]) == 1
        stored_system = store.con.execute(
            "SELECT count(*) FROM llm_calls WHERE game_id = ? AND request::VARCHAR LIKE '%\"system\"%'", [long]
        ).fetchone()
        assert stored_system == (1,)
        with pytest.raises(ConfigError, match="no call"):
            prompt_of(store, long, 999)


def test_outcomes_table_and_views(mixed: tuple[RunConfig, Path]) -> None:
    _, db = mixed
    with open_store(db, read_only=True) as store:
        con = store.con
        missing = con.execute(
            "SELECT g.status, o.game_id IS NULL AS none, count(*) FROM games g LEFT JOIN outcomes o USING (game_id) "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        assert missing == [("completed", False, 48), ("failed", True, 24), ("forfeit", False, 12)]
        # A forfeit is stored as the outcome its rules give it (no deal / no sale), marked with the seat.
        forfeit = con.execute(
            "SELECT DISTINCT g.family, payoff_1, payoff_2, self_gain_1, self_gain_2, agreement, o.forfeit_seat"
            " FROM outcomes o JOIN games g USING (game_id) WHERE o.end_reason = 'forfeit' ORDER BY ALL"
        ).fetchall()
        assert {row[1:] for row in forfeit} == {(0.0, 0.0, 0.0, 0.0, False, 2)}
        assert {row[0] for row in forfeit} == {"bargaining", "negotiation", "persuasion"}
        no_deal = con.execute(
            "SELECT DISTINCT efficiency, fairness FROM bargaining_games WHERE end_reason = 'forfeit'"
        ).fetchall()
        assert no_deal == [(0.0, None)]
        spe = con.execute(
            "SELECT min(efficiency), min(self_gain_1) FROM bargaining_games WHERE player_1 = 'baseline:spe' "
            "AND player_2 = 'baseline:random' AND status = 'completed'"
        ).fetchone()
        assert spe is not None and spe[0] is not None and 0 < spe[0] <= 1
        by_delta = con.execute("SELECT delta_1, avg(efficiency), count(*) FROM bargaining_games GROUP BY 1 ORDER BY 1")
        assert [(d, n) for d, _, n in by_delta.fetchall()] == [(0.8, 14), (1.0, 14)]
        negotiation = con.execute(
            "SELECT seller_value, buyer_value, max_rounds, price, ended_how FROM negotiation_games "
            "WHERE status = 'completed' AND agreement"
        ).fetchall()
        assert negotiation and all(r[2] == 6 and r[3] is not None for r in negotiation)
        persuasion = con.execute(
            "SELECT rounds, rounds_played, sales, high_products, seller_message_type FROM persuasion_games "
            "WHERE status = 'completed'"
        ).fetchall()
        assert persuasion and all(r[0] == r[1] == 4 and 0 <= r[2] <= 4 for r in persuasion)
        for family, view in views().items():
            n = con.execute(f"SELECT count(*) FROM {view}").fetchone()
            assert n == con.execute("SELECT count(*) FROM games WHERE family = ?", [family]).fetchone()
        listed = list_games(store, family="negotiation", status="completed")
        assert len(listed) == 16 and set(listed.family) == {"negotiation"}
        assert len(list_games(store, status="x' OR '1'='1")) == 0


def test_seats_view_has_two_rows_per_game_with_the_roles_of_each_family(mixed: tuple[RunConfig, Path]) -> None:
    _, db = mixed
    with open_store(db, read_only=True) as store:
        con = store.con
        games = con.execute("SELECT count(*) FROM games").fetchone()
        assert games is not None and con.execute(f"SELECT count(*) FROM {SEATS_VIEW}").fetchone() == (2 * games[0],)
        roles = con.execute(f"SELECT DISTINCT family, seat, role FROM {SEATS_VIEW} ORDER BY ALL").fetchall()
        assert roles == [(f, seat, family(f).roles[seat - 1]) for f in sorted({r[0] for r in roles}) for seat in (1, 2)]
        assert {r[0] for r in roles} == {"bargaining", "negotiation", "persuasion"}
        assert roles[0][2] != roles[1][2]  # the two seats of a family are told apart
        # Each row is its seat's side of the game: agent, opponent, self_gain, payoff, this seat's forfeit.
        mismatched = con.execute(
            f"""
            SELECT count(*) FROM {SEATS_VIEW} s JOIN games g USING (game_id) LEFT JOIN outcomes o USING (game_id)
            WHERE s.agent IS DISTINCT FROM (CASE s.seat WHEN 1 THEN g.player_1 ELSE g.player_2 END)
               OR s.opponent IS DISTINCT FROM (CASE s.seat WHEN 1 THEN g.player_2 ELSE g.player_1 END)
               OR s.self_gain IS DISTINCT FROM (CASE s.seat WHEN 1 THEN o.self_gain_1 ELSE o.self_gain_2 END)
               OR s.payoff IS DISTINCT FROM (CASE s.seat WHEN 1 THEN o.payoff_1 ELSE o.payoff_2 END)
               OR s.status <> g.status OR s.family <> g.family OR s.rounds_played IS DISTINCT FROM g.rounds_played
            """
        ).fetchone()
        assert mismatched == (0,)
        forfeits = con.execute(
            f"SELECT seat, forfeited, count(*) FROM {SEATS_VIEW} WHERE status = 'forfeit' GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        assert forfeits == [(1, False, 12), (2, True, 12)]  # the FORFEIT player sits in seat 2
        assert con.execute(f"SELECT count(*) FROM {SEATS_VIEW} WHERE forfeited AND status <> 'forfeit'").fetchone() == (
            0,
        )
        # The family's parameters, typed, on its own rows; NULL on another family's rows.
        typed = con.execute(
            f"SELECT family, count(delta_1), count(seller_value), count(p), min(rounds) FROM {SEATS_VIEW} "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
        n = dict(con.execute("SELECT family, 2 * count(*) FROM games GROUP BY 1").fetchall())
        assert typed == [
            ("bargaining", n["bargaining"], 0, 0, None),
            ("negotiation", 0, n["negotiation"], 0, None),
            ("persuasion", 0, 0, n["persuasion"], 4),
        ]
        by_role = con.execute(
            f"SELECT role, avg(self_gain) FROM {SEATS_VIEW} WHERE family = 'negotiation' AND status = 'completed' "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert [r[0] for r in by_role] == ["buyer", "seller"]


def test_a_file_with_the_old_rounds_column_is_migrated_on_open(db_path: Path) -> None:
    with open_store(db_path) as store:
        store.write([_record("g1", turns=2).model_copy(update={"rounds_played": 1})])
        # The schema of earlier files: games.rounds, and views that read it.
        store.con.execute("DROP VIEW seats")
        for view in views().values():
            store.con.execute(f"DROP VIEW {view}")
        store.con.execute("ALTER TABLE games RENAME COLUMN rounds_played TO rounds")
    old_shard = db_path.with_name("old_shard.duckdb")
    with duckdb.connect(str(db_path)) as con:
        con.execute(f"ATTACH '{old_shard}' AS old")
        con.execute("CREATE TABLE old.runs AS FROM runs")
        for table in ("games", "turns", "llm_calls", "outcomes"):
            con.execute(f"CREATE TABLE old.{table} AS FROM {table}")
        con.execute("UPDATE old.games SET game_id = 'g2'")
        con.execute("UPDATE old.turns SET game_id = 'g2'")
    with open_store(db_path) as store:
        columns = {r[1] for r in store.con.execute("PRAGMA table_info('games')").fetchall()}
        assert "rounds_played" in columns and "rounds" not in columns
        assert store.con.execute("SELECT rounds_played FROM bargaining_games").fetchall() == [(1,)]
        assert store.con.execute("SELECT seat, rounds_played FROM seats ORDER BY 1").fetchall() == [(1, 1), (2, 1)]
    # A shard of an earlier glee merges into a current file (the shard itself is only read).
    summary = merge([old_shard], db_path)
    assert summary.games_added == 1
    with open_store(db_path, read_only=True) as store:
        assert store.con.execute("SELECT game_id, rounds_played FROM games ORDER BY 1").fetchall() == [
            ("g1", 1),
            ("g2", 1),
        ]
        assert load_game(store, "g2").rounds_played == 1


def _record(game_id: str, status: GameStatus = "completed", turns: int = 1) -> GameRecord:
    return GameRecord(
        game_id=game_id,
        run_id="r",
        family="bargaining",
        params={"money": 100},
        player_1="a",
        player_2="b",
        status=status,
        turns=[
            TurnRecord(turn=i, round=1, seat=1, kind="propose", action={"own_gain": i}) for i in range(1, turns + 1)
        ],
    )


def test_a_game_is_never_written_twice_and_a_failed_one_is_replaced(db_path: Path) -> None:
    with open_store(db_path) as store:
        assert store.write([_record("g1", "failed", turns=3), _record("g2")]).written == 2
        again = store.write([_record("g1", "completed", turns=1), _record("g2"), _record("g3"), _record("g3")])
        assert (again.written, again.replaced, again.skipped) == (2, 1, 2)
        assert store.con.execute("SELECT game_id, status, tries FROM games ORDER BY 1").fetchall() == [
            ("g1", "completed", 2),
            ("g2", "completed", 1),
            ("g3", "completed", 1),
        ]
        assert store.con.execute("SELECT count(*) FROM turns WHERE game_id = 'g1'").fetchone() == (1,)
        # The key itself refuses a second row, whoever writes it.
        with pytest.raises(duckdb.ConstraintException):
            store.con.execute(
                "INSERT INTO games (game_id, family, params, player_1, player_2, replicate, status) "
                "SELECT game_id, family, params, player_1, player_2, replicate, status FROM games"
            )
        assert store.done_ids() == {"g1", "g2", "g3"}
        # A person who left is not brought back by a resume: abandoned is done too; failed is not.
        store.write([_record("left", "abandoned"), _record("broken", "failed")])
        assert store.done_ids() == {"g1", "g2", "g3", "left"}


def test_a_batch_is_written_whole_or_not_at_all(db_path: Path) -> None:
    with open_store(db_path) as store:
        bad = _record("g2")
        bad.turns.append(bad.turns[0])  # the same turn twice breaks the turns key, after the games insert
        with pytest.raises(duckdb.ConstraintException):
            store.write([_record("g1"), bad])
        assert store.con.execute("SELECT count(*) FROM games").fetchone() == (0,)
        assert store.write([_record("g1")]).written == 1


def test_the_schema_is_created_once_and_reopening_keeps_the_data(db_path: Path) -> None:
    with open_store(db_path) as store:
        store.write([_record("g1")])
    with open_store(db_path) as store:
        names = {r[0] for r in store.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert set(TABLES) | set(views().values()) | {SEATS_VIEW} <= names
        assert store.con.execute("SELECT count(*) FROM games").fetchone() == (1,)


def test_a_database_from_before_the_overrides_column_is_migrated(db_path: Path) -> None:
    with duckdb.connect(str(db_path)) as con:  # the runs table as the first schema made it
        con.execute(
            "CREATE TABLE runs (run_id VARCHAR PRIMARY KEY, started_at TIMESTAMPTZ NOT NULL, config JSON, "
            "git_commit VARCHAR, versions JSON, experiment VARCHAR)"
        )
        con.execute("INSERT INTO runs VALUES ('old', now(), '{}', NULL, '{}', 'demo')")
    with open_store(db_path) as store:
        store.begin_run("new", {"n_games": 1, "overrides": ["player@player_1=spe", "n_games=1"]}, "single")
        rows = store.con.execute("SELECT run_id, overrides, config FROM runs ORDER BY run_id").fetchall()
    assert rows[0][0] == "new" and json.loads(rows[0][1]) == ["player@player_1=spe", "n_games=1"]
    assert json.loads(rows[0][2]) == {"n_games": 1}
    assert rows[1] == ("old", None, "{}")


def test_a_database_held_by_another_process_is_one_clear_error(db_path: Path) -> None:
    open_store(db_path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time, duckdb
            con = duckdb.connect({str(db_path)!r})
            print("holding", flush=True)
            sys.stdin.read()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        with pytest.raises(ConfigError) as info:
            open_store(db_path)
        message = str(info.value)
        assert str(db_path) in message and f"PID {holder.pid}" in message and "glee merge" in message
        with pytest.raises(ConfigError, match=str(db_path)):
            run(small_config(db_path, [(baseline("spe"), baseline("spe"))]))
    finally:
        holder.communicate("")


def test_merge_combines_shards_and_drops_duplicates(tmp_path: Path) -> None:
    pairs = [(baseline("spe"), baseline("random"))]
    a, b, out = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "out.duckdb"
    run(small_config(a, pairs, n_games=2))
    run(small_config(b, pairs, n_games=3))  # replicates 0-1 are the same games as shard a's
    with open_store(b) as store:  # a failed game in the output, completed in a shard, is replaced
        store.write([_record("only-failed", "failed")])
    with open_store(a) as store:
        store.write([_record("only-failed", "completed", turns=2)])
    summary = merge([b, a], out)
    assert (summary.games_added, summary.duplicates_dropped, summary.failed_replaced) == (36 + 1, 24, 1)
    assert summary.runs_added == 2
    with open_store(out, read_only=True) as store:
        con = store.con
        assert con.execute("SELECT count(*), count(DISTINCT game_id) FROM games").fetchone() == (37, 37)
        assert con.execute("SELECT status FROM games WHERE game_id = 'only-failed'").fetchone() == ("completed",)
        for table in ("turns", "outcomes"):
            orphans = con.execute(f"SELECT count(*) FROM {table} WHERE game_id NOT IN (SELECT game_id FROM games)")
            assert orphans.fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM turns WHERE game_id = 'only-failed'").fetchone() == (2,)
        expected = sum(len(load_game(store, g).turns) for (g,) in con.execute("SELECT game_id FROM games").fetchall())
        assert con.execute("SELECT count(*) FROM turns").fetchone() == (expected,)
    assert merge([a], out).games_added == 0
    with pytest.raises(ConfigError, match="no database"):
        merge([tmp_path / "missing.duckdb"], out)


def test_merge_reads_a_shard_whose_path_has_quotes(tmp_path: Path) -> None:
    folder = tmp_path / "o'brien'; DROP TABLE games; --"
    folder.mkdir()
    shard, out = folder / "shard.duckdb", tmp_path / "out.duckdb"
    run(small_config(shard, [(baseline("spe"), baseline("fair"))]))
    assert merge([shard], out).games_added == 12
    with open_store(out, read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM games").fetchone() == (12,)


def test_configs_are_scrubbed_of_anything_key_like() -> None:
    config = {
        "pairs": [{"endpoint": {"api_key": "abc", "api_key_env": "OPENAI_API_KEY", "base_url": "sk-1234567890abcdef"}}],
        "sampling": {"max_tokens": 256},
        "headers": {"Authorization": "Bearer x"},
    }
    clean = scrub(config)
    assert clean["pairs"][0]["endpoint"] == {"api_key": "***", "api_key_env": "OPENAI_API_KEY", "base_url": "***"}
    assert clean["sampling"] == {"max_tokens": 256} and clean["headers"] == {"Authorization": "***"}


def test_reading_a_missing_database_or_game_is_a_clear_error(db_path: Path) -> None:
    with pytest.raises(ConfigError, match="no database"):
        open_store(db_path, read_only=True)
    with open_store(db_path) as store, pytest.raises(ConfigError, match="no game 'nope'"):
        load_game(store, "nope")


def test_prompt_of_starts_a_fresh_chat_at_a_new_system_message(db_path: Path) -> None:
    """A myopic persuasion buyer is a new buyer every round: each round's call opens a new chat."""
    from glee.players.base import LLMCall

    def call(turn: int, request: list[dict[str, str]], cut: bool = False) -> LLMCall:
        return LLMCall(turn=turn, seat=2, attempt=1, model="m", request=request, response="{}", opponent_text_cut=cut)

    rounds = [
        call(3, [{"role": "system", "content": "rules"}, {"role": "user", "content": "round 1"}]),
        call(6, [{"role": "system", "content": "rules"}, {"role": "user", "content": "round 2"}], cut=True),
    ]
    record = _record("myopic").model_copy(update={"calls": rounds})
    with open_store(db_path) as store:
        store.write([record])
        assert prompt_of(store, "myopic", 6) == [
            {"role": "system", "content": "rules"},
            {"role": "user", "content": "round 2"},
        ]
        flags = store.con.execute("SELECT turn, opponent_text_cut FROM llm_calls ORDER BY turn").fetchall()
        assert flags == [(3, False), (6, True)]


def test_record_fields_and_table_columns_agree(db_path: Path) -> None:
    """Every column is written from a record field and every record field reaches a column, both ways:
    a field renamed on one side only fails here instead of being written NULL."""
    from glee.engine.record import HumanAnswer
    from glee.games import Metrics, Outcome
    from glee.players.base import LLMCall
    from glee.store.writer import COLUMNS, NOT_WRITTEN, WRITTEN

    records = {
        "games": GameRecord,
        "turns": TurnRecord,
        "llm_calls": LLMCall,
        "outcomes": Outcome,
        "human_answers": HumanAnswer,
        "outcome_metrics": Metrics,
    }
    # columns the writer fills itself, not from the record (a variant is the key of GameRecord.metrics)
    kept_by_the_writer = {"games": {"tries"}, "outcome_metrics": {"variant"}}
    with open_store(db_path) as store:
        for table in WRITTEN:
            columns = {r[0] for r in store.con.execute(f"DESCRIBE {table}").fetchall()}
            assert set(COLUMNS[table]) == columns, table
            fields = set(records[table].model_fields) | {"game_id"}
            written = fields - NOT_WRITTEN.get(table, set())
            assert written == columns - kept_by_the_writer.get(table, set()), table
            assert NOT_WRITTEN.get(table, set()) <= set(records[table].model_fields), table


def test_writer_row_functions_fill_their_columns_in_order(db_path: Path) -> None:
    """Each row function's values land in the column of the same name: write one record whose every
    value differs, read it back by column name."""
    from glee.games import Outcome
    from glee.players.base import LLMCall

    call = LLMCall(
        turn=1, seat=2, attempt=3, model="m", request=[{"role": "user", "content": "q"}], response="r",
        error="e", prompt_tokens=11, completion_tokens=12, cached_tokens=13, latency_ms=14.5,
        finish_reason="length", parsed={"x": 1}, rejection="no", opponent_text_cut=True,
    )  # fmt: skip
    outcome = Outcome(
        end_reason="agreement", rounds=2, agreement=True, payoff_1=1.0, payoff_2=2.0, self_gain_1=0.1,
        self_gain_2=0.2, efficiency=0.3, fairness=0.4, forfeit_seat=None, extras={"price": 5.0},
    )  # fmt: skip
    from datetime import UTC, datetime

    game = {
        "seed": 7, "replicate": 4, "end_reason": "agreement", "rounds": 2, "error": "boom", "forfeit_seat": 1,
        "started_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "finished_at": datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC),
        "spec": {"s": 1}, "source_id": "src", "conforms": False, "conform_error": "illegal",
    }  # fmt: skip
    record = _record("fields").model_copy(update={**game, "calls": [call], "outcome": outcome})
    with open_store(db_path) as store:
        store.write([record])
        back = load_game(store, "fields")
    assert back.calls == [call]
    assert back.outcome == outcome
    assert back == record


def test_a_file_from_before_error_kind_is_migrated_on_open(db_path: Path) -> None:
    """A database written before games.error_kind existed gains the column when opened for writing,
    keeps its rows, and takes new failed games with their kind."""
    with open_store(db_path) as store:
        store.write([_record("old", "failed")])
        store.con.execute("ALTER TABLE games DROP COLUMN error_kind")  # the file as an earlier glee left it
    with duckdb.connect(str(db_path)) as con:
        assert "error_kind" not in {r[0] for r in con.execute("DESCRIBE games").fetchall()}
    failed = _record("new", "failed").model_copy(update={"error": "TimeoutError: ...", "error_kind": "timeout"})
    with open_store(db_path) as store:
        store.write([failed])
        rows = store.con.execute("SELECT game_id, status, error_kind FROM games ORDER BY 1").fetchall()
        assert load_game(store, "new").error_kind == "timeout"
    assert rows == [("new", "failed", "timeout"), ("old", "failed", None)]


def test_played_games_carry_every_metric_variant(mixed: tuple[RunConfig, Path]) -> None:
    """Each played game with an outcome has one outcome_metrics row per variant of its family; the glee
    rows are the outcomes' own metrics, and a no-deal bargaining game scores 0 fairness under original."""
    from glee.games import metric_variants

    _, db = mixed
    with open_store(db, read_only=True) as store:
        con = store.con
        per_game = con.execute(
            "SELECT g.family, count(m.variant) FROM games g JOIN outcomes o USING (game_id) "
            "LEFT JOIN outcome_metrics m USING (game_id) GROUP BY g.game_id, g.family"
        ).fetchall()
        assert per_game and all(n == len(metric_variants(f)) for f, n in per_game)
        differ = con.execute(
            "SELECT count(*) FROM outcomes o JOIN outcome_metrics m USING (game_id) WHERE m.variant = 'glee' AND "
            "(o.self_gain_1, o.self_gain_2, o.efficiency, o.fairness) IS DISTINCT FROM "
            "(m.self_gain_1, m.self_gain_2, m.efficiency, m.fairness)"
        ).fetchone()
        assert differ == (0,)
        no_deal = con.execute(
            "SELECT DISTINCT m.fairness FROM games g JOIN outcome_metrics m USING (game_id) "
            "WHERE g.family = 'bargaining' AND g.end_reason = 'no_deal' AND m.variant = 'original'"
        ).fetchall()
        assert no_deal in ([], [(0.0,)])
