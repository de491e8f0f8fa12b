"""A game family from outside glee: the ultimatum game of tests/plugins/ultimatum, installed into
the virtualenv by `make setup` and found through the `glee.families` entry point, with no edit to
glee. It is played by `glee run` (baselines, and SmolLM2 on the loopback llama.cpp server),
stored, shown by `glee show`, summarised by metric_table and checked by the conformance kit."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import duckdb
import pytest

from glee.analysis.frames import load_games, seat_frame
from glee.analysis.metrics import metric_table
from glee.analysis.plots import outcome_frame
from glee.games import family, parse_params
from glee.games.conformance import check_family
from glee.prompts import system_prompt, turn_prompt
from tests.support.playout import baseline_chooser

GLEE = [str(Path(sys.executable).parent / "glee")]
SMOLLM2 = "SmolLM2-135M-Instruct@llamacpp"


def glee(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GLEE, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_the_plugin_is_an_installed_entry_point_not_a_glee_module() -> None:
    [point] = [p for p in entry_points(group="glee.families") if p.name == "ultimatum"]
    assert point.value == "glee_ultimatum"
    assert not family("ultimatum").state.__module__.startswith("glee.")


def test_the_conformance_kit_checks_the_plugin_in_one_call() -> None:
    configurations = [{"money": m, "unit": u} for m in (1, 100, 1_000_000) for u in (0.01, 1)]
    for s1, s2 in (("spe", "spe"), ("fair", "fair"), ("random", "random"), ("spe", "fair")):
        assert check_family("ultimatum", baseline_chooser(s1, s2), configurations, seeds=range(3)) == 18
    assert check_family("ultimatum", baseline_chooser("random", "spe")) == 3  # its paper grid


def test_the_plugins_prompts_come_from_its_own_renderer() -> None:
    state = family("ultimatum").state(params=parse_params("ultimatum", {"money": 50}), seed=0)
    obs = state.observation(1)
    assert "divide $50" in system_prompt(obs)
    ask = turn_prompt(obs, [], state.action_model()).text
    assert '"offer": <a whole number from 0 to 50>' in ask


def _show_and_summarise(db: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT game_id, status FROM games WHERE family = 'ultimatum' ORDER BY game_id").fetchall()
        view = con.execute("SELECT count(*), count(offer_share) FROM ultimatum_games").fetchone()
    assert rows and view is not None and view[0] == len(rows)
    shown = glee("show", rows[0][0], "--db", str(db), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "ultimatum" in shown.stdout and "propose" in shown.stdout


def test_glee_run_plays_stores_shows_and_summarises_the_plugin_with_baselines(tmp_path: Path) -> None:
    db = tmp_path / "u.duckdb"
    for responder in ("spe", "fair"):
        result = glee(
            "run",
            "experiment=single",
            "game=ultimatum",
            "grid=paper",
            "player_1=spe",
            f"player_2={responder}",
            "progress=false",
            f"db={db}",
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
    _show_and_summarise(db, tmp_path)
    games = load_games(db, family="ultimatum")
    assert len(games) == 6 and set(games["status"]) == {"completed"}
    # spe vs spe: offer one unit, accepted; spe proposer vs fair responder: rejected (below half).
    spe = games[games["player_2"] == "baseline:spe"]
    assert set(spe["end_reason"]) == {"agreement"}
    assert list(spe["payoff_2"]) == [1.0, 1.0, 1.0]
    assert set(games[games["player_2"] == "baseline:fair"]["end_reason"]) == {"no_deal"}
    table = metric_table(seat_frame(games), resamples=50).set_index(["agent", "seat"])
    assert table.loc[("baseline:spe", 1), "agreement"] == pytest.approx(0.5)
    assert table.loc[("baseline:fair", 2), "self_gain"] == 0.0
    outcomes = outcome_frame(games, "ultimatum")
    assert (outcomes["offer_share"] == outcomes["spe"]).all()  # spe proposals are what theory predicts
    with duckdb.connect(str(db), read_only=True) as con:  # the seats view names the plugin's own roles
        seats = con.execute(
            "SELECT role, count(*) FROM seats WHERE family = 'ultimatum' GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert seats == [("proposer", 6), ("responder", 6)]


@pytest.mark.llm
def test_smollm2_plays_the_plugin_through_glee_run(tmp_path: Path) -> None:
    db = tmp_path / "llm.duckdb"
    result = glee(
        "run",
        "experiment=single",
        "game=ultimatum",
        "player_1=smollm2",
        "player_2=spe",
        "progress=false",
        f"db={db}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        [(gid, p1, status)] = con.execute("SELECT game_id, player_1, status FROM games").fetchall()
        calls = con.execute("SELECT count(*), count(response) FROM llm_calls WHERE game_id = ?", [gid]).fetchone()
    assert p1 == SMOLLM2 and status in ("completed", "forfeit")
    assert calls is not None and calls[0] >= 1 and calls[1] >= 1
    _show_and_summarise(db, tmp_path)
    seats = seat_frame(load_games(db, family="ultimatum"))
    assert set(metric_table(seats, resamples=50)["agent"]) == {SMOLLM2, "baseline:spe"}
