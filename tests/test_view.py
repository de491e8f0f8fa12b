"""`glee view DB` end to end: the viewer in a subprocess on a free loopback port, browsed with a
real headless Chromium (Debian's chromium and chromium-driver, through Selenium, as in test_web)."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from glee.errors import ConfigError
from glee.store import open_store
from glee.view.app import games_page
from tests.support.analysis_db import baseline_database
from tests.support.calls_db import BARGAINING, HOSTILE_REPLY, MODEL_X, NEGOTIATION, REJECTION, calls_database
from tests.support.loopback import free_port
from tests.test_web import GLEE, browser, click, text_of

__all__ = ["browser"]  # the fixture, shared with test_web


@pytest.fixture
def viewed(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A database with model calls and a baseline sweep, served by `glee view`."""
    db = calls_database(tmp_path / "view.duckdb")
    baseline_database(db, n_games=1)
    port = free_port()
    log = tmp_path / "view.log"
    process = subprocess.Popen(
        [GLEE, "view", str(db), "--port", str(port)], cwd=tmp_path, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1) as reply:
                    if reply.read() == b"ok":
                        break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield url, db
    finally:
        process.kill()
        process.wait(10)


def count(db: Path, sql: str, args: list[object] | None = None) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(sql, args or []).fetchone()
    assert row is not None
    return int(row[0])


def rows(driver: webdriver.Chrome) -> list[dict[str, str]]:
    return [
        {
            "family": r.get_attribute("data-family") or "",
            "player_1": r.find_element(By.CLASS_NAME, "player-1").text,
            "player_2": r.find_element(By.CLASS_NAME, "player-2").text,
        }
        for r in driver.find_elements(By.CSS_SELECTOR, "tr.game")
    ]


def test_runs_games_filters_and_one_game_with_its_calls(
    viewed: tuple[str, Path], browser: object, tmp_path: Path
) -> None:
    url, db = viewed
    driver: webdriver.Chrome = browser()  # type: ignore[operator]
    total = count(db, "SELECT count(*) FROM games")

    # Runs: the sweep's run and the run of the call games, each with its game count.
    driver.get(url + "/")
    runs = driver.find_elements(By.CSS_SELECTOR, "tr.run")
    assert len(runs) == 2
    assert sum(int(r.find_elements(By.TAG_NAME, "td")[4].text) for r in runs) == total
    click(driver, By.LINK_TEXT, "calls")
    assert text_of(driver, By.ID, "count") == "2 games"
    driver.save_screenshot(str(tmp_path / "run.png"))

    # Games of every run, then filtered by family, a parameter of that family, an agent and a status.
    driver.get(url + "/games")
    assert text_of(driver, By.ID, "count").startswith(f"{total} games")
    Select(driver.find_element(By.ID, "family")).select_by_value("negotiation")
    click(driver, By.ID, "apply")
    negotiation = count(db, "SELECT count(*) FROM games WHERE family = 'negotiation'")
    assert text_of(driver, By.ID, "count") == f"{negotiation} games"
    assert {r["family"] for r in rows(driver)} == {"negotiation"} and len(rows(driver)) == negotiation
    driver.find_element(By.ID, "param-seller_value").send_keys("0.8")
    click(driver, By.ID, "apply")
    low = count(db, "SELECT count(*) FROM negotiation_games WHERE seller_value = 0.8")
    assert 0 < low < negotiation and text_of(driver, By.ID, "count") == f"{low} games"
    assert {c.text for c in driver.find_elements(By.CSS_SELECTOR, "td.param-seller_value")} == {"0.8"}
    driver.find_element(By.ID, "param-seller_value").clear()
    Select(driver.find_element(By.ID, "agent")).select_by_value(MODEL_X)
    click(driver, By.ID, "apply")
    assert len(rows(driver)) == 1 and rows(driver)[0]["player_1"] == MODEL_X
    driver.get(url + "/games?family=bargaining&status=completed&agent=baseline:spe")
    spe = count(
        db,
        "SELECT count(*) FROM games WHERE family = 'bargaining' AND status = 'completed'"
        " AND 'baseline:spe' IN (player_1, player_2)",
    )
    assert len(rows(driver)) == spe and all("baseline:spe" in (r["player_1"], r["player_2"]) for r in rows(driver))
    driver.get(url + "/games?family=bargaining&param.seller_value=1")
    assert "param.seller_value: not a parameter of bargaining" in text_of(driver, By.ID, "problem")

    # One game: its turns, and under each turn every call with tokens, latency, finish reason, rejection.
    driver.get(url + "/games?agent=" + MODEL_X + "&family=negotiation")
    click(driver, By.LINK_TEXT, NEGOTIATION)
    assert f"player 1 (Alice): {MODEL_X}" in text_of(driver, By.ID, "players")
    turns = driver.find_elements(By.CSS_SELECTOR, "section.turn")
    assert [t.get_attribute("id") for t in turns] == ["turn-1", "turn-2", "turn-3", "turn-4"]
    rejected = driver.find_element(By.ID, "call-1-1")
    assert rejected.find_element(By.CLASS_NAME, "rejection").text == f"rejected: {REJECTION}"
    assert rejected.find_element(By.CLASS_NAME, "tokens").text == "tokens 101 prompt / 11 completion / 0 cached"
    assert rejected.find_element(By.CLASS_NAME, "latency").text == "250 ms"
    assert rejected.find_element(By.CLASS_NAME, "finish").text == "finish length"
    retry = driver.find_element(By.ID, "call-1-2")
    assert retry.find_elements(By.CLASS_NAME, "rejection") == []
    assert retry.find_element(By.CLASS_NAME, "latency").text == "500 ms"
    assert "a fair price" in turns[0].text and len(driver.find_elements(By.CSS_SELECTOR, "div.call")) == 3
    driver.save_screenshot(str(tmp_path / "game.png"))
    click(driver, By.CSS_SELECTOR, "#call-4-1 a.prompt-link")
    messages = driver.find_elements(By.CSS_SELECTOR, "#prompt .message")
    assert len(messages) == 6 and messages[3].text.endswith(f"Invalid: {REJECTION}")

    # Text from the database is shown as text: the reply's markup is neither run nor rendered.
    driver.get(f"{url}/game/{BARGAINING}")
    assert driver.find_element(By.CSS_SELECTOR, "#call-2-1 .reply pre").text == HOSTILE_REPLY
    assert driver.title == f"glee view: game {BARGAINING}"
    assert driver.find_elements(By.CSS_SELECTOR, "main b") == driver.find_elements(By.CSS_SELECTOR, "#players b")

    # Read-only, and only while answering: with the viewer up, a writer can open the file.
    with open_store(db) as store:
        assert store.con.execute("SELECT count(*) FROM games").fetchone() == (total,)


def test_view_of_a_missing_database_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [GLEE, "view", str(tmp_path / "none.duckdb"), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"glee: error: db: no database at {str(tmp_path / 'none.duckdb')!r}"


def test_a_games_page_is_chosen_in_sql_and_says_when_there_are_more(tmp_path: Path) -> None:
    db = calls_database(tmp_path / "page.duckdb")
    baseline_database(db, n_games=1)
    total = count(db, "SELECT count(*) FROM games")
    first, more = games_page(db, {}, rows=10)
    assert len(first) == 10 and more and total > 10
    every, more = games_page(db, {}, rows=total)
    assert len(every) == total and not more
    mine, more = games_page(db, {"agent": MODEL_X})
    assert set(mine["game_id"]) == {NEGOTIATION, BARGAINING} and not more
    assert games_page(db, {"agent": "x' OR '1'='1"})[0].empty
    chosen, _ = games_page(db, {"family": "persuasion", "param.seller_message_type": "binary", "status": "completed"})
    assert len(chosen) == count(
        db, "SELECT count(*) FROM persuasion_games WHERE seller_message_type = 'binary' AND status = 'completed'"
    )
    with pytest.raises(ConfigError, match="family: got 'chess'"):
        games_page(db, {"family": "chess"})
