"""Theory checks: baseline players reproduce the equilibria of GAMES.md over the paper grids."""

from __future__ import annotations

import asyncio
import math

import pytest

from glee.games import Action, Family, GameState, Observation, parse_params
from glee.games.bargaining import BargainingParams, BargainingState
from glee.games.grids import paper_grid, paper_grid_of
from glee.games.negotiation import NegotiationParams, NegotiationState
from glee.games.persuasion import PersuasionState
from glee.players.base import Decision
from glee.players.baseline import make_baseline
from tests.support.playout import play, play_baselines


def first_proposer_share(delta_1: float, delta_2: float, max_rounds: int, disclosed: bool) -> float:
    """Alice's share of M in round 1, derived here from GAMES.md independently of the players."""
    if not disclosed:
        return 0.5 if delta_1 * delta_2 == 1 else (1 - delta_2) / (1 - delta_1 * delta_2)
    keep = 1.0  # the proposer of round T keeps everything
    for r in range(max_rounds - 1, 0, -1):
        responder_delta = delta_2 if r % 2 == 1 else delta_1  # Bob responds in odd rounds
        keep = 1 - responder_delta * keep
    return keep


def test_hand_values_of_the_first_proposers_share() -> None:
    assert first_proposer_share(0.95, 0.95, 99, False) == pytest.approx(0.05 / (1 - 0.9025))  # 0.5128…
    assert first_proposer_share(1, 1, 99, False) == 0.5
    assert first_proposer_share(0.9, 0.8, 3, True) == pytest.approx(0.92)
    assert first_proposer_share(1, 1, 12, True) == 0.0  # Bob proposes last and takes it all


async def bargaining_spe_games() -> list[BargainingState]:
    states = []
    for seed, raw in enumerate(paper_grid("bargaining")):
        state = await play_baselines(parse_params("bargaining", raw), "spe", "spe", seed)
        assert isinstance(state, BargainingState)
        states.append(state)
    return states


def test_spe_bargainers_agree_at_once_on_the_equilibrium_split_in_all_384_configurations() -> None:
    states = asyncio.run(bargaining_spe_games())
    assert len(states) == 384
    for state in states:
        p = state.params
        expected = first_proposer_share(p.delta_1, p.delta_2, p.max_rounds, bool(p.horizon_disclosed))
        out = state.outcome()
        assert out.end_reason == "agreement" and out.rounds == 1, p
        assert out.self_gain_1 == pytest.approx(expected, abs=1e-9), p
        assert out.self_gain_2 == pytest.approx(1 - expected, abs=1e-9)
        assert out.efficiency == pytest.approx(1.0)


class GreedyOpener:
    """Alice asking for 1% of M more than her equilibrium share in round 1, then playing spe."""

    def __init__(self, params: BargainingParams) -> None:
        self.label = "test:greedy-opener"
        self.spe = make_baseline("spe", params, 1, 0)
        self.money = params.money

    async def act(self, observation: Observation, action_model: type[Action]) -> Decision:
        decision = await self.spe.act(observation, action_model)
        if observation.round == 1 and observation.kind == "propose":
            fields = decision.action.model_dump() if decision.action else {}
            fields["own_gain"] = min(self.money, fields["own_gain"] + 0.01 * self.money)
            return Decision(action=action_model.model_validate(fields), attempts=[])
        return decision


async def deviation_payoffs() -> list[tuple[BargainingParams, float, float]]:
    rows = []
    for raw in paper_grid("bargaining"):
        params = parse_params("bargaining", raw)
        assert isinstance(params, BargainingParams)
        equilibrium = await play_baselines(params, "spe", "spe", 0)
        deviated: GameState = await play(
            BargainingState(params=params, seed=0), {1: GreedyOpener(params), 2: make_baseline("spe", params, 2, 0)}
        )
        rows.append((params, equilibrium.outcome().payoff_1, deviated.outcome().payoff_1))
    return rows


def test_asking_for_more_in_round_one_never_pays_against_an_spe_responder() -> None:
    # A one-shot deviation check of the responder's thresholds: a greedier opening is
    # rejected (unless it changes nothing) and Alice ends with no more than in equilibrium.
    for params, equilibrium, deviated in asyncio.run(deviation_payoffs()):
        assert deviated <= equilibrium + 1e-9 * params.money, params
        if params.delta_1 < 1 and params.delta_2 < 1:
            # Both discount: the rejected opening costs Alice a round of delay, strictly.
            assert deviated < equilibrium - 1e-9 * params.money, params


async def negotiation_spe_games() -> list[NegotiationState]:
    states = []
    for seed, raw in enumerate(paper_grid("negotiation")):
        state = await play_baselines(parse_params("negotiation", raw), "spe", "spe", seed)
        assert isinstance(state, NegotiationState)
        states.append(state)
    return states


def test_spe_negotiators_settle_in_round_one_at_the_predicted_price_in_all_576_configurations() -> None:
    states = asyncio.run(negotiation_spe_games())
    assert len(states) == 576
    for state in states:
        p: NegotiationParams = state.params
        out = state.outcome()
        assert out.rounds == 1 and out.efficiency == 1.0, p
        if p.buyer_value < p.seller_value:
            # No gains from trade: the seller names its value, the buyer takes its outside option.
            assert out.end_reason == "outside_option" and out.extras["ended_by"] == 2
            assert out.extras["first_offer_price"] == pytest.approx(p.seller_value * p.price_scale)
            continue
        seller_last = p.max_rounds % 2 == 1
        predicted = (p.buyer_value if seller_last else p.seller_value) * p.price_scale
        assert out.end_reason == "agreement", p
        assert out.extras["price"] == pytest.approx(predicted)
        surplus = p.buyer_value - p.seller_value
        last_proposer_gain = out.self_gain_1 if seller_last else out.self_gain_2
        assert last_proposer_gain == pytest.approx(surplus)


ROUNDS_PER_PAIR = 2000
GAMES_PER_PAIR = ROUNDS_PER_PAIR // 20


async def persuasion_sale_rates(message_type: str) -> dict[tuple[float, float], list[bool]]:
    sales: dict[tuple[float, float], list[bool]] = {}
    for p in paper_grid_of("persuasion")["p"]:
        for v in paper_grid_of("persuasion")["v"]:
            params = parse_params("persuasion", {"p": p, "v": v, "seller_message_type": message_type})
            bought: list[bool] = []
            for seed in range(GAMES_PER_PAIR):
                state = await play_baselines(params, "spe", "spe", seed)
                assert isinstance(state, PersuasionState)
                bought.extend(state.bought)
            sales[(p, v)] = bought
    return sales


def test_spe_persuasion_sells_at_rate_min_1_pv_for_every_p_and_v_of_the_grid() -> None:
    rates = asyncio.run(persuasion_sale_rates("binary"))
    assert len(rates) == 15
    for (p, v), bought in rates.items():
        n = len(bought)
        assert n == ROUNDS_PER_PAIR
        predicted = min(1.0, p * v)
        standard_error = math.sqrt(predicted * (1 - predicted) / n)
        observed = sum(bought) / n
        # Within 3 standard errors (exactly 1 when every product is recommended and bought).
        assert abs(observed - predicted) <= 3 * standard_error + 1e-12, (p, v, observed, predicted)


async def text_and_binary(p: float, v: float, seeds: int) -> tuple[list[bool], list[bool]]:
    runs = []
    for message_type in ("binary", "text"):
        params = parse_params("persuasion", {"p": p, "v": v, "seller_message_type": message_type})
        bought: list[bool] = []
        for seed in range(seeds):
            state = await play_baselines(params, "spe", "spe", seed)
            assert isinstance(state, PersuasionState)
            bought.extend(state.bought)
        runs.append(bought)
    return runs[0], runs[1]


def test_spe_buyer_reads_the_text_recommendation_exactly_as_the_binary_one() -> None:
    binary, text = asyncio.run(text_and_binary(1 / 3, 2.0, seeds=20))
    assert binary == text and 0 < sum(binary) < len(binary)


async def fair_games(family: Family) -> list[GameState]:
    return [
        await play_baselines(parse_params(family, raw), "fair", "fair", seed)
        for seed, raw in enumerate(paper_grid(family))
    ]


def test_fair_players_split_evenly_meet_at_the_midpoint_and_tell_the_truth() -> None:
    for state in asyncio.run(fair_games("bargaining")):
        out = state.outcome()
        assert out.rounds == 1 and out.extras["share_1"] == 0.5 and out.fairness == 1.0
    for state in asyncio.run(fair_games("negotiation")):
        p = state.params
        assert isinstance(p, NegotiationParams)
        out = state.outcome()
        assert out.rounds == 1 and out.efficiency == 1.0
        if p.buyer_value >= p.seller_value:
            assert out.agreement and out.fairness == pytest.approx(1.0)
        else:
            assert out.end_reason == "outside_option"
    for state in asyncio.run(fair_games("persuasion")):
        out = state.outcome()
        assert out.efficiency in (None, 1.0) and out.fairness in (None, 1.0)  # exactly the highs are sold
