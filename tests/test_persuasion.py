"""Persuasion rules (GAMES.md section 3): Nature, messages, decisions, views, payoffs, metrics."""

from __future__ import annotations

import math
from typing import Any

import pytest

from glee.games import IllegalAction, new_game, parse_params, restore
from glee.games.persuasion import PersuasionObservation, PersuasionParams, PersuasionState
from tests.support.glee_samples import names, null, read_sample


def game(seed: int = 1, **raw: Any) -> PersuasionState:
    state = new_game(parse_params("persuasion", {"price": 100, **raw}), seed=seed)
    assert isinstance(state, PersuasionState)
    return state


def observe(state: PersuasionState, seat: int) -> PersuasionObservation:
    obs = state.observation(1 if seat == 1 else 2)
    assert isinstance(obs, PersuasionObservation)
    return obs


def play_round(state: PersuasionState, quality: str, seller: dict[str, Any], decision: str) -> PersuasionState:
    state = state.apply({"quality": quality})
    state = state.apply(seller)
    return state.apply({"decision": decision})


def test_each_round_is_nature_then_seller_then_buyer() -> None:
    state = game(rounds=2)
    order = []
    while not state.is_over:
        order.append((state.round, state.to_act(), state.kind()))
        seat = state.to_act()
        action = state.nature_action() if seat == 0 else {"message": "hi"} if seat == 1 else {"decision": "pass"}
        state = state.apply(action)
    assert order == [
        (1, 0, "nature"), (1, 1, "seller_message"), (1, 2, "buyer_decision"),
        (2, 0, "nature"), (2, 1, "seller_message"), (2, 2, "buyer_decision"),
    ]  # fmt: skip
    assert state.end_reason == "deadline"


def test_natures_draws_are_seeded_per_game_and_follow_p() -> None:
    def draws(seed: int, p: float = 0.5, n: int = 60) -> list[str]:
        state = game(seed=seed, p=p, rounds=n, seller_message_type="binary")
        out = []
        while not state.is_over:
            if state.to_act() == 0:
                quality = state.nature_action()
                out.append(quality.model_dump()["quality"])
                state = state.apply(quality)
            else:
                state = state.apply({"recommend": "yes"} if state.to_act() == 1 else {"decision": "buy"})
        return out

    assert draws(5) == draws(5)
    assert draws(5) != draws(6)
    assert set(draws(1, p=0.0)) == {"low"} and set(draws(1, p=1.0)) == {"high"}
    # 2000 draws at p = 0.8: the share of high within 4 standard errors of 0.8.
    n = 2000
    share = draws(11, p=0.8, n=n).count("high") / n
    assert abs(share - 0.8) < 4 * math.sqrt(0.8 * 0.2 / n)


def test_natures_draws_do_not_depend_on_what_the_players_do() -> None:
    def qualities(decision: str) -> tuple[bool, ...]:
        state = game(seed=9, rounds=10)
        while not state.is_over:
            seat = state.to_act()
            action = state.nature_action() if seat == 0 else {"message": ""} if seat == 1 else {"decision": decision}
            state = state.apply(action)
        return state.qualities

    assert qualities("buy") == qualities("pass")


def test_binary_mode_takes_a_recommendation_and_refuses_free_text() -> None:
    state = game(seller_message_type="binary").apply({"quality": "low"})
    with pytest.raises(IllegalAction, match="message: not allowed"):
        state.apply({"recommend": "yes", "message": "it is great"})
    with pytest.raises(IllegalAction, match="recommend"):
        state.apply({"recommend": "maybe"})
    assert set(state.action_model().model_json_schema()["properties"]) == {"recommend"}
    assert state.apply({"recommend": "no"}).stage == "buyer"


def test_text_mode_takes_a_message_and_refuses_a_recommendation() -> None:
    state = game(seller_message_type="text").apply({"quality": "high"})
    with pytest.raises(IllegalAction, match="recommend: not allowed"):
        state.apply({"message": "buy", "recommend": "yes"})
    assert set(state.action_model().model_json_schema()["properties"]) == {"message"}


def test_the_buyer_may_write_only_when_allowed() -> None:
    state = game().apply({"quality": "high"}).apply({"message": "buy"})
    with pytest.raises(IllegalAction, match="message: not allowed"):
        state.apply({"decision": "buy", "message": "thanks"})
    with pytest.raises(IllegalAction, match="decision"):
        state.apply({"decision": "yes"})  # the original token; the importer maps it
    talking = game(buyer_messages_allowed=True).apply({"quality": "high"}).apply({"message": "buy"})
    assert talking.apply({"decision": "buy", "message": "thanks"}).bought == (True,)


def test_outcome_of_a_hand_worked_game() -> None:
    # P = 100, v = 2, c = 0.5, T = 4: qualities H, L, H, L; bought yes, yes, no, no.
    # n = 2 high, k = 1 high sold, L = 2 low, r = 1 low unsold, 2 sales.
    # efficiency k/n = 0.5; fairness r/L = 0.5; seller 2/4 = 0.5;
    # buyer (k(v-1) + (L-r)(c-1))/T = (1 - 0.5)/4 = 0.125; payoffs 200 and 50.
    state = game(v=2, c=0.5, rounds=4, seller_message_type="binary")
    for quality, decision in [("high", "buy"), ("low", "buy"), ("high", "pass"), ("low", "pass")]:
        state = play_round(state, quality, {"recommend": "yes"}, decision)
    out = state.outcome()
    assert out.end_reason == "deadline" and out.rounds == 4
    assert (out.efficiency, out.fairness, out.self_gain_1) == (0.5, 0.5, 0.5)
    assert out.self_gain_2 == pytest.approx(0.125)
    assert out.payoff_1 == 200 and out.payoff_2 == pytest.approx(50)
    counts = {key: out.extras[key] for key in ("sales", "high_products", "high_sold", "low_unsold")}
    assert counts == {"sales": 2, "high_products": 2, "high_sold": 1, "low_unsold": 1}


def test_efficiency_and_fairness_are_undefined_without_high_or_low_products() -> None:
    only_low = game(rounds=2, seller_message_type="binary")
    for _ in range(2):
        only_low = play_round(only_low, "low", {"recommend": "no"}, "pass")
    out = only_low.outcome()
    assert out.efficiency is None and out.fairness == 1.0 and out.self_gain_2 == 0.0
    only_high = game(rounds=3, v=3, seller_message_type="binary")
    for _ in range(3):
        only_high = play_round(only_high, "high", {"recommend": "yes"}, "buy")
    out = only_high.outcome()
    assert out.fairness is None and out.efficiency == 1.0
    assert out.self_gain_2 == pytest.approx(2.0)  # (3·(3-1))/3


def test_a_forfeit_is_scored_as_no_sale_in_its_round_and_every_later_one() -> None:
    start = game(rounds=6, v=3.0)
    state = play_round(start, "high", {"message": "buy"}, "buy")
    state = play_round(state, "low", {"message": "buy"}, "buy")
    state = state.apply(state.nature_action())  # round 3: the seller forfeits after Nature's draw
    forfeit = state.forfeit(1)
    out = forfeit.outcome()
    assert (out.end_reason, out.forfeit_seat, out.rounds) == ("forfeit", 1, 3)
    # The same game played on with the buyer passing in every round left: the rules' payoffs and metrics.
    rest = state
    while not rest.is_over:
        rest = rest.apply(
            rest.nature_action()
            if rest.to_act() == 0
            else {"message": "x"}
            if rest.to_act() == 1
            else {"decision": "pass"}
        )
    passed = rest.outcome()
    assert (out.payoff_1, out.payoff_2) == (passed.payoff_1, passed.payoff_2) == (200.0, 100 * (2 - 1))
    for name in ("self_gain_1", "self_gain_2", "efficiency", "fairness", "agreement"):
        assert getattr(out, name) == getattr(passed, name), name
    assert out.self_gain_1 == pytest.approx(2 / 6) and out.extras["sales"] == 2


def test_only_the_seller_sees_the_quality_before_the_buyer_decides() -> None:
    state = game(rounds=2).apply({"quality": "high"})
    assert observe(state, 1).quality == "high"
    state = state.apply({"message": "buy it"})
    buyer = observe(state, 2)
    assert buyer.quality is None and buyer.to_act
    assert all(t.seat != 0 for t in buyer.events)
    state = state.apply({"decision": "buy"})
    # A long-lived buyer learns the quality once it has decided.
    assert [t.action for t in observe(state, 2).events if t.seat == 0] == [{"quality": "high"}]


def test_a_long_lived_buyer_keeps_its_history_and_a_myopic_one_sees_only_aggregates() -> None:
    def after_three(myopic: bool) -> PersuasionObservation:
        state = game(rounds=5, myopic_buyer=myopic)
        for quality, decision in [("high", "buy"), ("low", "buy"), ("high", "pass")]:
            state = play_round(state, quality, {"message": f"round {state.round}"}, decision)
        state = state.apply({"quality": "low"}).apply({"message": "round 4"})
        return observe(state, 2)

    long_lived = after_three(myopic=False)
    assert [t.round for t in long_lived.events if t.seat == 1] == [1, 2, 3, 4]
    assert [t.action["quality"] for t in long_lived.events if t.seat == 0] == ["high", "low", "high"]
    assert long_lived.earlier_buyers_bought is None and long_lived.earlier_sales_high is None
    myopic = after_three(myopic=True)
    assert [(t.round, t.seat) for t in myopic.events] == [(4, 1)]
    # Earlier buyers bought twice (rounds 1 and 2); one of those products was high quality.
    assert (myopic.earlier_buyers_bought, myopic.earlier_sales_high) == (2, 1)


def test_who_is_told_p_v_and_c() -> None:
    told = game(p=0.8, v=3)
    assert (observe(told, 1).p, observe(told, 1).v, observe(told, 1).c) == (0.8, 3.0, 0.0)
    assert (observe(told, 2).p, observe(told, 2).v) == (0.8, 3.0)
    untold = game(p=0.8, v=3, seller_knows_buyer_values=False, buyer_knows_p=False)
    assert (observe(untold, 1).p, observe(untold, 1).v, observe(untold, 1).c) == (0.8, None, None)
    assert (observe(untold, 2).p, observe(untold, 2).v) == (None, 3.0)
    assert observe(untold, 2).seller_knows_buyer_values is False  # the buyer is told that


def test_state_round_trips_through_json() -> None:
    state = play_round(game(), "low", {"message": "a fine product"}, "buy").apply({"quality": "high"})
    assert restore("persuasion", state.model_dump_json()) == state


# ---------------------------------------------------------------- real games


def replay(game_id: str) -> PersuasionState:
    """Replay a GLEE persuasion game.csv: Nature rows carry the quality, the seller a message or
    yes/no (binary), the buyer yes/no."""
    config, rows = read_sample("persuasion", game_id)
    args = dict(config["game_args"])
    # Older files keep the high multiple in c with v = 0: the high multiple is max(v, c), low 0.
    args["v"], args["c"] = max(args["v"], args["c"]), 0.0
    params = parse_params("persuasion", {**args, **names(config)})
    assert isinstance(params, PersuasionParams)
    binary = params.seller_message_type == "binary"
    state = new_game(params, seed=0)
    assert isinstance(state, PersuasionState)
    for row in rows:
        assert state.round == int(row["round"])
        if row["player"] == "Nature":
            assert state.to_act() == 0
            state = state.apply({"quality": row["round_quality"].removesuffix("-quality")})
        elif state.to_act() == 1:
            message = null(row["message"]) or ""
            seller = {"recommend": row["decision"]} if binary else {"message": message}
            state = state.apply(seller)
        else:
            state = state.apply({"decision": {"yes": "buy", "no": "pass"}[row["decision"]]})
    assert state.is_over
    return state


def test_replay_of_a_binary_game_with_a_long_lived_buyer() -> None:
    # 05FD369904ABE9E3: p = 0.8, v = 1.25, c = 0, P = 1 000 000, T = 20, binary.
    # High rounds: 1 2 4 5 6 7 8 9 10 11 13 14 16 18 19 (n = 15); low: 3 12 15 17 20 (L = 5).
    # Bought: 1 3 6 7 8 9 10 11 13 14 15 16 17 19 20 (15 sales). High bought k = 11
    # (all highs but 2 4 5 18); low unsold r = 1 (round 12).
    # efficiency 11/15; fairness 1/5; seller 15/20 = 0.75;
    # buyer (11·0.25 + 4·(0 - 1))/20 = -1.25/20 = -0.0625; payoffs 15e6 and -1.25e6.
    state = replay("05FD369904ABE9E3")
    out = state.outcome()
    assert out.end_reason == "deadline" and out.rounds == 20
    assert out.efficiency == pytest.approx(11 / 15)
    assert out.fairness == pytest.approx(0.2)
    assert out.self_gain_1 == pytest.approx(0.75)
    assert out.self_gain_2 == pytest.approx(-0.0625)
    assert out.payoff_1 == pytest.approx(15e6) and out.payoff_2 == pytest.approx(-1.25e6)
    assert [t.action["recommend"] for t in state.turns if t.seat == 1][:3] == ["yes", "no", "yes"]


def test_replay_of_a_text_game_with_a_myopic_buyer_who_always_buys() -> None:
    # 0E5BC24931B7FCFB: p = 0.5, v = 2, c = 0, P = 100, T = 20, text, myopic; the human
    # seller typed "100" every round and every buyer bought.
    # High rounds: 1 4 5 7 11 12 17 18 19 (n = 9, all sold, k = 9); low: 11 (r = 0).
    # efficiency 9/9 = 1; fairness 0/11 = 0; seller 20/20 = 1;
    # buyer (9·(2-1) + 11·(0-1))/20 = -2/20 = -0.1; payoffs 2000 and -200.
    state = replay("0E5BC24931B7FCFB")
    out = state.outcome()
    assert out.rounds == 20
    assert (out.efficiency, out.fairness, out.self_gain_1) == (1.0, 0.0, 1.0)
    assert out.self_gain_2 == pytest.approx(-0.1)
    assert out.payoff_1 == 2000 and out.payoff_2 == pytest.approx(-200)
    assert state.turns[1].action["message"] == "100"  # a numeric-looking message stays text
