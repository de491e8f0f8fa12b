"""Import of the original GLEE data: the six real games, broken folders, quirks, importing twice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from glee.analysis.frames import load_games, load_turns
from glee.errors import ConfigError
from glee.store.glee_import import import_game_id, import_glee

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "glee_samples"
IDS = {
    "0003852CF8408F00": "bargaining",
    "0043BAB60C08E66A": "bargaining",
    "074B169DA9A84299": "negotiation",
    "0A648D1DFE3B4C5E": "negotiation",
    "05FD369904ABE9E3": "persuasion",
    "0E5BC24931B7FCFB": "persuasion",
}


def folder_of(root: Path, game_id: str) -> Path:
    return root / IDS.get(game_id, "bargaining") / game_id[0] / game_id[1] / game_id[2] / game_id


def copy_game(root: Path, game_id: str, new_id: str | None = None) -> Path:
    """A copy of one real game under `root` (optionally under another id) to modify."""
    target = root / IDS[game_id] / (new_id or game_id)
    shutil.copytree(folder_of(SAMPLES, game_id), target)
    return target


def table_counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("runs", "games", "turns", "outcomes")
        }  # type: ignore[index]
    finally:
        con.close()


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("import") / "glee.duckdb"
    summary = import_glee(SAMPLES, db)
    assert (summary.found, summary.imported, summary.conforming, summary.malformed) == (6, 6, 0 + 6, 0)
    return db


def by_source(db: Path) -> dict[str, dict[str, object]]:
    games = load_games(db)
    return {row["source_id"]: row for row in games.to_dict("records")}


def test_six_real_games_conform_with_hand_worked_metrics(imported: Path) -> None:
    games = by_source(imported)
    assert set(games) == set(IDS)
    for source, game in games.items():
        assert game["conforms"] is True and game["conform_error"] is None, source
        assert game["status"] == "completed" and game["game_id"] == import_game_id(IDS[source], source)
    expected = {
        # Old layout (δ in player_N_args, both 1.0), M = 10 000. Bob's round-4 offer 6000/4000 is accepted:
        # s = 0.6, δ^3 = 1 -> self-gains 0.6 and 0.4, efficiency 1, fairness 1 - 4·0.1² = 0.96.
        "0003852CF8408F00": ("agreement", 4, 0.6, 0.4, 1.0, 0.96, 6000.0, 4000.0),
        # New layout δ1 = 1, δ2 = 0.8, M = 100: 50/50 accepted in round 1 (no discount yet): fairness 1.
        "0043BAB60C08E66A": ("agreement", 1, 0.5, 0.5, 1.0, 1.0, 50.0, 50.0),
        # F_A = 1, F_B = 1.2, M = 10 000: 8000 accepted in round 2, p = 0.8: seller 0.8 - 1 = -0.2,
        # buyer 1.2 - 0.8 = 0.4; traded with F_B > F_A: efficiency 1; fairness 1 - 4·(0.8 - 1.1)² = 0.64.
        "074B169DA9A84299": ("agreement", 2, -0.2, 0.4, 1.0, 0.64, -2000.0, 4000.0),
        # F_A = F_B = 1, M = 100: 110 accepted in round 1, p = 1.1: seller 0.1, buyer -0.1;
        # F_A = F_B: efficiency 1; fairness 1 - 4·(1.1 - 1)² = 0.96.
        "0A648D1DFE3B4C5E": ("agreement", 1, 0.1, -0.1, 1.0, 0.96, 10.0, -10.0),
        # p = 0.8, v = 1.25, P = 1e6, binary. High rounds 1 2 4-11 13 14 16 18 19 (n = 15), low 3 12 15 17 20.
        # Bought 1 3 6-11 13-17 19 20 (15 sales); high bought k = 11; low unsold r = 1 (round 12).
        # Efficiency 11/15, fairness 1/5, seller 15/20, buyer (11·0.25 + 4·(0 - 1))/20 = -0.0625.
        "05FD369904ABE9E3": ("deadline", 20, 0.75, -0.0625, 11 / 15, 0.2, 15e6, -1.25e6),
        # p = 0.5, v = 2, P = 100, text, myopic. High rounds 1 4 5 7 11 12 17 18 19 (n = 9), the other
        # 11 low; the buyer bought every round: seller 20/20 = 1, efficiency 9/9 = 1, fairness 0/11 = 0,
        # buyer (9·(2 - 1) + 11·(0 - 1))/20 = -0.1; payoffs 2000 and -200.
        "0E5BC24931B7FCFB": ("deadline", 20, 1.0, -0.1, 1.0, 0.0, 2000.0, -200.0),
    }
    for source, (end, rounds, g1, g2, eff, fair, pay1, pay2) in expected.items():
        game = games[source]
        assert (game["end_reason"], game["rounds_played"]) == (end, rounds), source
        got = [game[k] for k in ("self_gain_1", "self_gain_2", "efficiency", "fairness", "payoff_1", "payoff_2")]
        assert got == pytest.approx([g1, g2, eff, fair, pay1, pay2]), source


def test_agents_are_labelled_human_and_gemini(imported: Path) -> None:
    games = by_source(imported)
    assert (games["0003852CF8408F00"]["player_1"], games["0003852CF8408F00"]["player_2"]) == (
        "human",
        "gemini-1.5-flash",
    )
    # The LLM sold in 0A648D1DFE3B4C5E.
    assert (games["0A648D1DFE3B4C5E"]["player_1"], games["0A648D1DFE3B4C5E"]["player_2"]) == (
        "gemini-1.5-flash",
        "human",
    )


def test_parameters_come_from_both_layouts_and_the_cv_quirk(imported: Path) -> None:
    games = by_source(imported)
    old, new = games["0003852CF8408F00"], games["0043BAB60C08E66A"]
    assert (old["delta_1"], old["delta_2"], old["money"]) == (1.0, 1.0, 10_000.0)
    assert (new["delta_1"], new["delta_2"], new["money"]) == (1.0, 0.8, 100.0)
    text = games["0E5BC24931B7FCFB"]
    assert (text["v"], text["c"], text["myopic_buyer"], text["seller_message_type"]) == (2.0, 0.0, True, "text")


def test_turns_keep_numeric_looking_messages_as_text(imported: Path) -> None:
    game_id = import_game_id("persuasion", "0E5BC24931B7FCFB")
    turns = load_turns(imported, game_id)
    assert len(turns) == 60  # Nature, seller, buyer in each of 20 rounds
    seller = turns[turns["seat"] == 1]
    assert set(seller["message"]) == {"100"}
    assert seller["action"].iloc[0] == {"message": "100", "recommend": None}
    bargaining = load_turns(imported, import_game_id("bargaining", "0003852CF8408F00"))
    assert bargaining["action"].iloc[0]["own_gain"] == 7354.0 and bargaining["message"].iloc[0] == "Good"
    assert bargaining["action"].iloc[2]["own_gain"] == 5000.0  # Bob's own gain in round 2


def test_importing_twice_adds_nothing(tmp_path: Path) -> None:
    db = tmp_path / "twice.duckdb"
    first = import_glee(SAMPLES, db)
    counts = table_counts(db)
    second = import_glee(SAMPLES, db)
    assert (first.imported, second.imported, second.already_present) == (6, 0, 6)
    assert second.run_id is None
    assert table_counts(db) == counts
    assert counts["runs"] == 1 and counts["games"] == 6


def write_csv(folder: Path, text: str) -> None:
    (folder / "game.csv").write_bytes(text.encode())


def test_broken_folders_are_skipped_with_a_reason_and_never_stop_the_import(tmp_path: Path) -> None:
    root = tmp_path / "data"
    copy_game(root, "0043BAB60C08E66A")  # one good game among the broken ones
    (copy_game(root, "0003852CF8408F00", "NOCONFIG") / "config.json").unlink()
    (copy_game(root, "0003852CF8408F00", "NOCSV") / "game.csv").unlink()
    write_csv(
        copy_game(root, "0003852CF8408F00", "BADCSV"), 'alice_gain,bob_gain,message,player,round,decision\n1,2,"open\n'
    )
    write_csv(
        copy_game(root, "0003852CF8408F00", "NOCOLUMN"), "alice_gain,message,player,round,decision\n1,x,Alice,1,\n"
    )
    write_csv(copy_game(root, "0003852CF8408F00", "EMPTY"), "")
    (copy_game(root, "0003852CF8408F00", "NOTJSON") / "config.json").write_text("{not json")
    unknown = copy_game(root, "0003852CF8408F00", "UNKNOWN")
    config = json.loads((unknown / "config.json").read_text())
    (unknown / "config.json").write_text(json.dumps({**config, "game_type": "auction"}))
    badargs = copy_game(root, "0003852CF8408F00", "BADARGS")
    config["game_args"]["money_to_divide"] = -5
    (badargs / "config.json").write_text(json.dumps(config))

    db = tmp_path / "broken.duckdb"
    summary = import_glee(root, db)
    reasons = {Path(s.path).name: s.reason for s in summary.skipped}
    assert (summary.found, summary.imported, summary.malformed) == (9, 1, 8)
    assert reasons["NOCONFIG"] == "no config.json"
    assert reasons["NOCSV"] == "no game.csv"
    assert "not valid CSV" in reasons["BADCSV"]
    assert "bob_gain" in reasons["NOCOLUMN"]
    assert "empty" in reasons["EMPTY"]
    assert "not JSON" in reasons["NOTJSON"]
    assert "'auction'" in reasons["UNKNOWN"] and "bargaining" in reasons["UNKNOWN"]
    assert "money" in reasons["BADARGS"]
    assert table_counts(db)["games"] == 1


def test_transcripts_the_rules_refuse_are_stored_as_nonconforming(tmp_path: Path) -> None:
    root = tmp_path / "data"
    header = "alice_gain,bob_gain,message,player,round,decision\n"
    # Bob answers before anyone proposed.
    write_csv(
        copy_game(root, "0043BAB60C08E66A", "OUTOFTURN"), header + ",,None,Bob,1,accept\n50.0,50.0,x,Alice,1,None\n"
    )
    # 60 + 50 is not M = 100.
    write_csv(copy_game(root, "0043BAB60C08E66A", "BADSUM"), header + "60.0,50.0,x,Alice,1,None\n,,None,Bob,1,accept\n")
    # The transcript stops while an offer awaits an answer.
    write_csv(copy_game(root, "0043BAB60C08E66A", "UNFINISHED"), header + "60.0,40.0,x,Alice,1,None\n")
    # A row after the accepted offer.
    write_csv(
        copy_game(root, "0043BAB60C08E66A", "AFTEREND"),
        header + "60.0,40.0,x,Alice,1,None\n,,None,Bob,1,accept\n50.0,50.0,y,Bob,2,None\n",
    )
    # A negotiation buyer selling to Jhon: the seller's outside option.
    neg = copy_game(root, "074B169DA9A84299", "WRONGOPTION")
    write_csv(neg, "message,product_price,player,round,decision\nhi,50.0,Alice,1,\n,,Bob,1,SellToJhon\n")
    db = tmp_path / "refused.duckdb"
    summary = import_glee(root, db)
    assert (summary.imported, summary.nonconforming, summary.conforming, summary.malformed) == (5, 5, 0, 0)
    games = by_source(db)
    errors = {source: str(game["conform_error"]) for source, game in games.items()}
    assert "out of turn" in errors["OUTOFTURN"]
    assert "60 + 50 = 110, not M = 100" in errors["BADSUM"]
    assert "before the game is over" in errors["UNFINISHED"]
    assert "after the game ended" in errors["AFTEREND"]
    assert "other player's outside option" in errors["WRONGOPTION"]
    for game in games.values():
        assert game["conforms"] is False and game["status"] == "failed" and pd.isna(game["self_gain_1"])
    # The refused row is kept, marked invalid, after the legal turns before it.
    turns = load_turns(db, import_game_id("bargaining", "BADSUM"))
    assert list(turns["valid"]) == [False] and turns["action"].iloc[0]["alice_gain"] == "60.0"


def test_quirks_crlf_column_order_none_cells_and_the_older_persuasion_layout(tmp_path: Path) -> None:
    root = tmp_path / "data"
    crlf = copy_game(root, "0003852CF8408F00", "CRLF")
    (crlf / "game.csv").write_bytes((crlf / "game.csv").read_bytes().replace(b"\n", b"\r\n"))
    shuffled = copy_game(root, "074B169DA9A84299", "SHUFFLED")
    write_csv(
        shuffled,
        "decision,round,player,product_price,message\n,1,Alice,50.0,best\nRejectOffer,1,Bob,None,None\n"
        ",2,Bob,8000.0,12345\nAcceptOffer,2,Alice,,nan\n",
    )
    older = copy_game(root, "0E5BC24931B7FCFB", "OLDER")
    config = json.loads((older / "config.json").read_text())
    config["game_args"].update({"v": 0, "c": 2.0})
    (older / "config.json").write_text(json.dumps(config))
    db = tmp_path / "quirks.duckdb"
    summary = import_glee(root, db)
    assert (summary.imported, summary.conforming) == (3, 3), summary
    games = by_source(db)
    assert games["CRLF"]["self_gain_1"] == pytest.approx(0.6)
    assert games["SHUFFLED"]["self_gain_2"] == pytest.approx(0.4)
    assert (games["OLDER"]["v"], games["OLDER"]["c"], games["OLDER"]["self_gain_2"]) == (2.0, 0.0, pytest.approx(-0.1))
    turns = load_turns(db, import_game_id("negotiation", "SHUFFLED"))
    assert turns["message"].iloc[2] == "12345"


def test_a_missing_root_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="root"):
        import_glee(tmp_path / "nowhere", tmp_path / "x.duckdb")


def drop_column(folder: Path, column: str) -> None:
    """Rewrite game.csv without `column`, as the original logger writes it when no action had that field."""
    frame = pd.read_csv(folder / "game.csv", dtype=str, keep_default_na=False)
    frame.drop(columns=[column]).to_csv(folder / "game.csv", index=False)


def test_real_games_without_the_message_column_still_import_and_conform(imported: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    for game_id in IDS:
        drop_column(copy_game(root, game_id), "message")
    db = tmp_path / "nomessage.duckdb"
    summary = import_glee(root, db)
    assert (summary.imported, summary.conforming, summary.malformed) == (6, 6, 0)
    with_messages, without = by_source(imported), by_source(db)
    metrics = ("end_reason", "rounds_played", "self_gain_1", "self_gain_2", "efficiency", "fairness")
    for source in IDS:
        assert [without[source][m] for m in metrics] == [with_messages[source][m] for m in metrics], source
    # The binary persuasion game also reads without its decision-only layout's product_worth column.
    root2 = tmp_path / "data2"
    drop_column(copy_game(root2, "05FD369904ABE9E3"), "product_worth")
    assert import_glee(root2, tmp_path / "noworth.duckdb").conforming == 1


def test_the_llm_vs_llm_layout_and_partial_saves(tmp_path: Path) -> None:
    # Data/<experiment>/<family>/<a>/<b>/<c>/<id>/, and the logger's .partial copy of a game in play.
    root = tmp_path / "Data"
    game = folder_of(root / "exp_one", "0043BAB60C08E66A")
    shutil.copytree(folder_of(SAMPLES, "0043BAB60C08E66A"), game)
    shutil.copytree(folder_of(SAMPLES, "0003852CF8408F00"), game / ".partial")
    other = folder_of(root / "exp_two", "0A648D1DFE3B4C5E")
    shutil.copytree(folder_of(SAMPLES, "0A648D1DFE3B4C5E"), other)
    partial = folder_of(root / "exp_two", "0003852CF8408F00")
    shutil.copytree(folder_of(SAMPLES, "0003852CF8408F00"), partial)
    config = json.loads((partial / "config.json").read_text())
    (partial / "config.json").write_text(json.dumps({**config, "partial": True}))
    summary = import_glee(root, tmp_path / "llm.duckdb")
    assert (summary.found, summary.imported, summary.malformed) == (3, 2, 1)
    assert summary.skip_reasons == {"partial": 1}


def test_links_out_of_the_root_are_never_read_and_big_files_are_refused_unread(tmp_path: Path) -> None:
    import tracemalloc

    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.csv"
    secret.write_text("root:x:0:0:SECRET-LINE:/root:/bin/bash\n" * 3)
    root = tmp_path / "data"
    linked = copy_game(root, "0003852CF8408F00", "LINKED")
    (linked / "game.csv").unlink()
    (linked / "game.csv").symlink_to(secret)
    # A folder link out of the root is not walked into.
    shutil.copytree(folder_of(SAMPLES, "0043BAB60C08E66A"), outside / "0043BAB60C08E66A")
    (root / "bargaining" / "via_link").symlink_to(outside, target_is_directory=True)
    # A link that stays inside the root is read.
    inside = copy_game(root, "0043BAB60C08E66A", "INSIDE")
    (inside / "game.csv").rename(root / "kept.csv")
    (inside / "game.csv").symlink_to(root / "kept.csv")
    # 50 MB of game.csv: refused by its size before a byte is read.
    big = copy_game(root, "0003852CF8408F00", "BIG")
    with (big / "game.csv").open("w") as handle:
        handle.write("alice_gain,bob_gain,message,player,round,decision\n")
        handle.write(("1,2," + "x" * 1000 + ",Alice,1,\n") * 50_000)
    # A header of control characters and a long name: quoted short and clean.
    noisy = copy_game(root, "0003852CF8408F00", "NOISY")
    write_csv(noisy, "player,round,\x1b[31m" + "y" * 500 + "\n1,2,3\n")

    tracemalloc.start()
    summary = import_glee(root, tmp_path / "links.duckdb")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    reasons = {Path(s.path).name: s.reason for s in summary.skipped}
    assert summary.imported == 1 and summary.conforming == 1  # INSIDE
    assert summary.found == 4  # LINKED, INSIDE, BIG, NOISY: via_link is not walked
    assert reasons["LINKED"] == "game.csv is a link out of the import folder; allowed: files inside it"
    assert "SECRET" not in " ".join(reasons.values())
    assert reasons["BIG"].startswith("game.csv has ") and "allowed: at most" in reasons["BIG"]
    assert "\x1b" not in reasons["NOISY"] and len(reasons["NOISY"]) < 250
    assert summary.skip_reasons == {"link_outside": 1, "missing_columns": 1, "too_big": 1}
    assert peak < 30 * 2**20  # the 50 MB file was never loaded


def test_prompt_logs_of_llm_games_go_to_llm_calls(tmp_path: Path) -> None:
    root = tmp_path / "data"
    game = copy_game(root, "0003852CF8408F00", "WITHLOGS")  # 8 rows: Alice 4 turns, Bob 4 turns
    pd.DataFrame(
        {"prompt": ["You are Alice.\nOffer?", "Bob offers 5000, accept?"], "response": ['{"a": 1}', "x"]}
    ).to_csv(game / "log_player_1.csv", index=False)
    # Bob's log has more calls than Bob has turns: the rest are further attempts of his last turn.
    bob = [(f"prompt {i}", f"reply {i}") for i in range(6)]
    pd.DataFrame(bob, columns=["prompt", "response"]).to_csv(game / "log_player_2.csv", index=False)
    db = tmp_path / "logs.duckdb"
    assert import_glee(root, db).conforming == 1
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT c.turn, c.seat, c.attempt, c.model, c.request, c.response, t.seat FROM llm_calls c "
            "JOIN turns t USING (game_id, turn) ORDER BY c.seat, c.turn, c.attempt"
        ).fetchall()
    finally:
        con.close()
    assert len(rows) == 2 + 6
    assert all(r[1] == r[6] for r in rows)  # each call sits on a turn of its own seat
    alice = [r for r in rows if r[1] == 1]
    assert [r[3] for r in alice] == ["human", "human"]
    assert json.loads(alice[0][4]) == [{"role": "user", "content": "You are Alice.\nOffer?"}]
    assert alice[0][5] == '{"a": 1}'
    bob_rows = [r for r in rows if r[1] == 2]
    assert [r[5] for r in bob_rows] == [f"reply {i}" for i in range(6)]
    assert [r[2] for r in bob_rows] == [1, 1, 1, 1, 2, 3]
    assert {r[3] for r in bob_rows} == {"gemini-1.5-flash"}


def test_a_config_half_migrated_between_the_two_delta_layouts(tmp_path: Path) -> None:
    # GLEE's own migration moves δ from player_N_args.delta to game_args.delta_N one seat at a time.
    root = tmp_path / "data"
    game = copy_game(root, "0003852CF8408F00", "HALF")
    config = json.loads((game / "config.json").read_text())
    config["player_1_args"]["delta"] = 0.9
    config["player_2_args"]["delta"] = 0.8
    config["game_args"]["delta_1"] = 0.95  # the newer key wins for seat 1
    config["player_1_args"].pop("delta")
    (game / "config.json").write_text(json.dumps(config))
    db = tmp_path / "half.duckdb"
    assert import_glee(root, db).conforming == 1
    row = by_source(db)["HALF"]
    assert (row["delta_1"], row["delta_2"]) == (0.95, 0.8)
    # Bob's 6000/4000 accepted in round 4: Bob 0.4 · 0.8³ = 0.2048, Alice 0.6 · 0.95³ = 0.514425.
    assert (row["self_gain_1"], row["self_gain_2"]) == pytest.approx((0.514425, 0.2048))


def test_the_command_prints_the_count_per_skip_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from glee.cli import main

    root = tmp_path / "data"
    copy_game(root, "0043BAB60C08E66A")
    (copy_game(root, "0003852CF8408F00", "NOCSV1") / "game.csv").unlink()
    (copy_game(root, "0003852CF8408F00", "NOCSV2") / "game.csv").unlink()
    assert main(["import-glee", str(root), "--db", str(tmp_path / "cli.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "imported 1 of 3 original games" in out
    assert "  2 skipped: no_game_csv" in out
