"""Playouts over every configuration of the three paper grids, checking invariants at every step.

Per configuration: random vs random with three seeds, spe vs spe and fair vs fair once
(5 games; 6 600 over the 1 320 configurations). At every move: the action is of the turn's
action model and the rules accept it, the round never passes the horizon, the state
survives a JSON round trip, and neither seat's observation holds what it may not know.
At the end: the game is over within the horizon, payoffs and metrics are in bounds.
"""

from __future__ import annotations

import asyncio
import math

import pytest

from glee.games import Action, GameState, Observation, Outcome, Params, Seat, parse_params, restore
from glee.games.bargaining import BargainingObservation, BargainingParams, BargainingState
from glee.games.grids import paper_grid
from glee.games.negotiation import NegotiationObservation, NegotiationParams
from glee.games.persuasion import PersuasionObservation, PersuasionParams, PersuasionState
from glee.players.baseline import Strategy
from tests.support.playout import play_baselines

MATCHUPS: list[tuple[Strategy, Strategy, int]] = [
    ("random", "random", 0),
    ("random", "random", 1),
    ("random", "random", 2),
    ("spe", "spe", 0),
    ("fair", "fair", 0),
]
TOL = 1e-9


def horizon(params: Params) -> int:
    if isinstance(params, PersuasionParams):
        return params.rounds
    assert isinstance(params, BargainingParams | NegotiationParams)
    return params.max_rounds


def check_privacy(state: GameState, obs: Observation) -> None:
    """What a seat must not know is absent from its observation."""
    p = state.params
    other: Seat = 2 if obs.seat == 1 else 1
    if isinstance(obs, BargainingObservation):
        assert isinstance(p, BargainingParams) and isinstance(state, BargainingState)
        assert obs.other_delta == (p.delta(other) if p.complete_information else None)
        assert obs.max_rounds == (p.max_rounds if p.horizon_disclosed else None)
        responding = state.to_act() == obs.seat and state.pending is not None
        assert (obs.pending_offer is not None) == responding
    elif isinstance(obs, NegotiationObservation):
        assert isinstance(p, NegotiationParams)
        assert obs.own_value == p.value(obs.seat)
        assert obs.other_value == (p.value(other) if p.complete_information else None)
        assert obs.max_rounds == (p.max_rounds if p.horizon_disclosed else None)
    else:
        assert isinstance(obs, PersuasionObservation) and isinstance(state, PersuasionState)
        assert isinstance(p, PersuasionParams)
        if obs.seat == 1:
            assert (obs.v, obs.c) == ((p.v, p.c) if p.seller_knows_buyer_values else (None, None))
            return
        assert obs.quality is None
        assert obs.p == (p.p if p.buyer_knows_p else None)
        decided = len(state.bought)
        # Never the quality of a round the buyer has not decided yet.
        assert all(t.round <= decided for t in obs.events if t.seat == 0)
        if p.myopic_buyer:
            assert all(t.round == state.round and t.seat == 1 for t in obs.events)
        else:
            assert obs.earlier_buyers_bought is None and obs.earlier_sales_high is None


def check_move(state: GameState, seat: int, action: Action) -> None:
    assert restore(state.family, state.model_dump_json()) == state
    assert 1 <= state.round <= horizon(state.params)
    assert isinstance(action, state.action_model())
    for viewer in (1, 2):
        obs = state.observation(viewer)
        assert obs.to_act == (viewer == seat)
        check_privacy(state, obs)


def in_unit(value: float | None) -> bool:
    return value is not None and -TOL <= value <= 1 + TOL


def check_outcome(state: GameState, out: Outcome) -> None:
    p = state.params
    assert state.is_over and out.end_reason != "forfeit"
    assert 1 <= out.rounds <= horizon(p)
    assert all(math.isfinite(x) for x in (out.payoff_1, out.payoff_2))
    if isinstance(p, BargainingParams):
        assert len(state.turns) <= 2 * p.max_rounds
        if out.agreement:
            assert out.end_reason == "agreement"
            assert in_unit(out.self_gain_1) and in_unit(out.self_gain_2) and in_unit(out.fairness)
            assert out.efficiency == pytest.approx((out.self_gain_1 or 0) + (out.self_gain_2 or 0))
            assert in_unit(out.efficiency)
            assert -TOL <= out.payoff_1 <= p.money * (1 + TOL) and -TOL <= out.payoff_2 <= p.money * (1 + TOL)
        else:
            assert out.end_reason == "no_deal" and out.rounds == p.max_rounds
            assert (out.self_gain_1, out.self_gain_2, out.efficiency, out.fairness) == (0, 0, 0, None)
    elif isinstance(p, NegotiationParams):
        assert len(state.turns) <= 2 * p.max_rounds
        assert out.efficiency in (0.0, 1.0)
        if out.agreement:
            surplus = p.buyer_value - p.seller_value
            assert (out.self_gain_1 or 0) + (out.self_gain_2 or 0) == pytest.approx(surplus)
            assert in_unit(out.fairness)
            price = out.extras["price"]
            assert isinstance(price, float) and 0 <= price <= 2 * max(p.seller_value, p.buyer_value) * p.price_scale
        else:
            assert out.end_reason in ("no_deal", "outside_option")
            assert (out.self_gain_1, out.self_gain_2, out.fairness) == (0, 0, None)
            assert out.end_reason == "outside_option" or out.rounds == p.max_rounds
    else:
        assert isinstance(p, PersuasionParams)
        assert out.end_reason == "deadline" and out.rounds == p.rounds and len(state.turns) == 3 * p.rounds
        assert in_unit(out.self_gain_1)
        assert p.c - 1 - TOL <= (out.self_gain_2 or 0) <= p.v - 1 + TOL
        assert out.efficiency is None or in_unit(out.efficiency)
        assert out.fairness is None or in_unit(out.fairness)
        assert out.payoff_1 == pytest.approx(p.price * (out.self_gain_1 or 0) * p.rounds)


async def play_grid(family: str) -> int:
    played = 0
    for index, raw in enumerate(paper_grid(family)):  # type: ignore[arg-type]
        params = parse_params(family, raw)
        for strategy_1, strategy_2, replicate in MATCHUPS:
            seed = index * 10 + replicate
            state = await play_baselines(params, strategy_1, strategy_2, seed, check_move)
            assert restore(family, state.model_dump_json()) == state
            check_outcome(state, state.outcome())
            played += 1
    return played


@pytest.mark.parametrize(
    ("family", "games"),
    [("bargaining", 384 * 5), ("negotiation", 576 * 5), ("persuasion", 360 * 5)],
)
def test_playouts_over_the_whole_paper_grid_keep_every_invariant(family: str, games: int) -> None:
    assert asyncio.run(play_grid(family)) == games
