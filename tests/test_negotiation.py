"""Negotiation rules (GAMES.md section 2): order, outside options, ends, payoffs, metrics, views."""

from __future__ import annotations

from typing import Any

import pytest

from glee.games import IllegalAction, new_game, parse_params, restore
from glee.games.negotiation import NegotiationObservation, NegotiationParams, NegotiationState
from tests.support.glee_samples import names, null, read_sample


def game(**raw: Any) -> NegotiationState:
    state = new_game(parse_params("negotiation", {"price_scale": 100, **raw}), seed=3)
    assert isinstance(state, NegotiationState)
    return state


def price(value: float) -> dict[str, Any]:
    return {"price": value, "message": ""}


def observe(state: NegotiationState, seat: int) -> NegotiationObservation:
    obs = state.observation(1 if seat == 1 else 2)
    assert isinstance(obs, NegotiationObservation)
    return obs


def test_the_seller_proposes_in_odd_rounds_and_the_buyer_in_even_rounds() -> None:
    state = game(max_rounds=3)
    order = []
    for _ in range(3):
        order.append((state.round, state.to_act(), state.kind()))
        state = state.apply(price(110))
        order.append((state.round, state.to_act(), state.kind()))
        state = state.apply({"decision": "reject"})
    assert order == [
        (1, 1, "propose"), (1, 2, "respond"),
        (2, 2, "propose"), (2, 1, "respond"),
        (3, 1, "propose"), (3, 2, "respond"),
    ]  # fmt: skip
    assert state.end_reason == "no_deal"


@pytest.mark.parametrize(
    ("action", "needle"),
    [
        (price(-0.01), "price"),
        (price(float("inf")), "price"),
        ({"price": 100}, "message"),
        ({"decision": "outside_option"}, "price"),  # a proposer has no outside option to take
    ],
)
def test_an_illegal_proposal_is_refused(action: dict[str, Any], needle: str) -> None:
    with pytest.raises(IllegalAction, match=needle):
        game().apply(action)


def test_a_response_is_accept_reject_or_the_responders_own_outside_option() -> None:
    state = game().apply(price(110))
    with pytest.raises(IllegalAction, match="decision"):
        state.apply({"decision": "SellToJhon"})  # original tokens are the importer's to map
    for decision in ("accept", "reject", "outside_option"):
        assert state.apply({"decision": decision}).turns[-1].action == {"decision": decision}


def test_with_messages_off_a_message_is_refused() -> None:
    state = game(messages_allowed=False)
    with pytest.raises(IllegalAction, match="message: not allowed"):
        state.apply(price(100))
    assert state.apply({"price": 100}).pending == 100


def test_a_trade_pays_both_sides_their_surplus_and_scores_it() -> None:
    # F_A = 1, F_B = 1.2, M = 100; the buyer's 105 accepted by the seller in round 2:
    # p = 1.05, payoffs 105 - 100 = 5 and 120 - 105 = 15; self-gains 0.05 / 0.15;
    # efficiency 1 (trade with F_B > F_A); fairness 1 - 4·(1.05 - 1.1)² = 0.99;
    # seller's share of the surplus (1.05 - 1)/0.2 = 0.25.
    state = game(seller_value=1.0, buyer_value=1.2)
    state = state.apply(price(130)).apply({"decision": "reject"})
    state = state.apply(price(105)).apply({"decision": "accept"})
    out = state.outcome()
    assert out.end_reason == "agreement" and out.agreement and out.rounds == 2
    assert out.payoff_1 == pytest.approx(5) and out.payoff_2 == pytest.approx(15)
    assert out.self_gain_1 == pytest.approx(0.05) and out.self_gain_2 == pytest.approx(0.15)
    assert out.efficiency == 1.0
    assert out.fairness == pytest.approx(0.99)
    assert out.extras["seller_surplus_share"] == pytest.approx(0.25)
    assert out.extras["price"] == 105
    assert out.extras["first_offer_price"] == 130
    assert (out.extras["ended_by"], out.extras["ended_how"]) == (1, "accept")


def test_a_loss_making_trade_has_negative_self_gain_and_fairness_floored_at_zero() -> None:
    # F_A = 1, F_B = 1.2, price 200 (p = 2): seller +1.0, buyer -0.8;
    # 1 - 4·(2 - 1.1)² = -2.24 is floored at 0.
    out = game(seller_value=1.0, buyer_value=1.2).apply(price(200)).apply({"decision": "accept"}).outcome()
    assert out.self_gain_1 == pytest.approx(1.0) and out.self_gain_2 == pytest.approx(-0.8)
    assert out.fairness == 0.0


def test_a_trade_when_the_buyer_values_less_is_inefficient() -> None:
    out = game(seller_value=1.5, buyer_value=1.2).apply(price(130)).apply({"decision": "accept"}).outcome()
    assert out.efficiency == 0.0
    assert out.extras["seller_surplus_share"] is None  # only defined when F_B > F_A


@pytest.mark.parametrize(
    ("seller_value", "buyer_value", "efficiency"),
    [(1.0, 1.2, 0.0), (1.5, 1.2, 1.0), (1.0, 1.0, 1.0)],
)
def test_an_outside_option_ends_without_trade(seller_value: float, buyer_value: float, efficiency: float) -> None:
    # No trade is efficient exactly when F_B < F_A (and anything is when F_B = F_A).
    state = game(seller_value=seller_value, buyer_value=buyer_value).apply(price(140))
    state = state.apply({"decision": "outside_option"})  # the buyer buys elsewhere at F_B·M
    out = state.outcome()
    assert out.end_reason == "outside_option" and not out.agreement and out.rounds == 1
    assert (out.payoff_1, out.payoff_2, out.self_gain_1, out.self_gain_2) == (0.0, 0.0, 0.0, 0.0)
    assert out.efficiency == efficiency
    assert out.fairness is None
    assert (out.extras["ended_by"], out.extras["ended_how"]) == (2, "outside_option")


def test_the_seller_takes_its_outside_option_when_it_responds() -> None:
    state = game().apply(price(100)).apply({"decision": "reject"}).apply(price(10))
    out = state.apply({"decision": "outside_option"}).outcome()
    assert out.end_reason == "outside_option" and out.extras["ended_by"] == 1 and out.rounds == 2


def test_one_round_is_take_it_or_leave_it() -> None:
    state = game(max_rounds=1).apply(price(110)).apply({"decision": "reject"})
    out = state.outcome()
    assert out.end_reason == "no_deal" and out.rounds == 1
    assert out.efficiency == 0.0  # F_B = 1.2 > F_A = 1: a missed trade
    assert (out.extras["ended_by"], out.extras["ended_how"]) == (2, "reject_at_deadline")


def test_a_forfeit_is_scored_as_no_trade() -> None:
    out = game().apply(price(110)).forfeit(2).outcome()
    assert out.end_reason == "forfeit" and out.forfeit_seat == 2 and not out.agreement
    assert (out.payoff_1, out.payoff_2, out.self_gain_1, out.self_gain_2, out.fairness) == (0.0, 0.0, 0.0, 0.0, None)
    assert out.efficiency == 0.0  # buyer_value 1.2 > seller_value 1: no trade loses the surplus
    assert game(seller_value=1.5, buyer_value=1.2).forfeit(1).outcome().efficiency == 1.0


def test_each_side_sees_its_own_value_and_the_others_only_under_complete_information() -> None:
    full = game(seller_value=0.8, buyer_value=1.5)
    assert (observe(full, 1).role, observe(full, 1).own_value, observe(full, 1).other_value) == ("seller", 80, 150)
    assert (observe(full, 2).role, observe(full, 2).own_value, observe(full, 2).other_value) == ("buyer", 150, 80)
    hidden = game(seller_value=0.8, buyer_value=1.5, complete_information=False)
    assert observe(hidden, 1).other_value is None and observe(hidden, 2).other_value is None
    assert observe(hidden, 2).own_value == 150


def test_the_horizon_is_hidden_above_20_rounds_and_the_offer_shown_to_the_responder() -> None:
    assert observe(game(max_rounds=10), 1).max_rounds == 10
    assert observe(game(max_rounds=30), 2).max_rounds is None
    state = game().apply(price(111))
    assert observe(state, 2).pending_price == 111 and observe(state, 1).pending_price is None


def test_state_round_trips_through_json() -> None:
    state = game().apply(price(111.5)).apply({"decision": "reject"}).apply(price(99))
    assert restore("negotiation", state.model_dump_json()) == state


# ---------------------------------------------------------------- real games

DECISIONS = {
    "AcceptOffer": "accept",
    "RejectOffer": "reject",
    "SellToJhon": "outside_option",  # only the seller's
    "BuyFromJhon": "outside_option",  # only the buyer's
}
OWN_OPTION = {"SellToJhon": 1, "BuyFromJhon": 2}


def replay(game_id: str) -> NegotiationState:
    """Replay a GLEE negotiation game.csv: proposals carry product_price, responses a decision token."""
    config, rows = read_sample("negotiation", game_id)
    params = parse_params("negotiation", {**config["game_args"], **names(config)})
    assert isinstance(params, NegotiationParams)
    seat_of = {params.name_1: 1, params.name_2: 2}
    state = new_game(params, seed=0)
    assert isinstance(state, NegotiationState)
    for row in rows:
        seat = seat_of[row["player"]]
        assert state.to_act() == seat and state.round == int(row["round"])
        token = null(row["decision"])
        if token is None:
            action: dict[str, Any] = {"price": float(row["product_price"]), "message": null(row["message"]) or ""}
        else:
            assert OWN_OPTION.get(token, seat) == seat, f"{token} by seat {seat}: not its own outside option"
            action = {"decision": DECISIONS[token]}
        state = state.apply(action)
    assert state.is_over
    return state


def test_replay_of_a_low_first_offer_then_a_buyer_proposal_accepted() -> None:
    # 074B169DA9A84299: F_A = 1, F_B = 1.2, M = 10 000, T = 10 (disclosed).
    # The human seller asks 50, the LLM buyer rejects and offers 8000, the seller accepts
    # in round 2: p = 0.8, seller 0.8 - 1 = -0.2, buyer 1.2 - 0.8 = 0.4 (payoffs -2000 and
    # 4000); efficiency 1 (trade, F_B > F_A); fairness 1 - 4·(0.8 - 1.1)² = 0.64;
    # seller's share of the surplus (0.8 - 1)/0.2 = -1.
    state = replay("074B169DA9A84299")
    out = state.outcome()
    assert out.end_reason == "agreement" and out.rounds == 2
    assert out.payoff_1 == pytest.approx(-2000) and out.payoff_2 == pytest.approx(4000)
    assert out.self_gain_1 == pytest.approx(-0.2) and out.self_gain_2 == pytest.approx(0.4)
    assert out.efficiency == 1.0
    assert out.fairness == pytest.approx(0.64)
    assert out.extras["seller_surplus_share"] == pytest.approx(-1.0)
    assert out.extras["first_offer_price"] == 50
    assert (out.extras["ended_by"], out.extras["ended_how"]) == (1, "accept")


def test_replay_of_a_first_offer_accepted_with_equal_values() -> None:
    # 0A648D1DFE3B4C5E: F_A = F_B = 1, M = 100, T = 30 (hidden). The LLM seller asks 110,
    # the human buyer accepts at once: p = 1.1, seller +0.1, buyer -0.1 (payoffs 10 / -10);
    # efficiency 1 (F_B = F_A); fairness 1 - 4·(1.1 - 1)² = 0.96; no surplus to share.
    state = replay("0A648D1DFE3B4C5E")
    assert state.params.horizon_disclosed is False
    out = state.outcome()
    assert out.end_reason == "agreement" and out.rounds == 1
    assert out.payoff_1 == pytest.approx(10) and out.payoff_2 == pytest.approx(-10)
    assert out.self_gain_1 == pytest.approx(0.1) and out.self_gain_2 == pytest.approx(-0.1)
    assert out.efficiency == 1.0
    assert out.fairness == pytest.approx(0.96)
    assert out.extras["seller_surplus_share"] is None
    assert (out.extras["ended_by"], out.extras["ended_how"]) == (2, "accept")
