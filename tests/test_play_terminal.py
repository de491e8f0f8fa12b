"""`glee play`: a person at a terminal against baselines, driven through a pseudo-terminal (pexpect).

Also the HumanPlayer itself: the words a person reads are the prompts layer's (without the JSON
instructions a model gets), field reading, and re-asking until the answer is valid.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pexpect
import pytest

from glee.engine.match import play
from glee.engine.specs import PlayerSpec
from glee.errors import GameAbandoned
from glee.games import new_game, parse_params
from glee.play.config import Seating, play_config
from glee.play.session import game_spec, people_factory, result
from glee.players.human import HumanField, HumanPlayer, HumanRequest, human_fields, rules_text
from glee.prompts import system_prompt

GLEE = str(Path(sys.executable).with_name("glee"))
PROMPT = re.compile(r"\n?([^\n\[]+) \[([^\]\n]+)\]: ")
"""A field prompt: `label [hint]: `."""
GAME_OVER = "GAME OVER."


def spawn(tmp_path: Path, *overrides: str) -> pexpect.spawn:
    return pexpect.spawn(
        GLEE, ["play", *overrides, f"db={tmp_path / 'play.duckdb'}"], cwd=str(tmp_path), encoding="utf-8", timeout=60
    )


def answer_for(label: str, hint: str, family: str) -> str:
    """A sensible answer to one field prompt, from what it asks."""
    if "/" in hint:
        choices = [c.strip() for c in hint.split("/")]
        for preferred in ("accept", "buy", "yes"):
            if preferred in choices:
                return preferred
        return choices[0]
    if hint.startswith("an amount"):
        return {"bargaining": "60", "negotiation": "$110"}.get(family, "50")
    return "Hello! A fair deal for both of us."


def play_through(child: pexpect.spawn, family: str) -> list[str]:
    """Answer every prompt until the game is over; the prompts' hints, in order."""
    hints = []
    while True:
        index = child.expect([PROMPT, GAME_OVER])
        if index == 1:
            child.expect(pexpect.EOF)
            return hints
        label, hint = child.match.group(1).strip(), child.match.group(2)
        hints.append(hint)
        child.sendline(answer_for(label, hint, family))


def games(db: Path) -> list[dict[str, Any]]:
    with duckdb.connect(str(db), read_only=True) as con:
        cur = con.execute("SELECT * FROM games ORDER BY started_at")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def turns(db: Path, game_id: str) -> list[tuple[int, str, dict[str, Any]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT seat, kind, action FROM turns WHERE game_id = ? ORDER BY turn", [game_id]).fetchall()
    return [(seat, kind, json.loads(action)) for seat, kind, action in rows]


@pytest.mark.parametrize(
    ("family", "overrides", "seat"),
    [
        ("bargaining", ["game.max_rounds=4", "game.money=100"], 1),
        ("negotiation", ["game.max_rounds=4", "game.price_scale=100"], 2),
        ("persuasion", ["game.rounds=3", "game.price=100"], 1),
        ("persuasion", ["game.rounds=3", "game.price=100", "game.seller_message_type=binary"], 2),
    ],
)
def test_a_whole_game_per_family_is_stored_with_the_human_label(
    tmp_path: Path, family: str, overrides: list[str], seat: int
) -> None:
    child = spawn(tmp_path, f"game={family}", *overrides, f"seat={seat}", "name=alice", "opponent=spe")
    child.expect("RULES")
    hints = play_through(child, family)
    child.close()
    assert child.exitstatus == 0, child.before
    assert hints, "the person was never asked anything"
    [game] = games(tmp_path / "play.duckdb")
    human, machine = ("player_1", "player_2") if seat == 1 else ("player_2", "player_1")
    assert game[human] == "human:alice"
    assert game[machine] == "baseline:spe"
    assert game["family"] == family
    assert game["status"] == "completed"
    moves = [action for s, kind, action in turns(tmp_path / "play.duckdb", game["game_id"]) if s == seat]
    # One prompt per field of each of the person's moves, and nothing else asked.
    assert len(hints) == sum(1 for m in moves for v in m.values() if v is not None)
    if family == "persuasion" and seat == 1:
        assert all(m["message"] == "Hello! A fair deal for both of us." for m in moves)
    if family == "bargaining":
        assert moves[0]["own_gain"] == 60.0


@pytest.mark.llm
def test_a_person_plays_against_smollm2_on_a_managed_llama_cpp_server(tmp_path: Path) -> None:
    child = pexpect.spawn(
        GLEE,
        [
            "play",
            "game=negotiation",
            "game.max_rounds=2",
            "game.price_scale=100",
            "seat=2",
            "name=ann",
            "opponent=smollm2",
            f"db={tmp_path / 'llm.duckdb'}",
        ],
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=300,
    )
    play_through(child, "negotiation")
    child.close()
    assert child.exitstatus == 0
    [game] = games(tmp_path / "llm.duckdb")
    assert game["player_1"] == "SmolLM2-135M-Instruct@llamacpp" and game["player_2"] == "human:ann"
    assert game["status"] in ("completed", "forfeit")
    with duckdb.connect(str(tmp_path / "llm.duckdb"), read_only=True) as con:
        calls = con.execute("SELECT count(*) FROM llm_calls WHERE game_id = ?", [game["game_id"]]).fetchone()
    assert calls is not None and calls[0] >= 1


def test_the_person_reads_the_same_rules_as_a_model_in_that_seat(tmp_path: Path) -> None:
    child = spawn(tmp_path, "game=negotiation", "game.max_rounds=4", "seat=2", "name=bea")
    child.expect(PROMPT)
    screen = (child.before or "").replace("\r\n", "\n")
    child.sendeof()
    child.expect(pexpect.EOF)
    config = play_config(["game=negotiation", "game.max_rounds=4", "seat=2"])
    params = parse_params("negotiation", config.seating.params)
    rules = system_prompt(new_game(params, 0).observation(2))
    assert rules_text(new_game(params, 0).observation(2)) in screen
    # Every rule line a model reads is on the screen; only the JSON instruction is left out.
    for line in rules.splitlines():
        assert line.replace("Answer with one JSON object only, in the shape asked for.", "").strip() in screen
    assert "JSON" not in screen
    assert "Alice proposes a price of $10,000" in screen


def test_invalid_answers_are_asked_again_until_valid(tmp_path: Path) -> None:
    child = spawn(tmp_path, "game=bargaining", "game.max_rounds=2", "game.money=100", "name=carl")
    child.expect(PROMPT)
    assert child.match.group(2) == "an amount from $0 to $100"
    child.sendline("lots")
    child.expect("✗ own_gain: give an amount from \\$0 to \\$100, as a number, not 'lots'. Try again.")
    child.expect(PROMPT)
    child.sendline("150")
    child.expect("out of range")
    child.expect(PROMPT)
    child.sendline("$1,000,000")
    child.expect("out of range")
    child.expect(PROMPT)
    child.sendline("nan")
    child.expect("Try again")
    child.expect(PROMPT)
    child.sendline("70.5")
    child.expect(PROMPT)  # the message
    child.sendline("x" * 2500)
    child.expect("at most 2,000 characters")
    child.expect(PROMPT)
    child.sendline("ok")
    child.expect(PROMPT)  # Bob's counter-offer in round 2: accept or reject
    assert child.match.group(2) == "accept / reject"
    child.sendline("perhaps")
    child.expect("'perhaps' is not one of accept, reject")
    child.expect(PROMPT)
    child.sendline("R")  # a unique prefix, any case
    child.expect(GAME_OVER)
    child.expect(pexpect.EOF)
    child.close()
    [game] = games(tmp_path / "play.duckdb")
    assert game["player_1"] == "human:carl" and game["status"] == "completed"
    assert game["end_reason"] == "no_deal"
    moves = [(kind, a) for seat, kind, a in turns(tmp_path / "play.duckdb", game["game_id"]) if seat == 1]
    assert moves == [("propose", {"own_gain": 70.5, "message": "ok"}), ("respond", {"decision": "reject"})]


@pytest.mark.parametrize("how", ["eof", "ctrl-c"])
def test_leaving_mid_game_is_recorded_as_abandoned(tmp_path: Path, how: str) -> None:
    child = spawn(tmp_path, "game=negotiation", "game.max_rounds=4", "name=dora")
    child.expect(PROMPT)
    child.sendline("12000")
    child.expect(PROMPT)
    child.sendline("my first price")
    child.expect(PROMPT)  # the buyer's counter-offer
    if how == "eof":
        child.sendeof()
    else:
        child.sendintr()
    child.expect("status abandoned")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    [game] = games(tmp_path / "play.duckdb")
    assert game["status"] == "abandoned"
    assert game["end_reason"] is None
    assert game["player_1"] == "human:dora"
    assert "GameAbandoned" in game["error"]
    kept = turns(tmp_path / "play.duckdb", game["game_id"])
    assert [(s, k) for s, k, _ in kept] == [(1, "propose"), (2, "respond"), (2, "propose")]
    with duckdb.connect(str(tmp_path / "play.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM outcomes").fetchone() == (0,)


def test_a_second_game_of_the_same_person_is_a_new_game(tmp_path: Path) -> None:
    for _ in range(2):
        child = spawn(tmp_path, "game=bargaining", "game.max_rounds=2", "game.money=100", "name=eve")
        play_through(child, "bargaining")
        child.close()
        assert child.exitstatus == 0
    first, second = games(tmp_path / "play.duckdb")
    assert first["game_id"] != second["game_id"]
    assert (first["replicate"], second["replicate"]) == (0, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["seat=3"], "seat: got 3; allowed: 1 or 2"),
        (["opponent=nobody"], "unknown player 'nobody'"),
        (["name=x/y"], "name: got 'x/y'; allowed: 1-64 letters"),
        (["game.max_rounds=0"], "max_rounds"),
        (["colour=red"], "colour"),
    ],
)
def test_bad_options_end_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    child = spawn(tmp_path, *args)
    child.expect(pexpect.EOF)
    child.close()
    out = (child.before or "").strip()
    assert child.exitstatus == 2
    assert out.startswith("glee: error:") and message in out
    assert "Traceback" not in out


# --- the HumanPlayer without a terminal --------------------------------------------------------


class Scripted:
    """A mock input source standing in for a person: answers from a list, then leaves."""

    def __init__(self, answers: list[dict[str, str]]) -> None:
        self.answers = list(answers)
        self.requests: list[HumanRequest] = []

    async def answer(self, request: HumanRequest) -> Mapping[str, str]:
        self.requests.append(request)
        if not self.answers:
            raise GameAbandoned("the script ended")
        return self.answers.pop(0)


async def test_a_person_is_asked_again_with_the_reason_and_never_sees_json() -> None:
    seating = Seating(
        family="negotiation",
        params=parse_params("negotiation", {"max_rounds": 2}).model_dump(mode="json"),
        opponent=PlayerSpec(kind="baseline", strategy="spe"),
        seat=2,
    )
    source = Scripted([{"decision": "maybe"}, {"decision": "outside"}])
    spec = game_spec(seating, "fay", 0, set())
    factory, people = people_factory({}, {"fay": source})
    record = await play(spec, factory)
    assert record.player_2 == "human:fay"
    assert record.status == "completed" and record.end_reason == "outside_option"
    first, second = source.requests
    assert first.rejection is None and second.rejection is not None
    assert "'maybe' is not one of accept, reject, outside_option" in second.rejection
    assert second.text == first.text
    for request in source.requests:
        assert "JSON" not in request.rules + request.text
    assert [f.name for f in first.fields] == ["decision"]
    end = result(record, 2, people.get("fay"))
    assert end.headline.startswith("No trade")
    assert end.lines == ("You (Bob) gain $0.", "Alice gains $0.")


async def test_the_end_shows_the_answer_to_the_last_offer() -> None:
    seating = Seating(
        family="bargaining",
        params=parse_params("bargaining", {"max_rounds": 3, "money": 100}).model_dump(mode="json"),
        opponent=PlayerSpec(kind="baseline", strategy="fair"),
        seat=1,
    )
    source = Scripted([{"own_gain": "50", "message": "half each?"}])
    factory, people = people_factory({}, {"gus": source})
    record = await play(game_spec(seating, "gus", 0, set()), factory)
    end = result(record, 1, people.get("gus"))
    assert record.status == "completed" and record.end_reason == "agreement"
    assert "Bob accepted your offer" in end.news
    assert end.lines == ("You (Alice) gain $50.", "Bob gains $50.")


def test_fields_read_what_people_type() -> None:
    amount = HumanField(name="price", kind="amount", label="the price", low=0)
    assert amount.read(" $1,200.50 ") == 1200.5
    for bad in ("-5", "inf", "1e400", "twelve", ""):
        with pytest.raises(ValueError, match="price"):
            amount.read(bad)
    choice = HumanField(
        name="decision", kind="choice", label="decision", choices=("accept", "reject", "outside_option")
    )
    assert choice.read("Outside Option") == "outside_option"
    assert choice.read("3") == "outside_option"
    assert choice.read("acc") == "accept"
    with pytest.raises(ValueError, match="not one of"):
        choice.read("")
    text = HumanField(name="message", kind="text", label="a message", max_length=10)
    assert text.read("  hi  ") == "hi"
    with pytest.raises(ValueError, match="at most 10"):
        text.read("x" * 11)
    with pytest.raises(ValueError, match="too long"):
        text.read("x" * 100_000)


def test_fields_come_from_the_action_models_of_each_turn() -> None:
    state = new_game(parse_params("persuasion", {"seller_message_type": "binary"}), 3)
    state = state.apply(state.nature_action())
    [recommend] = human_fields(state.action_model())
    assert (recommend.name, recommend.kind, recommend.choices) == ("recommend", "choice", ("yes", "no"))
    offer = new_game(parse_params("bargaining", {"money": 250}), 0).action_model()
    gain, message = human_fields(offer)
    assert (gain.kind, gain.low, gain.high, gain.label) == ("amount", 0, 250, "what you keep")
    assert (message.kind, message.max_length) == ("text", 2000)
    closed = new_game(parse_params("bargaining", {"messages_allowed": False}), 0).action_model()
    assert [f.name for f in human_fields(closed)] == ["own_gain"]


def test_human_label() -> None:
    player = HumanPlayer(Scripted([]), "zoe")
    assert player.label == "human:zoe"
    assert PlayerSpec(kind="human", strategy=None, name="zoe").label() == "human:zoe"
