"""Competition agents (glee-sdk strategy functions) as glee players: the game dicts each family's codec
shows, the moves it maps onto glee's rules, the rules' competition parameters, and the in-process
`sdk` player in real runs (invalid moves, forfeits and their logged rejections, worker threads)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

from glee.config import expand_seats, validate
from glee.engine.plan import plan
from glee.engine.scheduler import run
from glee.engine.specs import GameSet, PlayerSpec, RunConfig
from glee.errors import ConfigError, IllegalAction
from glee.games import new_game, parse_params
from glee.players.sdk import AgentSeat, InvalidMove, decode, game_dict
from glee.players.sdk.player import HIDDEN
from tests.conftest import baseline, small_config

AGENT = str(Path(__file__).parent / "agents" / "steady.py")
STEADY = PlayerSpec(kind="sdk", strategy=f"{AGENT}:strategy")


def at_turn(family: str, params: dict[str, Any], actions: list[dict[str, Any]], seed: int = 3) -> Any:
    state = new_game(parse_params(family, params), seed)
    for action in actions:
        while state.to_act() == 0:
            state = state.apply(state.nature_action())
        state = state.apply(action)
    while state.to_act() == 0:
        state = state.apply(state.nature_action())
    return state


def game_of(state: Any) -> dict[str, Any]:
    seat = state.to_act()
    return game_dict(state.observation(seat), state.action_model(), "g1", HIDDEN)


# --- the rules' competition parameters ------------------------------------------------------------


def test_bargaining_walkaway_ends_the_game_with_nothing_only_where_allowed() -> None:
    offer = {"own_gain": 7000, "message": "hi"}
    walked = at_turn("bargaining", {"walkaway_allowed": True, "max_rounds": 10}, [offer, {"decision": "walkaway"}])
    outcome = walked.outcome()
    assert (outcome.end_reason, outcome.rounds, outcome.payoff_1, outcome.payoff_2) == ("no_deal", 1, 0.0, 0.0)
    assert outcome.fairness is None and outcome.efficiency == 0.0
    plain = at_turn("bargaining", {"max_rounds": 10}, [offer])
    with pytest.raises(IllegalAction, match="walkaway"):
        plain.apply({"decision": "walkaway"})
    assert plain.apply({"decision": "reject"}).round == 2


# --- game dicts -------------------------------------------------------------------------------------


def test_bargaining_game_dict_has_the_sdk_fields_and_only_the_seat_view() -> None:
    params = {"complete_information": False, "max_rounds": 30, "money": 100, "delta_1": 0.9, "delta_2": 0.8}
    state = at_turn("bargaining", params, [{"own_gain": 70, "message": "take it"}])
    game = game_of(state)
    assert set(game) == {
        "game_id",
        "game_family",
        "your_player",
        "phase",
        "opponent",
        "game_state",
        "valid_actions",
        "prompt",
    }
    assert (game["game_family"], game["your_player"], game["phase"]) == ("bargaining", "player_2", "decision")
    s = game["game_state"]
    assert s["last_offer"] == {
        "player_1_gain": 70.0,
        "player_2_gain": 30.0,
        "message": "take it",
        "proposer": "player_1",
        "round": 1,
    }
    assert (s["current_player"], s["proposer"], s["money_to_divide"], s["delta_2"]) == (
        "player_2",
        "player_1",
        100,
        0.8,
    )
    assert "delta_1" not in s and s["complete_information"] is False  # the other's discount is private
    assert "max_rounds" not in s and s["horizon_known"] is False  # T > 20 is not told
    assert game["valid_actions"] == {"type": "decision", "fields": {"decision": "'accept' or 'reject'"}}
    assert "Bob" in game["prompt"] and "accept or reject" in game["prompt"]
    opening = game_of(at_turn("bargaining", {**params, "walkaway_allowed": True, "max_rounds": 12}, []))
    assert opening["phase"] == "offer" and opening["game_state"]["last_offer"] is None
    assert opening["game_state"]["max_rounds"] == 12 and opening["game_state"]["horizon_known"] is True
    assert set(opening["valid_actions"]["fields"]) == {"alice_gain", "bob_gain", "message"}


def test_negotiation_and_persuasion_game_dicts_hide_what_the_seat_may_not_see() -> None:
    params = {"complete_information": False, "price_scale": 100, "max_rounds": 10}
    buyer = game_of(at_turn("negotiation", params, [{"price": 130, "message": "m"}]))["game_state"]
    assert (buyer["player_2_value"], buyer["player_1_role"], buyer["player_2_role"]) == (120.0, "seller", "buyer")
    assert "player_1_value" not in buyer and buyer["last_offer"]["price"] == 130.0
    assert buyer["last_offer"]["from_player"] == "player_1" and buyer["max_rounds"] == 10
    pparams = {"price": 100, "v": 3, "seller_knows_buyer_values": False, "seller_message_type": "binary"}
    seller_state = at_turn("persuasion", pparams, [])
    seller = game_of(seller_state)
    assert seller["valid_actions"]["type"] == "seller_recommendation" and seller["phase"] == "seller_message"
    assert seller["game_state"]["current_quality"] in ("high", "low")
    assert "v" not in seller["game_state"] and seller["game_state"]["is_seller_know_cv"] is False
    buyer_game = game_of(at_turn("persuasion", pparams, [{"recommend": "yes"}]))
    b = buyer_game["game_state"]
    assert (buyer_game["valid_actions"]["type"], b["v"], b["u"], b["p"]) == ("buyer_decision", 300.0, 0.0, 0.5)
    assert "current_quality" not in b and b["seller_message"] == "yes"


# --- moves -------------------------------------------------------------------------------------------


def test_bargaining_moves_must_sum_to_the_amount_and_name_the_field() -> None:
    state = at_turn("bargaining", {"money": 100}, [])
    obs, model = state.observation(1), state.action_model()
    [offer] = decode(obs, model, {"alice_gain": 60, "bob_gain": 40, "message": "x"})
    assert (offer.own_gain, offer.message) == (60, "x")  # type: ignore[attr-defined]
    for move, says in [
        ({"alice_gain": 60, "bob_gain": 30}, "alice_gain + bob_gain: got 90; allowed: exactly 100"),
        ({"alice_gain": 120, "bob_gain": -20}, "bob_gain: got -20"),
        ({"alice_gain": "60", "bob_gain": 40}, "alice_gain: got '60'; allowed: a finite number"),
        ({"bob_gain": 40}, "alice_gain: got null"),
        (["accept"], "move: got list"),
        ({"alice_gain": 60, "bob_gain": 40, "message": "x" * 2001}, "message: got 2001 characters"),
    ]:
        with pytest.raises(InvalidMove, match=says.replace("+", r"\+").replace("(", r"\(")):
            decode(obs, model, move)


def test_negotiation_reject_carries_the_counteroffer_which_is_the_rejecters_next_proposal() -> None:
    state = at_turn("negotiation", {"price_scale": 100, "max_rounds": 3}, [{"price": 150, "message": "m"}])
    seat = AgentSeat("g", HIDDEN)
    answer = seat.judge(state.observation(2), state.action_model(), {"decision": "RejectOffer", "product_price": 110})
    assert answer.decision == "reject"  # type: ignore[attr-defined]
    state = state.apply(answer)
    counter = seat.take_planned(state.action_model())
    assert counter is not None and counter.price == 110 and counter.message == ""  # type: ignore[attr-defined]
    with pytest.raises(InvalidMove, match="product_price: missing"):
        decode(state.observation(2), state.action_model(), {"decision": "RejectOffer"})
    walk = decode(state.apply(counter).observation(1), NEGOTIATION_RESPONSE, {"decision": "WalkAway"})
    assert [a.decision for a in walk] == ["outside_option"]  # type: ignore[attr-defined]
    last = at_turn("negotiation", {"price_scale": 100, "max_rounds": 1}, [{"price": 150, "message": "m"}])
    # In the last round of a told horizon a rejection takes no counteroffer: it ends the game.
    assert len(decode(last.observation(2), last.action_model(), {"decision": "RejectOffer"})) == 1


NEGOTIATION_RESPONSE = at_turn("negotiation", {}, [{"price": 1, "message": ""}]).action_model()


# --- the sdk player in runs ---------------------------------------------------------------------------


def test_sdk_players_play_every_family_against_baselines_into_duckdb(db_path: Path) -> None:
    config = small_config(db_path, [(STEADY, baseline("spe")), (baseline("random"), STEADY)])
    summary = run(config)
    assert summary.failed == 0 and summary.forfeit == 0 and summary.completed == summary.planned == 24
    with duckdb.connect(str(db_path), read_only=True) as con:
        labels = con.execute("SELECT DISTINCT player_1 FROM games ORDER BY 1").fetchall()
        moves = con.execute(
            "SELECT count(*) FROM turns JOIN games USING (game_id) "
            "WHERE (seat = 1 AND player_1 = 'sdk:strategy') OR (seat = 2 AND player_2 = 'sdk:strategy')"
        ).fetchone()
        counters = con.execute(
            "SELECT count(*) FROM turns t JOIN turns r ON t.game_id = r.game_id AND r.turn = t.turn - 1 "
            "JOIN games g ON g.game_id = t.game_id WHERE g.family = 'negotiation' AND t.kind = 'propose' "
            "AND r.seat = t.seat AND r.kind = 'respond'"
        ).fetchone()
    assert labels == [("baseline:random",), ("sdk:strategy",)]
    assert moves is not None and moves[0] > 24
    assert counters is not None and counters[0] > 0  # counteroffers played as the rejecter's next proposal


def test_invalid_moves_and_exceptions_spend_the_budget_then_forfeit_logged_as_rejections(db_path: Path) -> None:
    broken = PlayerSpec(kind="sdk", strategy=f"{AGENT}:broken", max_attempts=2)
    config = RunConfig(
        games=[GameSet(family=f) for f in ("bargaining", "negotiation", "persuasion")],
        pairs=[(broken, baseline("spe"))],
        db=db_path,
        progress=False,
    )
    summary = run(config)
    assert summary.forfeit == 3 and summary.completed == 0
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(
            "SELECT g.family, c.attempt, c.model, c.rejection, c.error FROM llm_calls c JOIN games g USING (game_id) "
            "ORDER BY 1, 2"
        ).fetchall()
        forfeits = con.execute("SELECT DISTINCT status, forfeit_seat FROM games").fetchall()
    assert forfeits == [("forfeit", 1)]
    assert [(f, a) for f, a, *_ in rows] == [
        (f, a) for f in ("bargaining", "negotiation", "persuasion") for a in (1, 2)
    ]
    said = {f: r for f, _, _, r, _ in rows}
    assert said["bargaining"] == "alice_gain + bob_gain: got 2; allowed: exactly 10000"
    assert said["negotiation"] == "product_price: missing; allowed: a number >= 0 (your offer)"
    assert said["persuasion"] == "the strategy raised RuntimeError: no idea"
    assert {m for _, _, m, _, _ in rows} == {"sdk:broken"} and {e for *_, e in rows} == {None}


def test_a_blocking_strategy_runs_on_worker_threads_and_threads_do_not_change_game_ids(db_path: Path) -> None:
    threaded = STEADY.model_copy(update={"threads": 3})
    assert [s.game_id for s in plan(small_config(db_path, [(threaded, baseline("spe"))]))] == [
        s.game_id for s in plan(small_config(db_path, [(STEADY, baseline("spe"))]))
    ]
    assert baseline("spe").identity() == {k: v for k, v in baseline("spe").model_dump(mode="json").items()
                                          if k not in ("threads", "with_prompt")}  # fmt: skip
    seen: set[str] = set()
    import tests.agents.steady as steady

    def recording(game: dict[str, Any]) -> dict[str, Any]:
        seen.add(threading.current_thread().name)
        return steady.strategy(game)

    steady.recording = recording  # type: ignore[attr-defined]
    spec = PlayerSpec(kind="sdk", strategy="tests.agents.steady:recording", threads=3)
    summary = run(small_config(db_path, [(spec, baseline("fair"))]))
    assert summary.completed == summary.planned
    assert seen and all(name.startswith("glee-sdk-recording") for name in seen)


def test_the_sdk_player_from_the_command_line_and_its_one_line_errors(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    config = validate(expand_seats(["player_1=sdk", f"player_1.strategy={AGENT}:strategy", "player_2=spe", f"db={db}"]))
    [(p1, p2)] = config.pairs
    assert (p1.kind, p1.label(), p2.label()) == ("sdk", "sdk:strategy", "baseline:spe")
    with pytest.raises(ConfigError, match=r"player_1.strategy: .*got None; allowed for an sdk player"):
        validate(expand_seats(["player_1=sdk", "player_2=spe"]))
    missing = PlayerSpec(kind="sdk", strategy=f"{AGENT}:nothing")
    with pytest.raises(ConfigError, match=r"has no function 'nothing'"):
        plan(small_config(db, [(missing, baseline("spe"))]))
    with pytest.raises(ConfigError, match=r"nowhere.py is no file"):
        plan(small_config(db, [(PlayerSpec(kind="sdk", strategy="nowhere.py:f"), baseline("spe"))]))


def test_a_seat_renders_its_rules_once_and_its_prompts_equal_fresh_ones() -> None:
    seat = AgentSeat("g", HIDDEN)
    state = at_turn("persuasion", {"rounds": 3, "myopic_buyer": True}, [])
    for _ in range(3):
        while state.to_act() == 0:
            state = state.apply(state.nature_action())
        if state.to_act() == 2:
            game = seat.game(state.observation(2), state.action_model())
            assert game["prompt"] == game_of(state)["prompt"] and game["prompt"].startswith(seat.system or "-")
            state = state.apply({"decision": "buy"})
        else:
            state = state.apply({"message": "good"})
