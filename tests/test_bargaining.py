"""Bargaining rules (GAMES.md section 1): turn order, validation, ends, payoffs, metrics, views."""

from __future__ import annotations

from typing import Any

import pytest

from glee.games import IllegalAction, new_game, parse_params, restore
from glee.games.bargaining import BargainingObservation, BargainingParams, BargainingState
from tests.support.glee_samples import names, null, read_sample


def game(**raw: Any) -> BargainingState:
    state = new_game(parse_params("bargaining", raw), seed=7)
    assert isinstance(state, BargainingState)
    return state


def offer(own_gain: float, message: str | None = "") -> dict[str, Any]:
    return {"own_gain": own_gain} if message is None else {"own_gain": own_gain, "message": message}


def test_alice_proposes_in_odd_rounds_and_bob_in_even_rounds() -> None:
    state = game(money=100, max_rounds=4)
    seen = []
    for _ in range(3):
        seen.append((state.round, state.to_act(), state.kind()))
        state = state.apply(offer(60))
        seen.append((state.round, state.to_act(), state.kind()))
        state = state.apply({"decision": "reject"})
    assert seen == [
        (1, 1, "propose"), (1, 2, "respond"),
        (2, 2, "propose"), (2, 1, "respond"),
        (3, 1, "propose"), (3, 2, "respond"),
    ]  # fmt: skip


def test_an_offer_is_the_proposers_own_gain_and_the_other_gets_the_rest() -> None:
    state = game(money=100).apply(offer(70)).apply({"decision": "reject"})
    assert state.turns[0].action["own_gain"] == 70
    state = state.apply(offer(80))  # Bob keeps 80
    assert state.pending == (20.0, 80.0)


@pytest.mark.parametrize(
    ("action", "needle"),
    [
        (offer(100.01), "own_gain"),
        (offer(-1), "own_gain"),
        (offer(float("nan")), "own_gain"),
        ({"own_gain": 10}, "message"),  # messages on: the field is required (may be empty)
        ({"own_gain": 10, "message": "", "extra": 1}, "extra"),
        ({"decision": "accept"}, "own_gain"),
    ],
)
def test_an_illegal_offer_is_refused_and_the_state_is_unchanged(action: dict[str, Any], needle: str) -> None:
    state = game(money=100)
    before = state.model_dump_json()
    with pytest.raises(IllegalAction, match=needle):
        state.apply(action)
    assert state.model_dump_json() == before


def test_an_offer_of_exactly_m_or_zero_is_legal() -> None:
    assert game(money=100).apply(offer(100)).pending == (100.0, 0.0)
    assert game(money=100).apply(offer(0)).pending == (0.0, 100.0)


def test_with_messages_off_a_message_is_refused_and_the_schema_has_none() -> None:
    state = game(money=100, messages_allowed=False)
    with pytest.raises(IllegalAction, match="message: not allowed"):
        state.apply(offer(50, "take it"))
    assert "message" not in state.action_model().model_json_schema()["properties"]
    assert state.apply(offer(50, None)).pending == (50.0, 50.0)


def test_a_response_is_accept_or_reject_only() -> None:
    state = game(money=100).apply(offer(50))
    with pytest.raises(IllegalAction, match="decision"):
        state.apply({"decision": "outside_option"})


def test_agreement_pays_the_discounted_split_and_scores_it() -> None:
    # M = 100, δ1 = 0.9, δ2 = 0.8; Alice's offer of 60 accepted in round 3 (t - 1 = 2):
    # payoffs 60·0.81 = 48.6 and 40·0.64 = 25.6; self-gains 0.486 and 0.256;
    # efficiency 0.742; fairness 1 - 4·(0.6 - 0.5)² = 0.96; first offer share 0.7.
    state = game(money=100, delta_1=0.9, delta_2=0.8, max_rounds=5)
    state = state.apply(offer(70)).apply({"decision": "reject"})
    state = state.apply(offer(55)).apply({"decision": "reject"})
    state = state.apply(offer(60)).apply({"decision": "accept"})
    assert state.is_over and state.to_act() is None
    out = state.outcome()
    assert out.end_reason == "agreement" and out.agreement and out.rounds == 3
    assert out.payoff_1 == pytest.approx(48.6) and out.payoff_2 == pytest.approx(25.6)
    assert out.self_gain_1 == pytest.approx(0.486) and out.self_gain_2 == pytest.approx(0.256)
    assert out.efficiency == pytest.approx(0.742)
    assert out.fairness == pytest.approx(0.96)
    assert out.extras["first_offer_share"] == pytest.approx(0.7)
    assert out.extras["share_1"] == pytest.approx(0.6)


def test_a_reject_in_the_last_round_ends_with_no_deal_worth_nothing() -> None:
    state = game(money=100, max_rounds=2)
    state = state.apply(offer(90)).apply({"decision": "reject"})
    assert not state.is_over and state.round == 2
    state = state.apply(offer(90)).apply({"decision": "reject"})
    assert state.is_over
    out = state.outcome()
    assert out.end_reason == "no_deal" and not out.agreement and out.rounds == 2
    assert (out.payoff_1, out.payoff_2, out.self_gain_1, out.self_gain_2) == (0.0, 0.0, 0.0, 0.0)
    assert out.efficiency == 0.0
    assert out.fairness is None  # not defined without a deal (the original scored Bob as winner)
    assert out.extras["first_offer_share"] == pytest.approx(0.9)
    with pytest.raises(IllegalAction, match="over"):
        state.apply(offer(1))


def test_a_forfeit_is_scored_as_no_deal() -> None:
    state = game(money=100).apply(offer(50)).forfeit(2)
    out = state.outcome()
    assert out.end_reason == "forfeit" and out.forfeit_seat == 2 and not out.agreement
    assert (out.payoff_1, out.payoff_2) == (0.0, 0.0)
    # What the rules give a game without a deal: both gains 0, efficiency 0, fairness undefined.
    assert (out.self_gain_1, out.self_gain_2, out.efficiency, out.fairness) == (0.0, 0.0, 0.0, None)
    with pytest.raises(IllegalAction, match="over"):
        state.forfeit(1)


def test_apply_returns_a_new_state_and_never_changes_the_old_one() -> None:
    start = game(money=100)
    after = start.apply(offer(40))
    assert start.pending is None and start.turns == ()
    assert after.pending == (40.0, 60.0) and len(after.turns) == 1


def test_state_round_trips_through_json() -> None:
    state = game(money=100, delta_1=0.8).apply(offer(33.3, "hi")).apply({"decision": "reject"})
    assert restore("bargaining", state.model_dump_json()) == state


def observe(state: BargainingState, seat: int) -> BargainingObservation:
    obs = state.observation(1 if seat == 1 else 2)
    assert isinstance(obs, BargainingObservation)
    return obs


def test_complete_information_states_the_others_delta_and_incomplete_hides_it() -> None:
    full = game(delta_1=0.9, delta_2=0.8)
    assert (observe(full, 1).own_delta, observe(full, 1).other_delta) == (0.9, 0.8)
    assert (observe(full, 2).own_delta, observe(full, 2).other_delta) == (0.8, 0.9)
    equal = game(delta_1=0.95, delta_2=0.95)
    assert observe(equal, 1).other_delta == 0.95  # stated also when equal
    hidden = game(delta_1=0.9, delta_2=0.8, complete_information=False)
    assert observe(hidden, 1).other_delta is None and observe(hidden, 2).other_delta is None
    assert observe(hidden, 1).own_delta == 0.9


def test_the_horizon_is_disclosed_only_up_to_20_rounds_unless_set() -> None:
    assert observe(game(max_rounds=20), 1).max_rounds == 20
    assert observe(game(max_rounds=21), 1).max_rounds is None
    assert observe(game(max_rounds=99, horizon_disclosed=True), 2).max_rounds == 99
    assert observe(game(max_rounds=12, horizon_disclosed=False), 2).max_rounds is None
    # A hidden horizon still stops the game.
    state = game(money=10, max_rounds=21)
    for _ in range(21):
        state = state.apply(offer(10)).apply({"decision": "reject"})
    assert state.end_reason == "no_deal" and state.round == 21


def test_only_the_responder_sees_the_offer_awaiting_its_answer() -> None:
    state = game(money=100).apply(offer(64))
    assert observe(state, 2).pending_offer == (64.0, 36.0)
    assert observe(state, 2).to_act and observe(state, 2).kind == "respond"
    assert observe(state, 1).pending_offer is None and not observe(state, 1).to_act
    assert observe(state, 1).kind is None


# ---------------------------------------------------------------- real games


def replay(game_id: str) -> BargainingState:
    """Replay a GLEE bargaining game.csv: proposal rows carry both gains, responses accept/reject."""
    config, rows = read_sample("bargaining", game_id)
    args = dict(config["game_args"])
    for seat in (1, 2):  # older files keep δ with the player (default 1.0)
        args.setdefault(f"delta_{seat}", config[f"player_{seat}_args"].get("delta", 1.0))
    params = parse_params("bargaining", {**args, **names(config)})
    assert isinstance(params, BargainingParams)
    gains = {1: f"{params.name_1.lower()}_gain", 2: f"{params.name_2.lower()}_gain"}
    seat_of = {params.name_1: 1, params.name_2: 2}
    state = new_game(params, seed=0)
    assert isinstance(state, BargainingState)
    for row in rows:
        seat = seat_of[row["player"]]
        assert state.to_act() == seat and state.round == int(row["round"])
        decision = null(row["decision"])
        if decision is None:
            action: dict[str, Any] = {"own_gain": float(row[gains[seat]]), "message": null(row["message"]) or ""}
        else:
            action = {"decision": decision}
        state = state.apply(action)
    assert state.is_over
    return state


def test_replay_of_a_four_round_human_vs_llm_game() -> None:
    # 0003852CF8408F00: δ1 = δ2 = 1 (old layout, in player_N_args), M = 10 000, T = 99.
    # Alice 7354/2646 rejected, Bob 5000/5000 rejected, Alice 7420/2580 rejected,
    # Bob 6000/4000 (keeps 4000) accepted in round 4: s = 0.6, no discount, so self-gains
    # 0.6 / 0.4, efficiency 1, fairness 1 - 4·0.1² = 0.96, first offer share 0.7354.
    state = replay("0003852CF8408F00")
    assert state.params.delta_1 == 1.0 and state.params.delta_2 == 1.0
    assert state.params.money == 10_000 and state.params.horizon_disclosed is False
    out = state.outcome()
    assert out.end_reason == "agreement" and out.rounds == 4
    assert (out.payoff_1, out.payoff_2) == (6000.0, 4000.0)
    assert out.self_gain_1 == pytest.approx(0.6) and out.self_gain_2 == pytest.approx(0.4)
    assert out.efficiency == pytest.approx(1.0)
    assert out.fairness == pytest.approx(0.96)
    assert out.extras["first_offer_share"] == pytest.approx(0.7354)
    assert state.turns[2].action["message"] == "Let's split it evenly. Fair play!"


def test_replay_of_an_even_split_accepted_at_once() -> None:
    # 0043BAB60C08E66A: δ1 = 1, δ2 = 0.8 (new layout, game_args), M = 100, T = 12 (disclosed).
    # Alice offers 50/50, Bob accepts in round 1: no discount yet, self-gains 0.5 / 0.5,
    # efficiency 1, fairness 1, first offer share 0.5.
    state = replay("0043BAB60C08E66A")
    assert (state.params.delta_1, state.params.delta_2) == (1.0, 0.8)
    assert state.params.horizon_disclosed is True
    out = state.outcome()
    assert out.end_reason == "agreement" and out.rounds == 1
    assert (out.payoff_1, out.payoff_2) == (50.0, 50.0)
    assert (out.self_gain_1, out.self_gain_2, out.efficiency, out.fairness) == (0.5, 0.5, 1.0, 1.0)
    assert out.extras["first_offer_share"] == 0.5
