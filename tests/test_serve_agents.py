"""`glee serve-agents` end to end: the server in a subprocess on a free loopback port, the unmodified
glee-sdk client from PyPI (the `test` extra installs it) as the agents, every game read back from DuckDB."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from glee_sdk import CompetitionClosedError, CompetitionNotOpenError, GleeClient

from glee.backends import ManagedServer
from glee.engine.scheduler import run
from glee.engine.specs import GameSet, PlayerSpec, RunConfig
from tests.agents import steady
from tests.support import web_server
from tests.support.llamacpp import smollm2_server  # noqa: F401 (a fixture)

KEYS = {"GLEE_TEST_KEY_A": "key-of-agent-a-0001", "GLEE_TEST_KEY_B": "key-of-agent-b-0002"}
AGENTS = [{"name": "a", "key_env": "GLEE_TEST_KEY_A"}, {"name": "b", "key_env": "GLEE_TEST_KEY_B"}]
SHORT = [
    {"family": "bargaining", "params": {"money": 100, "max_rounds": 4, "walkaway_allowed": True}},
    {"family": "negotiation", "params": {"price_scale": 100, "max_rounds": 4}},
    {"family": "persuasion", "params": {"price": 100, "rounds": 3}},
]


class Server(web_server.Server):
    def client(self, agent: str = "a", **kw: Any) -> GleeClient:
        return GleeClient(api_key=KEYS[f"GLEE_TEST_KEY_{agent.upper()}"], base_url=self.url, **kw)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(**settings: Any) -> Server:
        n = len(servers)
        config = {"agents": AGENTS, "games": SHORT, "move_wait_s": 5, **settings}
        path = tmp_path / f"agents-{n}.yaml"
        path.write_text(yaml.safe_dump(config))
        db, log = tmp_path / f"agents-{n}.duckdb", tmp_path / f"server-{n}.log"
        started = web_server.launch(["serve-agents", str(path)], db, log, tmp_path, {**os.environ, **KEYS})
        server = Server(started.url, started.db, started.process, started.log)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def call(server: Server, method: str, path: str, body: Any = None, key: str = KEYS["GLEE_TEST_KEY_A"]) -> Any:
    request = urllib.request.Request(
        f"{server.url}/api/agent{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read() or b"{}"), reply.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}"), exc.headers


def test_the_sdk_plays_baselines_with_concurrency_and_every_game_is_in_duckdb(serve: Callable[..., Server]) -> None:
    server = serve(opponents=["spe", "random"], n_games=4, rate_limit={"requests": 10_000, "per_s": 1})
    server.client().run(steady.strategy, poll_interval=0.05, max_games=12, max_time=300, concurrency=8)
    games = server.query("SELECT family, player_1, player_2, status FROM games ORDER BY family, player_1, player_2")
    moves = server.query(
        "SELECT count(*) FROM turns JOIN games USING (game_id) WHERE (seat = 1 AND player_1 = 'agent:a') "
        "OR (seat = 2 AND player_2 = 'agent:a')"
    )
    assert len(games) == 12  # 4 games of each of the three families (a queue entry keeps them coming)
    assert {status for *_, status in games} == {"completed"}
    assert {(p1, p2) for _, p1, p2, _ in games} == {
        ("agent:a", "baseline:spe"),
        ("baseline:random", "agent:a"),
        ("agent:a", "baseline:random"),
        ("baseline:spe", "agent:a"),
    }
    assert moves[0][0] >= 12


def test_http_and_in_process_agents_play_the_same_games_against_deterministic_opponents(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve(opponents=["spe"], seats=[1, 2], n_games=2, rate_limit={"requests": 10_000, "per_s": 1})
    server.client().run(steady.strategy, poll_interval=0.05, max_games=6, concurrency=6)
    over_http = server.query(
        "SELECT g.family, g.player_1 = 'agent:a', list(t.action ORDER BY t.turn), any_value(o.payoff_1), "
        "any_value(o.payoff_2) FROM games g JOIN turns t USING (game_id) JOIN outcomes o USING (game_id) "
        "WHERE g.family <> 'persuasion' GROUP BY g.game_id, g.family, g.player_1 ORDER BY 1, 2"
    )
    sdk = PlayerSpec(kind="sdk", strategy=f"{Path(steady.__file__)}:strategy")
    db = tmp_path / "in-process.duckdb"
    config = RunConfig(
        games=[GameSet(family=g["family"], params=[g["params"]]) for g in SHORT if g["family"] != "persuasion"],
        pairs=[(sdk, PlayerSpec(strategy="spe"))],
        swap_seats=True,
        db=db,
        progress=False,
    )
    assert run(config).completed == 4
    with duckdb.connect(str(db), read_only=True) as con:
        in_process = con.execute(
            "SELECT g.family, g.player_1 = 'sdk:strategy', list(t.action ORDER BY t.turn), any_value(o.payoff_1), "
            "any_value(o.payoff_2) FROM games g JOIN turns t USING (game_id) JOIN outcomes o USING (game_id) "
            "GROUP BY g.game_id, g.family, g.player_1 ORDER BY 1, 2"
        ).fetchall()
    assert len(over_http) == 4 and over_http == in_process


def test_a_second_agent_is_matched_against_the_first(serve: Callable[..., Server]) -> None:
    server = serve(games=SHORT[:2], opponents=["agent"], n_games=2, rate_limit={"requests": 10_000, "per_s": 1})
    families = ["bargaining", "negotiation"]
    other = threading.Thread(
        target=lambda: server.client("b").run(steady.strategy, families, poll_interval=0.05, max_games=1, concurrency=4)
    )
    other.start()
    server.client("a").run(steady.strategy, families, poll_interval=0.05, max_games=1, concurrency=4)
    other.join(120)
    games = server.query("SELECT family, player_1, player_2, status FROM games ORDER BY ALL")
    assert len(games) >= 2
    assert {tuple(sorted((p1, p2))) for _, p1, p2, _ in games} == {("agent:a", "agent:b")}
    assert {status for *_, status in games} == {"completed"}


def test_invalid_moves_get_valid_false_with_attempts_left_then_a_forfeit(serve: Callable[..., Server]) -> None:
    server = serve(games=SHORT[:1], opponents=["spe"], seats=[1], max_attempts=3, n_games=1)
    assert call(server, "POST", "/queue", {"game_family": "bargaining"})[0] == 200
    status, pending, _ = call(server, "GET", "/games/pending")
    assert status == 200 and len(pending) == 1
    game = pending[0]
    assert game["valid_actions"]["type"] == "offer" and game["game_state"]["money_to_divide"] == 100
    gid = game["game_id"]
    replies = [
        call(server, "POST", f"/games/{gid}/move", {"action": action})[1]
        for action in ({"alice_gain": 60, "bob_gain": 60}, {"decision": "accept"}, ["not", "a", "dict"])
    ]
    assert [(r["valid"], r["attempts_left"]) for r in replies] == [(False, 2), (False, 1), (False, 0)]
    assert "alice_gain + bob_gain: got 120; allowed: exactly 100" in replies[0]["error"]
    assert replies[-1]["game_over"] is True and replies[-1]["result"]["status"] == "forfeit"
    assert call(server, "GET", f"/games/{gid}")[1]["result"]["forfeit_player"] == "player_1"
    rows = server.query("SELECT attempt, rejection FROM llm_calls ORDER BY attempt")
    assert [a for a, _ in rows] == [1, 2, 3] and rows[0][1].startswith("alice_gain + bob_gain")
    assert server.query("SELECT status, forfeit_seat, player_1 FROM games") == [("forfeit", 1, "agent:a")]


def test_a_strategy_exception_never_reaches_the_server_and_a_killed_client_loses_by_the_turn_timeout(
    serve: Callable[..., Server],
) -> None:
    server = serve(games=SHORT[1:2], opponents=["spe"], seats=[2], n_games=1, turn_timeout_s=1.5)

    def raising(game: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("a bug in the agent")

    # The SDK swallows the exception (logs it) and never posts a move; the turn timeout ends the game.
    started = time.monotonic()
    server.client().run(raising, ["negotiation"], poll_interval=0.1, max_time=0.5)
    assert time.monotonic() - started >= 1.5  # run() drains: it returns once the game has ended
    rows = server.query("SELECT g.status, g.forfeit_seat, c.rejection FROM games g JOIN llm_calls c USING (game_id)")
    assert rows == [("forfeit", 2, "no move within the turn timeout (1.5 s)")]


def test_polling_faster_than_the_limit_gets_429_which_the_sdk_honours(serve: Callable[..., Server]) -> None:
    server = serve(games=SHORT[:1], opponents=["spe"], n_games=2, rate_limit={"requests": 5, "per_s": 2})
    statuses = [call(server, "GET", "/stats") for _ in range(7)]
    assert [s for s, *_ in statuses][:5] == [200] * 5
    code, body, headers = statuses[5]
    assert code == 429 and body["detail"]["code"] == "rate_limited" and 1 <= int(headers.get("Retry-After")) <= 2
    time.sleep(2.1)
    started = time.monotonic()
    server.client().run(steady.strategy, ["bargaining"], poll_interval=0.01, max_games=2, concurrency=2)
    assert time.monotonic() - started >= 2  # it was held back by Retry-After, and still finished its games
    assert len(server.query("SELECT * FROM games WHERE status = 'completed'")) == 2


def test_closed_and_not_yet_open_competitions_and_bad_keys_answer_as_the_sdk_expects(
    serve: Callable[..., Server],
) -> None:
    later = serve(open_at="2999-01-01T00:00:00+00:00")
    with pytest.raises(CompetitionNotOpenError) as not_open:
        later.client().run(steady.strategy)
    assert not_open.value.competition_open_at == "2999-01-01T00:00:00+00:00"
    closed = serve(close_at="2000-01-01T00:00:00+00:00")
    with pytest.raises(CompetitionClosedError):
        closed.client().queue("bargaining")
    status, body, _ = call(closed, "GET", "/stats", key="not-a-key")
    assert status == 401 and body["detail"]["code"] == "unauthorized"
    status, body, _ = call(closed, "DELETE", "/queue")
    assert status == 200
    rows = closed.query("SELECT config::VARCHAR FROM runs")
    assert "GLEE_TEST_KEY_A" in rows[0][0] and KEYS["GLEE_TEST_KEY_A"] not in rows[0][0]  # env names, never keys


@pytest.mark.llm
def test_the_sdk_plays_the_loopback_llm(serve: Callable[..., Server], smollm2_server: ManagedServer) -> None:  # noqa: F811
    endpoint = {**smollm2_server.spec.model_dump(mode="json"), "base_url": smollm2_server.base_url}
    opponent = {"kind": "llm", "strategy": None, "endpoint": endpoint, "sampling": {"max_tokens": 60}}
    server = serve(
        games=SHORT[:1],
        opponents=[opponent],
        seats=[1],
        n_games=1,
        move_wait_s=60,
        rate_limit={"requests": 10_000, "per_s": 1},
    )
    # The model may take longer than the client's default 30 s request timeout on a busy machine.
    # max_time, not max_games: the SDK counts only games its own move's answer said were over, and a slow model
    # may answer after move_wait_s; run() drains (waits for the game to end) either way.
    server.client(timeout=300).run(steady.strategy, ["bargaining"], poll_interval=0.1, max_time=2, concurrency=2)
    rows = server.query("SELECT g.status, g.player_2, count(c.game_id) FROM games g JOIN llm_calls c USING (game_id) "
                        "GROUP BY ALL")  # fmt: skip
    assert len(rows) == 1 and rows[0][0] in ("completed", "forfeit") and rows[0][1].endswith("@llamacpp")
    assert rows[0][2] >= 1  # the model's calls are logged next to the agent's moves
