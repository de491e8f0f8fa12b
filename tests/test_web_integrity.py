"""The web app refuses what would corrupt a study's data: replayed or stale forms, posts from other
sites, one participant taking over another's game, bots filling the slots; and a crash mid-game
leaves the game in the database. HTTP-level probes (httpx, one cookie jar per "browser") against a
real `glee serve-web` subprocess and its DuckDB file; the browser flow itself is in test_web.py.
"""

from __future__ import annotations

import html
import json
import os
import re
import signal
import time
from collections.abc import Callable

import duckdb
import httpx2 as httpx  # the HTTP client the openai package brings

from glee.engine.match import IN_PROGRESS
from glee.play.links import sign
from tests.support.web_server import Server

# The participant is the persuasion buyer: every turn is one buy/pass choice, so a replayed "buy"
# would show up as a later round's decision.
BUYER = [{"family": "persuasion", "params": {"rounds": 3, "price": 100}, "opponent": "spe", "seat": 2}]
PROPOSER = [{"family": "bargaining", "params": {"max_rounds": 3, "money": 100}, "opponent": "spe", "seat": 1}]


def browser(server: Server) -> httpx.Client:
    """A client with its own cookie jar, as one browser."""
    return httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name} in: {page[:1500]}"
    return html.unescape(match.group(1))


def start(client: httpx.Client, participant: str, **link: str) -> httpx.Response:
    """Open the study link, then press Start (the form's own CSRF token)."""
    page = client.get("/", params={"participant": participant, **link})
    assert page.status_code == 200, page.text
    return client.post("/start", data={"csrf": hidden(page.text, "csrf"), "participant": participant, **link})


def game_url(reply: httpx.Response) -> str:
    assert reply.status_code == 303, reply.text[:1500]
    return reply.headers["location"]


def until_asked(client: httpx.Client, url: str) -> str:
    """The game page once the participant is asked (the opponent's turn may take a moment)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page = client.get(url).text
        if 'id="your-turn"' in page or 'id="result"' in page:
            return page
        time.sleep(0.1)
    raise AssertionError(page[:1500])


def form_of(page: str) -> dict[str, str]:
    return {name: hidden(page, name) for name in ("csrf", "step", "nonce")}


def test_a_replayed_or_stale_form_changes_nothing(serve: Callable[..., Server]) -> None:
    server = serve(BUYER)
    client = browser(server)
    url = game_url(start(client, "p1"))
    first = form_of(until_asked(client, url))
    assert first["step"] == "1"
    assert client.post(url, data={**first, "decision": "buy"}).status_code == 303
    second = form_of(until_asked(client, url))
    assert second["step"] == "2"
    replay = client.post(url, data={**first, "decision": "buy"})  # the same form, sent again
    assert replay.status_code == 409 and "Nothing was changed" in replay.text
    forged = client.post(url, data={**second, "nonce": first["nonce"], "decision": "buy"})  # right step, old nonce
    assert forged.status_code == 409
    assert client.post(url, data={**second, "decision": "pass"}).status_code == 303
    third = form_of(until_asked(client, url))
    assert client.post(url, data={**third, "decision": "pass"}).status_code == 303
    until_asked(client, url)
    decisions = server.query("SELECT round, action FROM turns WHERE seat = 2 ORDER BY turn", [])
    assert [(r, json.loads(a)["decision"]) for r, a in decisions] == [(1, "buy"), (2, "pass"), (3, "pass")]


def test_posts_from_another_site_or_without_the_token_are_refused(serve: Callable[..., Server]) -> None:
    server = serve(PROPOSER)
    client = browser(server)
    page = client.get("/", params={"participant": "p2"})
    token = hidden(page.text, "csrf")
    evil = client.post(
        "/start", data={"csrf": token, "participant": "p2"}, headers={"Origin": "http://attacker.example"}
    )
    assert evil.status_code == 403 and "another site" in evil.text
    assert client.post("/start", data={"participant": "p2"}).status_code == 403  # no token
    stranger = browser(server)  # no cookie of this study: a cross-site form post carries none (SameSite)
    assert stranger.post("/start", data={"csrf": token, "participant": "p2"}).status_code == 403
    url = game_url(client.post("/start", data={"csrf": token, "participant": "p2"}))
    form = form_of(until_asked(client, url))
    evil = client.post(url, data={**form, "own_gain": "99"}, headers={"Origin": "http://attacker.example"})
    assert evil.status_code == 403
    assert client.post(url, data={**form, "csrf": "0" * 32, "own_gain": "99"}).status_code == 403
    assert server.query("SELECT count(*) FROM turns WHERE seat = 1", []) == [(0,)]  # no move was made


def test_another_browser_cannot_take_over_a_participants_game(serve: Callable[..., Server]) -> None:
    server = serve(PROPOSER)
    alice = browser(server)
    url = game_url(start(alice, "alice"))
    form = form_of(until_asked(alice, url))
    mallory = browser(server)
    taken = start(mallory, "alice")  # the same participant id, typed in another browser
    assert taken.status_code == 409 and url not in taken.text
    page = mallory.get(url)  # even with the game's address, no form and no answer
    assert 'id="answer"' not in page.text and "another browser" in page.text
    mallory_token = hidden(mallory.get("/").text, "csrf")
    answer = mallory.post(url, data={**form, "csrf": mallory_token, "own_gain": "1"})
    assert answer.status_code == 403
    assert alice.post(url, data={**form, "own_gain": "60"}).status_code == 303
    until_asked(alice, url)
    [(action,)] = server.query("SELECT action FROM turns WHERE seat = 1 AND turn = 1", [])
    assert json.loads(action)["own_gain"] == 60


def test_slots_reserved_by_games_never_opened_are_released(serve: Callable[..., Server]) -> None:
    server = serve(PROPOSER, max_games_in_flight=2, reservation_timeout_s=2)
    bot = browser(server)
    for fake in ("fake1", "fake2"):
        game_url(start(bot, fake))  # started, never opened
    real = browser(server)
    assert start(real, "real").status_code == 503
    time.sleep(3)
    url = game_url(start(real, "real"))
    assert 'id="your-turn"' in until_asked(real, url)
    games = server.games()
    fakes = [g for g in games if g["player_1"] in ("human:fake1", "human:fake2")]
    assert [g["status"] for g in fakes] == ["abandoned", "abandoned"]
    assert all("did not open the game within 2 s" in g["error"] for g in fakes)


def test_starts_are_rate_limited_per_address(serve: Callable[..., Server]) -> None:
    server = serve(PROPOSER * 2, starts_per_minute=3)
    client = browser(server)
    codes = [start(client, f"r{i}").status_code for i in range(4)]
    assert codes == [303, 303, 303, 429]


def test_a_killed_server_leaves_the_game_abandoned_with_its_turns(serve: Callable[..., Server]) -> None:
    server = serve(BUYER + PROPOSER)  # round robin from the first configuration: k1 plays BUYER first
    client = browser(server)
    url = game_url(start(client, "k1"))
    page = until_asked(client, url)
    assert client.post(url, data={**form_of(page), "decision": "buy"}).status_code == 303
    until_asked(client, url)  # round 2: the game is in progress
    os.kill(server.process.pid, signal.SIGKILL)  # a crash: no shutdown, no final write
    server.process.wait(10)
    with duckdb.connect(str(server.db), read_only=True) as con:
        [(game_id, status, error, family)] = con.execute(
            "SELECT game_id, status, error, family FROM games WHERE player_2 = 'human:k1'"
        ).fetchall()
        turns = con.execute("SELECT round, seat FROM turns WHERE game_id = ? ORDER BY turn", [game_id]).fetchall()
    assert (status, error, family) == ("abandoned", IN_PROGRESS, "persuasion")
    assert (1, 2) in turns and (2, 1) in turns  # the participant's answer and the seller's next move were kept
    again = serve(BUYER + PROPOSER)  # restarted on the same database
    client = browser(again)
    page = until_asked(client, game_url(start(client, "k1")))
    assert 'name="own_gain"' in page  # the other configuration: the interrupted one is not served again


def test_signed_and_platform_links(serve: Callable[..., Server]) -> None:
    key = "k" * 32
    server = serve(PROPOSER, participant_ids="signed", env={**os.environ, "GLEE_LINK_KEY": key})
    client = browser(server)
    assert client.get("/", params={"participant": "alice"}).status_code == 400  # no signature
    bad = client.get("/", params={"participant": "alice", "sig": sign(b"other key", "alice")})
    assert bad.status_code == 400 and "signature" in bad.text
    good = sign(key.encode(), "alice")
    page = client.get("/", params={"participant": "alice", "sig": good}).text
    assert 'id="participant"' not in page  # the id is not editable
    forged = client.post("/start", data={"csrf": hidden(page, "csrf"), "participant": "bob", "sig": good})
    assert forged.status_code == 400
    url = game_url(start(client, "alice", sig=good))
    assert 'id="your-turn"' in until_asked(client, url)
    assert {g["player_1"] for g in server.games()} == {"human:alice"}

    prolific = serve(PROPOSER, participant_ids="prolific")
    client = browser(prolific)
    link = {"PROLIFIC_PID": "5f0c1d2e3a4b5c6d7e8f9a0b", "STUDY_ID": "s1"}
    assert "SESSION_ID" in client.get("/", params=link).text  # named as missing
    link["SESSION_ID"] = "x9"
    page = client.get("/", params=link).text
    reply = client.post("/start", data={"csrf": hidden(page, "csrf"), **link})
    assert 'id="your-turn"' in until_asked(client, game_url(reply))
    assert "human:5f0c1d2e3a4b5c6d7e8f9a0b" in {g["player_1"] for g in prolific.games()}


def test_a_persons_answers_are_stored_with_their_times_refused_ones_too(serve: Callable[..., Server]) -> None:
    server = serve(PROPOSER)
    client = browser(server)
    url = game_url(start(client, "t1"))
    page = until_asked(client, url)
    assert client.post(url, data={**form_of(page), "own_gain": "lots"}).status_code == 303
    page = until_asked(client, url)
    assert "That answer cannot be used" in page
    time.sleep(0.2)
    assert client.post(url, data={**form_of(page), "own_gain": "50"}).status_code == 303
    rows = server.query(
        "SELECT attempt, shown_at, answered_at, answer, parsed, rejection FROM human_answers WHERE turn = 1 "
        "ORDER BY attempt",
        [],
    )
    assert [r[0] for r in rows] == [1, 2]
    (_, shown_1, answered_1, answer_1, parsed_1, rejection_1), (_, shown_2, answered_2, _, parsed_2, rejection_2) = rows
    assert json.loads(answer_1)["own_gain"] == "lots" and parsed_1 is None and "not 'lots'" in rejection_1
    assert rejection_2 is None and json.loads(parsed_2)["own_gain"] == 50
    assert shown_1 <= answered_1 <= shown_2 <= answered_2
    [(turn_shown, turn_answered)] = server.query("SELECT shown_at, answered_at FROM turns WHERE turn = 1", [])
    assert (turn_shown, turn_answered) == (shown_1, answered_2)  # the turn: first shown, finally answered
    machine = server.query("SELECT count(*) FROM turns WHERE seat = 2 AND shown_at IS NOT NULL", [])
    assert machine == [(0,)]


def test_a_participant_with_no_one_to_play_gets_the_fallback(serve: Callable[..., Server]) -> None:
    games = [{**PROPOSER[0], "opponent": "participant", "fallback": "fair"}]
    server = serve(games, match_timeout_s=2)
    client = browser(server)
    wait = start(client, "lonely")
    assert wait.status_code == 303 and wait.headers["location"].startswith("/wait/")
    assert "Waiting for another participant" in client.get(wait.headers["location"]).text
    time.sleep(3)
    moved = client.get(wait.headers["location"])
    assert 'id="your-turn"' in until_asked(client, game_url(moved))
    [game] = server.games()
    assert (game["player_1"], game["player_2"]) == ("human:lonely", "baseline:fair")
