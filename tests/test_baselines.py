"""Baseline players: the protocol, each strategy's rule on hand-worked positions, seeded randomness."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from glee.games import ConfigError, GameState, Params, new_game, parse_params
from glee.games.bargaining import BargainingParams
from glee.players.baseline import BaselinePlayer, make_baseline
from glee.players.baselines.bargaining import backward_shares, stationary_share
from glee.players.baselines.persuasion import buy_threshold, low_recommend_probability
from glee.prompts.recommendation import RECOMMEND_NO, RECOMMEND_YES, read_recommendation, recommendation_text


def params(family: str, **raw: Any) -> Params:
    return parse_params(family, raw)


def act(player: BaselinePlayer, state: GameState) -> dict[str, Any]:
    """The player's action for the seat to move, as a dict (the player runs on one event loop)."""
    seat = state.to_act()
    assert seat == player.seat
    decision = asyncio.run(player.act(state.observation(player.seat), state.action_model()))
    assert isinstance(decision.action, state.action_model()) and decision.attempts == []
    return decision.action.model_dump()


def after(state: GameState, *actions: dict[str, Any]) -> GameState:
    for action in actions:
        state = state.apply(action)
    return state


# ---------------------------------------------------------------- protocol


def test_a_baseline_is_labelled_by_strategy_and_answers_with_the_turns_action_model() -> None:
    for strategy in ("spe", "random", "fair"):
        p = params("bargaining", messages_allowed=True)
        player = make_baseline(strategy, p, 1, seed=0)
        assert player.label == f"baseline:{strategy}"
        action = act(player, new_game(p, 0))
        assert action["message"] == ""  # a required message is present, and empty


def test_a_bad_strategy_or_seat_is_a_config_error() -> None:
    with pytest.raises(
        ConfigError, match=r"^strategy: got 'greedy'; allowed for bargaining: one of \['fair', 'random', 'spe'\]$"
    ):
        make_baseline("greedy", params("bargaining"), 1, 0)
    with pytest.raises(ConfigError, match="strategy: got 'babbling'; allowed for negotiation: one of"):
        make_baseline("babbling", params("negotiation"), 1, 0)  # a persuasion benchmark only
    with pytest.raises(ConfigError, match="seat: got 3"):
        make_baseline("spe", params("bargaining"), 3, 0)  # type: ignore[arg-type]


def test_random_players_are_reproducible_by_seed_and_leave_global_randomness_alone() -> None:
    p = params("negotiation")
    state = new_game(p, 0)

    def prices(seed: int) -> list[float]:
        player = make_baseline("random", p, 1, seed)
        return [act(player, state)["price"] for _ in range(5)]

    random.seed(123)
    before = random.getstate()
    assert prices(1) == prices(1)
    assert prices(1) != prices(2)
    assert random.getstate() == before


# ---------------------------------------------------------------- bargaining


def test_stationary_shares_follow_the_rubinstein_formula() -> None:
    assert stationary_share(0.9, 0.8) == pytest.approx(0.2 / 0.28)  # (1-δ2)/(1-δ1δ2) = 0.714…
    assert stationary_share(0.8, 0.9) == pytest.approx(0.1 / 0.28)
    assert stationary_share(1.0, 1.0) == 0.5  # the 0/0 convention
    assert stationary_share(1.0, 0.8) == 1.0 and stationary_share(0.8, 1.0) == 0.0


def test_backward_induction_shares_by_hand() -> None:
    # T = 3, δ1 = 0.9 (Alice), δ2 = 0.8 (Bob): k3 = 1 (Alice proposes last);
    # k2 = 1 - δ1·k3 = 0.1 (Bob proposes, Alice responds); k1 = 1 - δ2·k2 = 0.92.
    p = params("bargaining", delta_1=0.9, delta_2=0.8, max_rounds=3)
    assert isinstance(p, BargainingParams)
    assert backward_shares(p) == pytest.approx([0.92, 0.1, 1.0])
    # Without discounting the last proposer takes everything, whoever proposes first.
    even = params("bargaining", delta_1=1, delta_2=1, max_rounds=12)
    assert isinstance(even, BargainingParams)
    assert backward_shares(even)[0] == 0.0 and backward_shares(even)[1] == 1.0


def test_spe_proposer_keeps_its_share_and_responder_accepts_only_its_continuation() -> None:
    # Hidden horizon (T = 99), δ1 = 0.9, δ2 = 0.8, M = 1000: Alice keeps 714.29; Bob's
    # continuation is δ2·k_Bob·M = 0.8·(0.1/0.28)·1000 = 285.71, exactly what he is offered.
    p = params("bargaining", delta_1=0.9, delta_2=0.8, money=1000, max_rounds=99)
    alice, bob = make_baseline("spe", p, 1, 0), make_baseline("spe", p, 2, 0)
    start = new_game(p, 0)
    own = act(alice, start)["own_gain"]
    assert own == pytest.approx(1000 * 0.2 / 0.28)
    continuation = 0.8 * (0.1 / 0.28) * 1000
    assert act(bob, after(start, {"own_gain": 1000 - continuation, "message": ""})) == {"decision": "accept"}
    tiny = 1e-6 * 1000  # well above the 1e-9·M tolerance
    assert act(bob, after(start, {"own_gain": 1000 - continuation + tiny, "message": ""})) == {"decision": "reject"}


def test_spe_with_a_disclosed_horizon_uses_backward_induction_and_accepts_anything_in_the_last_round() -> None:
    p = params("bargaining", delta_1=0.9, delta_2=0.8, money=100, max_rounds=3, messages_allowed=False)
    alice, bob = make_baseline("spe", p, 1, 0), make_baseline("spe", p, 2, 0)
    start = new_game(p, 0)
    assert act(alice, start)["own_gain"] == pytest.approx(92)
    # Round 1: Bob's continuation δ2·k2·M = 0.8·0.1·100 = 8.
    assert act(bob, after(start, {"own_gain": 92})) == {"decision": "accept"}
    assert act(bob, after(start, {"own_gain": 92.5})) == {"decision": "reject"}
    # Round 3 (the last): Alice proposes everything for herself and Bob accepts nothing.
    last = after(start, {"own_gain": 99}, {"decision": "reject"}, {"own_gain": 99}, {"decision": "reject"})
    assert act(alice, last)["own_gain"] == pytest.approx(100)
    assert act(bob, after(last, {"own_gain": 100})) == {"decision": "accept"}


def test_fair_bargainer_splits_evenly_and_accepts_at_least_half() -> None:
    p = params("bargaining", money=100)
    alice, bob = make_baseline("fair", p, 1, 0), make_baseline("fair", p, 2, 0)
    start = new_game(p, 0)
    assert act(alice, start)["own_gain"] == 50
    assert act(bob, after(start, {"own_gain": 50, "message": ""})) == {"decision": "accept"}
    assert act(bob, after(start, {"own_gain": 50.01, "message": ""})) == {"decision": "reject"}


def test_random_bargainer_offers_within_zero_and_m() -> None:
    p = params("bargaining", money=100, messages_allowed=False)
    player = make_baseline("random", p, 1, 4)
    gains = [act(player, new_game(p, 0))["own_gain"] for _ in range(200)]
    assert min(gains) >= 0 and max(gains) <= 100 and max(gains) - min(gains) > 50


# ---------------------------------------------------------------- negotiation


@pytest.mark.parametrize(
    ("max_rounds", "price"),
    [(1, 120.0), (2, 100.0), (3, 120.0), (10, 100.0), (30, 110.0), (99, 110.0)],
)
def test_spe_proposer_leaves_the_whole_surplus_to_the_last_rounds_proposer(max_rounds: int, price: float) -> None:
    # F_A = 1, F_B = 1.2, M = 100: T odd -> the seller proposes last -> price F_B·M = 120;
    # T even -> the buyer proposes last -> price F_A·M = 100. Either way accepted in round 1.
    # A hidden horizon (T > 20) is not the players' to count: the midpoint 110, whatever T's parity.
    p = params("negotiation", seller_value=1, buyer_value=1.2, price_scale=100, max_rounds=max_rounds)
    seller, buyer = make_baseline("spe", p, 1, 0), make_baseline("spe", p, 2, 0)
    start = new_game(p, 0)
    assert act(seller, start)["price"] == pytest.approx(price)
    assert act(buyer, after(start, {"price": price, "message": ""})) == {"decision": "accept"}


def test_spe_responder_rejects_below_its_continuation_and_leaves_rather_than_lose() -> None:
    p = params("negotiation", seller_value=1, buyer_value=1.2, price_scale=100, max_rounds=10)
    start = new_game(p, 0)
    buyer = make_baseline("spe", p, 2, 0)  # T = 10: the buyer proposes last, continuation 20
    assert act(buyer, after(start, {"price": 101, "message": ""})) == {"decision": "reject"}
    assert act(buyer, after(start, {"price": 130, "message": ""})) == {"decision": "reject"}  # it can still wait
    seller = make_baseline("spe", p, 1, 0)  # the seller's continuation is 0
    round_2 = after(start, {"price": 100, "message": ""}, {"decision": "reject"})
    assert act(seller, after(round_2, {"price": 100, "message": ""})) == {"decision": "accept"}
    assert act(seller, after(round_2, {"price": 99, "message": ""})) == {"decision": "outside_option"}
    # Take it or leave it (T = 1): the buyer accepts any price up to its value and leaves above it.
    once = params("negotiation", seller_value=1, buyer_value=1.2, price_scale=100, max_rounds=1)
    buyer_once = make_baseline("spe", once, 2, 0)
    assert act(buyer_once, after(new_game(once, 0), {"price": 120, "message": ""})) == {"decision": "accept"}
    assert act(buyer_once, after(new_game(once, 0), {"price": 121, "message": ""})) == {"decision": "outside_option"}


def test_spe_without_gains_from_trade_names_its_own_value_and_the_responder_leaves() -> None:
    p = params("negotiation", seller_value=1.5, buyer_value=1.2, price_scale=100, max_rounds=10)
    seller, buyer = make_baseline("spe", p, 1, 0), make_baseline("spe", p, 2, 0)
    start = new_game(p, 0)
    assert act(seller, start)["price"] == pytest.approx(150)
    assert act(buyer, after(start, {"price": 150, "message": ""})) == {"decision": "outside_option"}
    round_2 = after(start, {"price": 150, "message": ""}, {"decision": "reject"})
    assert act(buyer, round_2)["price"] == pytest.approx(120)
    assert act(seller, after(round_2, {"price": 120, "message": ""})) == {"decision": "outside_option"}


def test_fair_negotiator_names_the_midpoint_and_accepts_what_is_at_least_as_good() -> None:
    p = params("negotiation", seller_value=1, buyer_value=1.2, price_scale=100)
    seller, buyer = make_baseline("fair", p, 1, 0), make_baseline("fair", p, 2, 0)
    start = new_game(p, 0)
    assert act(seller, start)["price"] == pytest.approx(110)
    assert act(buyer, after(start, {"price": 110, "message": ""})) == {"decision": "accept"}
    assert act(buyer, after(start, {"price": 109, "message": ""})) == {"decision": "accept"}
    assert act(buyer, after(start, {"price": 115, "message": ""})) == {"decision": "reject"}
    assert act(buyer, after(start, {"price": 121, "message": ""})) == {"decision": "outside_option"}
    round_2 = after(start, {"price": 110, "message": ""}, {"decision": "reject"})
    assert act(seller, after(round_2, {"price": 112, "message": ""})) == {"decision": "accept"}
    assert act(seller, after(round_2, {"price": 105, "message": ""})) == {"decision": "reject"}
    assert act(seller, after(round_2, {"price": 99, "message": ""})) == {"decision": "outside_option"}
    # Without gains from trade the midpoint loses the buyer money: it leaves.
    loss = params("negotiation", seller_value=1.5, buyer_value=1.2, price_scale=100)
    buyer_loss = make_baseline("fair", loss, 2, 0)
    assert act(buyer_loss, after(new_game(loss, 0), {"price": 135, "message": ""})) == {"decision": "outside_option"}


def test_random_negotiator_prices_within_twice_the_larger_value() -> None:
    p = params("negotiation", seller_value=0.8, buyer_value=1.5, price_scale=100)
    player = make_baseline("random", p, 1, 8)
    prices = [act(player, new_game(p, 0))["price"] for _ in range(200)]
    assert min(prices) >= 0 and max(prices) <= 300 and max(prices) > 200
    responder = make_baseline("random", p, 2, 8)
    offered = after(new_game(p, 0), {"price": 100, "message": ""})
    assert {act(responder, offered)["decision"] for _ in range(60)} == {"accept", "reject", "outside_option"}


# ---------------------------------------------------------------- persuasion


def test_the_committed_policy_by_hand() -> None:
    # c = 0: t = 1/v; x = min(1, p(v-1)/(1-p)).
    p = params("persuasion", p=1 / 3, v=1.25)
    assert buy_threshold(p) == pytest.approx(0.8)  # type: ignore[arg-type]
    assert low_recommend_probability(p) == pytest.approx((1 / 3) * 0.25 / (2 / 3))  # type: ignore[arg-type]
    assert low_recommend_probability(params("persuasion", p=0.5, v=3)) == 1.0  # type: ignore[arg-type]
    # c > 0: t = (1-c)/(v-c) = 0.5/1.5 = 1/3; x = p(1-t)/((1-p)t) = 0.2·(2/3)/(0.8/3) = 0.5.
    with_c = params("persuasion", p=0.2, v=2, c=0.5)
    assert buy_threshold(with_c) == pytest.approx(1 / 3)  # type: ignore[arg-type]
    assert low_recommend_probability(with_c) == pytest.approx(0.5)  # type: ignore[arg-type]


def seller_says(p: Params, quality: str, seed: int, strategy: str = "commitment") -> Any:
    seller = make_baseline(strategy, p, 1, seed)
    state = after(new_game(p, 0), {"quality": quality})
    action = act(seller, state)
    return action["recommend"] if p.seller_message_type == "binary" else action["message"]  # type: ignore[attr-defined]


def test_commitment_seller_recommends_every_high_product_and_low_ones_at_rate_x() -> None:
    p = params("persuasion", p=1 / 3, v=2, seller_message_type="binary")  # x = (1/3)/(2/3) = 0.5
    assert {seller_says(p, "high", seed) for seed in range(50)} == {"yes"}
    yes = sum(seller_says(p, "low", seed) == "yes" for seed in range(400))
    assert 160 < yes < 240  # 400·0.5 = 200, ±4 standard errors (σ = 10)
    text = params("persuasion", p=1 / 3, v=2, seller_message_type="text")
    assert seller_says(text, "high", 0) == RECOMMEND_YES


def buyer_decides(p: Params, seller: dict[str, Any], strategy: str = "commitment") -> str:
    buyer = make_baseline(strategy, p, 2, 0)
    return str(act(buyer, after(new_game(p, 0), {"quality": "low"}, seller))["decision"])


def test_commitment_buyer_buys_after_yes_when_the_posterior_reaches_the_threshold() -> None:
    # p = 1/3, v = 2: x = 0.5, posterior after yes (1/3)/(1/3 + 2/3·0.5) = 0.5 = t: buy (indifferent).
    p = params("persuasion", p=1 / 3, v=2, seller_message_type="binary")
    assert buyer_decides(p, {"recommend": "yes"}) == "buy"
    assert buyer_decides(p, {"recommend": "no"}) == "pass"


def test_commitment_buyer_reads_text_and_falls_back_to_its_prior_when_it_cannot() -> None:
    low_prior = params("persuasion", p=1 / 3, v=2)  # p < t = 0.5: pass on the prior
    assert buyer_decides(low_prior, {"message": recommendation_text(True)}) == "buy"
    assert buyer_decides(low_prior, {"message": recommendation_text(False)}) == "pass"
    assert buyer_decides(low_prior, {"message": "Best product in town, trust me!"}) == "pass"
    high_prior = params("persuasion", p=0.8, v=2)  # p >= t: buy on the prior
    assert buyer_decides(high_prior, {"message": "100"}) == "buy"


def test_fair_seller_tells_the_truth_and_fair_buyer_trusts_it() -> None:
    p = params("persuasion", seller_message_type="binary")
    seller, buyer = make_baseline("fair", p, 1, 0), make_baseline("fair", p, 2, 0)
    high, low = after(new_game(p, 0), {"quality": "high"}), after(new_game(p, 0), {"quality": "low"})
    assert act(seller, high) == {"recommend": "yes", "message": None}
    assert act(seller, low) == {"recommend": "no", "message": None}
    assert act(buyer, after(low, {"recommend": "no"}))["decision"] == "pass"
    assert act(buyer, after(low, {"recommend": "yes"}))["decision"] == "buy"
    text = params("persuasion", seller_message_type="text")
    trusting = make_baseline("fair", text, 2, 0)
    unreadable = after(new_game(text, 0), {"quality": "low"}, {"message": "hmm"})
    assert act(trusting, unreadable)["decision"] == "buy"


def test_random_persuasion_players_use_every_choice_and_empty_messages() -> None:
    binary = params("persuasion", seller_message_type="binary", buyer_messages_allowed=True)
    seller = make_baseline("random", binary, 1, 3)
    drawn = after(new_game(binary, 0), {"quality": "high"})
    assert {act(seller, drawn)["recommend"] for _ in range(40)} == {"yes", "no"}
    buyer = make_baseline("random", binary, 2, 3)
    told = after(drawn, {"recommend": "yes"})
    answers = [act(buyer, told) for _ in range(40)]
    assert {a["decision"] for a in answers} == {"buy", "pass"} and {a["message"] for a in answers} == {""}
    text = params("persuasion", seller_message_type="text")
    assert act(make_baseline("random", text, 1, 3), after(new_game(text, 0), {"quality": "low"}))["message"] == ""


# ---------------------------------------------------------------- the recommendation sentences


def test_recommendation_sentences_are_read_back() -> None:
    assert read_recommendation(recommendation_text(True)) is True
    assert read_recommendation(recommendation_text(False)) is False
    assert read_recommendation(f"  {RECOMMEND_NO.upper()}  ") is False
    assert read_recommendation("Hello! I recommend buying this product") is True
    assert read_recommendation("yes") is True and read_recommendation("No.") is False
    for unreadable in ("", "100", "it is a product", None, f"{RECOMMEND_YES} {RECOMMEND_NO}"):
        assert read_recommendation(unreadable) is None


def test_spe_with_a_hidden_horizon_plays_stationary_shares_but_still_accepts_anything_in_the_last_round() -> None:
    # The players know the true T (theory reference); rejecting in round T is worth nothing.
    p = params("bargaining", delta_1=0.9, delta_2=0.8, money=100, max_rounds=3, horizon_disclosed=False)
    alice, bob = make_baseline("spe", p, 1, 0), make_baseline("spe", p, 2, 0)
    start = new_game(p, 0)
    assert act(alice, start)["own_gain"] == pytest.approx(100 * 0.2 / 0.28)  # not the backward-induction 92
    last = after(start, {"own_gain": 99, "message": ""}, {"decision": "reject"})
    last = after(last, {"own_gain": 99, "message": ""}, {"decision": "reject"})
    assert act(alice, last)["own_gain"] == pytest.approx(100 * 0.2 / 0.28)
    assert act(bob, after(last, {"own_gain": 100, "message": ""})) == {"decision": "accept"}


def test_family_benchmarks_are_named_players_and_another_family_refuses_them() -> None:
    from glee.engine import GameSet, PlayerSpec, RunConfig, plan

    spec = PlayerSpec(strategy="learning")
    assert spec.label() == "baseline:learning"
    with pytest.raises(ValueError, match="got 'greedy'; allowed for a baseline: one of"):
        PlayerSpec(strategy="greedy")
    persuasion = RunConfig(games=[GameSet(family="persuasion")], pairs=[(PlayerSpec(strategy="babbling"), spec)])
    assert len(plan(persuasion)) == 1
    bargaining = persuasion.model_copy(update={"games": [GameSet(family="bargaining")]})
    with pytest.raises(ConfigError, match=r"^strategy: got 'babbling'; allowed for bargaining: one of"):
        plan(bargaining)


def test_babbling_seller_always_recommends_and_its_buyer_ignores_the_message() -> None:
    binary = params("persuasion", p=0.5, v=1.5, seller_message_type="binary")  # p·v = 0.75 < 1: pass
    assert {seller_says(binary, q, 0, "babbling") for q in ("high", "low")} == {"yes"}
    assert seller_says(params("persuasion", p=0.5, v=1.5), "low", 0, "babbling") == RECOMMEND_YES
    for said in ({"recommend": "yes"}, {"recommend": "no"}):
        assert buyer_decides(binary, said, "babbling") == "pass"
    rich = params("persuasion", p=0.5, v=2.5, seller_message_type="binary")  # p·v = 1.25: buy
    assert buyer_decides(rich, {"recommend": "no"}, "spe") == "buy"


def test_spe_responder_under_a_hidden_horizon_wants_half_the_surplus_until_the_last_round() -> None:
    p = params("negotiation", seller_value=1, buyer_value=1.2, price_scale=100, max_rounds=30)
    buyer = make_baseline("spe", p, 2, 0)  # continuation: half of the surplus 20
    start = new_game(p, 0)
    assert act(buyer, after(start, {"price": 110, "message": ""})) == {"decision": "accept"}
    assert act(buyer, after(start, {"price": 111, "message": ""})) == {"decision": "reject"}
    odd = params("negotiation", seller_value=1, buyer_value=1.2, price_scale=100, max_rounds=31)
    last = new_game(odd, 0).model_copy(update={"round": 31})  # the seller proposes in the last round
    buyer_31 = make_baseline("spe", odd, 2, 0)
    assert act(buyer_31, after(last, {"price": 119, "message": ""})) == {"decision": "accept"}  # rejecting: nothing
    assert act(buyer_31, after(new_game(odd, 0), {"price": 119, "message": ""})) == {"decision": "reject"}
