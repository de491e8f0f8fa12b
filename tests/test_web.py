"""`glee serve-web` end to end: the server in a subprocess on a free loopback port, participants in
a real headless Chromium (Debian's chromium and chromium-driver, through Selenium).

Each test starts its own server with a study written to its tmp dir, plays through the browser,
stops the server (it writes games as they end; stopping releases the database), then reads
the DuckDB file. Screenshots of what a participant sees are saved in the tmp dir.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.web_server import Server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
BROWSER_INSTALL = "sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium chromium-driver"
GLEE = str(Path(sys.executable).with_name("glee"))

THREE_FAMILIES = [
    {"family": "bargaining", "params": {"max_rounds": 3, "money": 100}, "opponent": "spe", "seat": 1},
    {"family": "negotiation", "params": {"max_rounds": 3, "price_scale": 100}, "opponent": "fair", "seat": 2},
    {"family": "persuasion", "params": {"rounds": 2, "price": 100}, "opponent": "spe", "seat": 1},
]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Callable[[], webdriver.Chrome]]:
    drivers: list[webdriver.Chrome] = []

    def open_browser() -> webdriver.Chrome:
        if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
            pytest.fail(f"the browser tests need Chromium: {BROWSER_INSTALL} (as root, `make test` does it)", False)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        profile = tmp_path / f"profile-{len(drivers)}"
        profile.mkdir()
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1000,1300",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(30)
        drivers.append(driver)
        return driver

    yield open_browser
    for driver in drivers:
        with contextlib.suppress(Exception):  # already closed by the test (a closed tab)
            driver.quit()


# A click on a form button returns before the next page has loaded, and a waiting page reloads
# itself every second: every read or click below waits for its element on the current page and
# tries again when the page it found was replaced meanwhile.
_RELOADED = (NoSuchElementException, StaleElementReferenceException)


def text_of(driver: webdriver.Chrome, by: str, value: str, timeout: float = 30) -> str:
    """The text of an element once it is on the page."""
    text: str = WebDriverWait(driver, timeout, ignored_exceptions=_RELOADED).until(
        lambda d: d.find_element(by, value).text
    )
    return text


def wait_until_replaced(driver: webdriver.Chrome, element: WebElement, timeout: float = 30) -> None:
    """Wait until the page that held `element` is gone (after a form was sent)."""

    def gone(_: webdriver.Chrome) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:  # stale, or chromedriver's "node does not belong to the document"
            return True
        return False

    WebDriverWait(driver, timeout).until(gone)


def click(driver: webdriver.Chrome, by: str, value: str, timeout: float = 30) -> None:
    """Click an element once it is on the page, and wait until the click has replaced the page."""
    element = WebDriverWait(driver, timeout, ignored_exceptions=_RELOADED).until(lambda d: d.find_element(by, value))
    element.click()
    wait_until_replaced(driver, element, timeout)


def type_into(driver: webdriver.Chrome, by: str, value: str, text: str, timeout: float = 30) -> None:
    WebDriverWait(driver, timeout, ignored_exceptions=_RELOADED).until(lambda d: d.find_element(by, value)).send_keys(
        text
    )


def shot(driver: webdriver.Chrome, path: Path) -> None:
    """A full-page screenshot (the page's own height), to look at what a participant sees."""
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1000, max(600, min(int(height) + 120, 4000)))
    driver.save_screenshot(str(path))


def start_game(driver: webdriver.Chrome, server: Server, participant: str) -> None:
    driver.get(f"{server.url}/?participant={participant}")
    assert driver.find_element(By.ID, "participant").get_attribute("value") == participant
    click(driver, By.ID, "start")


def family_of(driver: webdriver.Chrome) -> str:
    return text_of(driver, By.CSS_SELECTOR, ".meta").split(" ·")[0].lower()


def wait_for_turn_or_end(driver: webdriver.Chrome, timeout: float = 30) -> str:
    """'you' when asked, 'over' at the end (a waiting page refreshes itself)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.find_elements(By.ID, "your-turn"):
            return "you"
        if driver.find_elements(By.ID, "result"):
            return "over"
        time.sleep(0.2)
        if driver.find_elements(By.ID, "waiting"):
            driver.refresh()
    raise AssertionError(f"stuck on: {driver.page_source[:2000]}")


def answer_turn(driver: webdriver.Chrome, family: str, message: str) -> dict[str, str]:
    """Fill in this turn's form sensibly and send it; what was answered."""
    answered = {}
    for choice in ("accept", "buy", "yes"):
        buttons = driver.find_elements(By.ID, f"choice-{choice}")
        if buttons and buttons[0].tag_name == "button":
            buttons[0].click()
            wait_until_replaced(driver, buttons[0])
            return {"choice": choice}
    for field in driver.find_elements(By.CSS_SELECTOR, "#answer input[type=text]"):
        value = {"bargaining": "55", "negotiation": "110"}.get(family, "50")
        field.send_keys(value)
        answered[field.get_attribute("name") or ""] = value
    for area in driver.find_elements(By.CSS_SELECTOR, "#answer textarea"):
        area.send_keys(message)
        answered[area.get_attribute("name") or ""] = message
    click(driver, By.ID, "send")
    return answered


def play_game(driver: webdriver.Chrome, message: str, shots: Path | None = None) -> tuple[str, int]:
    """Play the game on screen to its end; (family, turns answered)."""
    family = family_of(driver)
    answered = 0
    while wait_for_turn_or_end(driver) == "you":
        if shots is not None and answered in (0, 1):
            shot(driver, shots / f"{family}-turn-{answered + 1}.png")
        answer_turn(driver, family, message)
        answered += 1
    if shots is not None:
        shot(driver, shots / f"{family}-result.png")
    return family, answered


def test_a_participant_plays_a_game_of_each_family(
    serve: Callable[..., Server], browser: Callable, tmp_path: Path
) -> None:
    server = serve(THREE_FAMILIES)
    driver = browser()
    driver.get(f"{server.url}/?participant=alice")
    shot(driver, tmp_path / "welcome.png")
    assert "Play <b>fair</b>." in text_of(driver, By.CSS_SELECTOR, ".instructions")  # escaped, shown as text
    click(driver, By.ID, "start")
    assert text_of(driver, By.ID, "rules").startswith("You are")
    played = []
    for n in range(3):
        family, answered = play_game(driver, "Hello from alice", shots=tmp_path)
        played.append(family)
        assert answered >= 1
        assert text_of(driver, By.ID, "headline")
        if n < 2:
            click(driver, By.ID, "next")
    assert sorted(played) == ["bargaining", "negotiation", "persuasion"]
    assert "every game of this study" in text_of(driver, By.ID, "thanks")
    driver.get(f"{server.url}/?participant=alice")
    click(driver, By.ID, "start")
    assert text_of(driver, By.ID, "heading") == "Thank you!"

    games = server.games()
    assert [g["status"] for g in games] == ["completed"] * 3
    assert sorted(g["family"] for g in games) == sorted(played)
    for g in games:
        spec = json.loads(g["spec"])
        human_seat = 1 if spec["player_1"]["kind"] == "human" else 2
        assert g[f"player_{human_seat}"] == "human:alice"
        assert g[f"player_{3 - human_seat}"] in ("baseline:spe", "baseline:fair")
    messages = server.query("SELECT message FROM turns WHERE message = ?", ["Hello from alice"])
    assert messages, "the participant's messages are stored"


def test_invalid_answers_are_refused_and_shown_escaped(
    serve: Callable[..., Server], browser: Callable, tmp_path: Path
) -> None:
    server = serve(THREE_FAMILIES[:1])
    driver = browser()
    start_game(driver, server, "bob")
    type_into(driver, By.ID, "field-own_gain", "<b>lots</b>")
    type_into(driver, By.ID, "field-message", "<script>alert(1)</script>")
    click(driver, By.ID, "send")
    error = text_of(driver, By.ID, "error")
    assert "give an amount from $0 to $100, as a number, not '<b>lots</b>'" in error
    assert not driver.find_elements(By.CSS_SELECTOR, "#error b")  # the participant's text is not markup
    assert "&lt;b&gt;lots&lt;/b&gt;" in driver.page_source
    shot(driver, tmp_path / "refused.png")
    type_into(driver, By.ID, "field-own_gain", "101")
    click(driver, By.ID, "send")
    assert "out of range" in text_of(driver, By.ID, "error")
    type_into(driver, By.ID, "field-own_gain", "50")
    type_into(driver, By.ID, "field-message", "<script>alert(1)</script>")
    click(driver, By.ID, "send")
    assert wait_for_turn_or_end(driver) in ("you", "over")
    play_game(driver, "ok")
    [game] = server.games()
    assert game["status"] == "completed" and game["player_1"] == "human:bob"
    [(action,)] = server.query("SELECT action FROM turns WHERE game_id = ? AND turn = 1", [game["game_id"]])
    assert json.loads(action) == {"own_gain": 50.0, "message": "<script>alert(1)</script>"}


def test_a_closed_tab_ends_the_game_as_abandoned(
    serve: Callable[..., Server], browser: Callable, tmp_path: Path
) -> None:
    server = serve(THREE_FAMILIES[1:2], inactivity_timeout_s=3)
    driver = browser()
    start_game(driver, server, "carol")
    assert wait_for_turn_or_end(driver) == "you"  # the seller (fair) proposed; carol, the buyer, answers
    click(driver, By.ID, "choice-reject")
    assert wait_for_turn_or_end(driver) == "you"
    game_url = driver.current_url
    driver.quit()  # the participant closes the tab mid-game
    deadline = time.monotonic() + 30
    page = ""
    while time.monotonic() < deadline:
        with urllib.request.urlopen(game_url, timeout=5) as reply:
            page = reply.read().decode()
        if 'id="result"' in page:
            break
        time.sleep(0.5)
    assert "The game was stopped before its end." in page
    [game] = server.games()
    assert game["status"] == "abandoned"
    assert game["player_2"] == "human:carol" and game["end_reason"] is None
    assert "no answer from the participant for 3 s" in game["error"]
    kinds = server.query("SELECT seat, kind FROM turns WHERE game_id = ? ORDER BY turn", [game["game_id"]])
    assert kinds == [(1, "propose"), (2, "respond")]
    assert server.query("SELECT count(*) FROM outcomes", []) == [(0,)]


def test_two_participants_play_at_once(serve: Callable[..., Server], browser: Callable, tmp_path: Path) -> None:
    server = serve(THREE_FAMILIES[:2])
    first, second = browser(), browser()
    start_game(first, server, "dave")
    start_game(second, server, "erin")
    families = {family_of(first), family_of(second)}
    assert families == {"bargaining", "negotiation"}  # round robin: the next configuration for the next person
    states = {"dave": "you", "erin": "you"}
    drivers = {"dave": first, "erin": second}
    turns = 0
    while any(s == "you" for s in states.values()):  # alternate: each answers one turn, then the other
        for name, driver in drivers.items():
            if states[name] == "you":
                states[name] = wait_for_turn_or_end(driver)
            if states[name] == "you":
                answer_turn(driver, family_of(driver), f"from {name}")
                turns += 1
                states[name] = wait_for_turn_or_end(driver)
    shot(second, tmp_path / "second-participant-result.png")
    games = server.games()
    assert sorted(g["status"] for g in games) == ["completed", "completed"]
    labels = {g["player_1"] if g["player_1"].startswith("human:") else g["player_2"] for g in games}
    assert labels == {"human:dave", "human:erin"}
    assert turns >= 2


PID = "60a1b2c3d4e5f60718293a4b"
LIFECYCLE = {
    "participant_ids": "prolific",
    "consent": "We record your answers for research. You may stop at any time.",
    "quiz": [
        {"question": "Who makes the first offer in a bargaining game?", "choices": ["Alice", "Bob"], "answer": "Alice"}
    ],
    "quiz_attempts": 2,
    "completion": {"code": "C0DE42", "redirect_url": "https://app.prolific.com/submissions/complete?cc={code}"},
    "bonus": {"rate": 2.0, "cap": 5.0, "currency": "GBP"},
}


def test_a_prolific_participant_goes_through_the_whole_study(
    serve: Callable[..., Server], browser: Callable, tmp_path: Path
) -> None:
    import csv
    import io
    import os

    import duckdb
    import httpx2 as httpx  # the HTTP client the openai package brings

    env = {**os.environ, "GLEE_ADMIN_TOKEN": "admin-token-for-the-test"}
    server = serve(THREE_FAMILIES[:2], env=env, **LIFECYCLE)
    driver = browser()
    driver.get(f"{server.url}/?PROLIFIC_PID={PID}&STUDY_ID=study1&SESSION_ID=session1")
    assert "You may stop at any time." in text_of(driver, By.ID, "consent-text")
    assert not driver.find_elements(By.ID, "participant")  # the platform's id, not editable
    driver.find_element(By.ID, "consent").click()
    click(driver, By.ID, "start")
    driver.find_element(By.ID, "q0-1").click()  # Bob: wrong
    click(driver, By.ID, "send")
    assert "1 of 1 answers is not right" in text_of(driver, By.ID, "error")
    driver.find_element(By.ID, "q0-0").click()  # Alice: right
    click(driver, By.ID, "send")

    admin = httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)
    assert admin.get("/admin").status_code == 403
    assert admin.get("/admin", params={"token": "wrong"}).status_code == 403
    assert admin.get("/admin", params={"token": "admin-token-for-the-test"}).status_code == 303
    _, answered = play_game(driver, "first game")
    assert answered >= 1
    monitor = admin.get("/admin").text  # between the two games: one done, the participant still here
    assert PID in monitor and "Games per configuration" in monitor
    games_csv = list(csv.DictReader(io.StringIO(admin.get("/admin/export/games.csv").text)))
    assert [g["status"] for g in games_csv] == ["completed"]
    snapshot = tmp_path / "snapshot.duckdb"
    snapshot.write_bytes(admin.get("/admin/export/study.duckdb").content)
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM games WHERE status = 'completed'").fetchone() == (1,)
    click(driver, By.ID, "next")
    play_game(driver, "second game")
    assert text_of(driver, By.ID, "code") == "C0DE42"
    link = driver.find_element(By.ID, "redirect").get_attribute("href")
    assert link == "https://app.prolific.com/submissions/complete?cc=C0DE42"
    bonus_file = admin.get("/admin/bonuses.csv").text
    participants = server.query(
        "SELECT consented_at, quiz_tries, quiz_passed_at, completed_at, bonus FROM participants", []
    )
    [(consented, tries, passed, completed, bonus)] = participants
    assert consented and passed and completed and tries == 2
    [(total,)] = server.query("SELECT sum(self_gain) FROM seats WHERE agent = ?", [f"human:{PID}"])
    assert bonus == round(min(max(total * 2.0, 0.0), 5.0), 2)
    assert bonus_file == (f"{PID},{bonus:.2f}\n" if bonus > 0 else "")
    [(link_fields,)] = server.query("SELECT link FROM participants", [])
    assert json.loads(link_fields) == {"PROLIFIC_PID": PID, "STUDY_ID": "study1", "SESSION_ID": "session1"}


def state_now(driver: webdriver.Chrome) -> str:
    """'you', 'over' or 'waiting', without waiting (two people: the other may be the one to answer)."""
    for state, element in (("you", "your-turn"), ("over", "result")):
        if driver.find_elements(By.ID, element):
            return state
    return "waiting"


def test_two_participants_are_matched_against_each_other(
    serve: Callable[..., Server], browser: Callable, tmp_path: Path
) -> None:
    games = [{**g, "opponent": "participant", "fallback": "spe", "seat": 1} for g in THREE_FAMILIES]
    server = serve(games, match_timeout_s=120)
    drivers = {"hana": browser(), "ivan": browser()}
    for round_number in range(3):
        for name, driver in drivers.items():
            if round_number == 0:
                start_game(driver, server, name)
            else:
                click(driver, By.ID, "next")
            if name == "hana":  # the first to arrive waits for the other
                assert "Waiting for another participant" in text_of(driver, By.ID, "matching")
        families = {family_of(d) for d in drivers.values()}
        assert len(families) == 1  # the same game, one seat each
        deadline = time.monotonic() + 120
        states = {name: "waiting" for name in drivers}
        while any(s != "over" for s in states.values()):
            assert time.monotonic() < deadline, {n: d.page_source[:500] for n, d in drivers.items()}
            for name, driver in drivers.items():
                with contextlib.suppress(*_RELOADED):
                    states[name] = state_now(driver)
                    if states[name] == "you":
                        answer_turn(driver, family_of(driver), f"from {name}")
            time.sleep(0.2)
    shot(drivers["ivan"], tmp_path / "people-result.png")
    stored = server.games()
    assert sorted(g["family"] for g in stored) == ["bargaining", "negotiation", "persuasion"]
    assert all(g["status"] == "completed" for g in stored)
    assert {(g["player_1"], g["player_2"]) for g in stored} == {("human:hana", "human:ivan")}
