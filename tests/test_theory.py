"""Theory checks: baseline players reproduce the equilibria of GAMES.md over the paper grids."""

from __future__ import annotations

import asyncio
import math

import pytest

from glee.engine.plan import derive_seed
from glee.games import Action, Family, GameState, Observation, parse_params
from glee.games.bargaining import BargainingParams, BargainingState
from glee.games.grids import paper_grid, paper_grid_of
from glee.games.negotiation import NegotiationParams, NegotiationState
from glee.games.persuasion import PersuasionState
from glee.players.base import Decision
from glee.players.baseline import make_baseline
from glee.players.baselines.persuasion import babbling_sale_rate, commitment_sale_rate
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
        assert out.end_reason == "agreement", p
        surplus = p.buyer_value - p.seller_value
        if not p.horizon_disclosed:
            # Hidden horizon (T = 30 here): the stationary solution, an even split of the surplus.
            assert out.extras["price"] == pytest.approx((p.seller_value + p.buyer_value) / 2 * p.price_scale)
            assert out.self_gain_1 == pytest.approx(surplus / 2) and out.self_gain_2 == pytest.approx(surplus / 2)
            continue
        seller_last = p.max_rounds % 2 == 1
        predicted = (p.buyer_value if seller_last else p.seller_value) * p.price_scale
        assert out.extras["price"] == pytest.approx(predicted)
        last_proposer_gain = out.self_gain_1 if seller_last else out.self_gain_2
        assert last_proposer_gain == pytest.approx(surplus)


@pytest.mark.parametrize("family", ["negotiation", "bargaining"])
def test_a_hidden_horizon_gives_the_same_spe_split_whatever_the_true_t(family: str) -> None:
    # The players are not told T: T = 30 and T = 99 (even and odd) must not decide who gets what.
    fixed = {"seller_value": 1.0, "buyer_value": 1.5} if family == "negotiation" else {"delta_1": 0.9, "delta_2": 0.8}
    outcomes = []
    for max_rounds in (30, 99):
        params = parse_params(family, {**fixed, "max_rounds": max_rounds})
        assert params.horizon_disclosed is False  # type: ignore[attr-defined]
        out = asyncio.run(play_baselines(params, "spe", "spe", 0)).outcome()
        assert out.end_reason == "agreement" and out.rounds == 1
        outcomes.append((out.self_gain_1, out.self_gain_2))
    assert outcomes[0] == pytest.approx(outcomes[1])
    if family == "negotiation":
        assert outcomes[0] == pytest.approx((0.25, 0.25))
    # Told the horizon, the parity of T decides again: T = 29 (odd) and T = 30 (even) differ.
    told = [
        asyncio.run(
            play_baselines(parse_params(family, {**fixed, "max_rounds": t, "horizon_disclosed": True}), "spe", "spe", 0)
        ).outcome()
        for t in (29, 30)
    ]
    assert told[0].self_gain_1 != pytest.approx(told[1].self_gain_1)


ROUNDS_PER_PAIR = 2000
GAMES_PER_PAIR = ROUNDS_PER_PAIR // 20


async def persuasion_rounds(
    message_type: str, seller: str, buyer: str, games: int = GAMES_PER_PAIR, **fixed: object
) -> dict[tuple[float, float], PersuasionState]:
    """Every (p, v) cell of the paper grid: `games` games of `seller` against `buyer`, as one list of states."""
    out: dict[tuple[float, float], list[PersuasionState]] = {}
    for p in paper_grid_of("persuasion")["p"]:
        for v in paper_grid_of("persuasion")["v"]:
            params = parse_params("persuasion", {"p": p, "v": v, "seller_message_type": message_type, **fixed})
            for game in range(games):
                # Seeds as a run derives them (63 bits from a hash), not the small integers 0, 1, ...
                state = await play_baselines(params, seller, buyer, derive_seed(game, "persuasion theory"))
                assert isinstance(state, PersuasionState)
                out.setdefault((p, v), []).append(state)
    return out  # type: ignore[return-value]


def bought(states: object) -> list[bool]:
    return [b for state in states for b in state.bought]  # type: ignore[attr-defined]


def test_commitment_persuasion_sells_at_rate_min_1_pv_for_every_p_and_v_of_the_grid() -> None:
    rates = asyncio.run(persuasion_rounds("binary", "commitment", "commitment"))
    assert len(rates) == 15
    for (p, v), states in rates.items():
        sales = bought(states)
        n = len(sales)
        assert n == ROUNDS_PER_PAIR
        predicted = min(1.0, p * v)
        assert predicted == pytest.approx(commitment_sale_rate(states[0].params))  # type: ignore[index]
        standard_error = math.sqrt(predicted * (1 - predicted) / n)
        observed = sum(sales) / n
        # Within 3 standard errors (exactly 1 when every product is recommended and bought).
        assert abs(observed - predicted) <= 3 * standard_error + 1e-12, (p, v, observed, predicted)


@pytest.mark.parametrize("message_type", ["binary", "text"])
def test_babbling_sells_every_round_where_p_v_reaches_1_and_never_elsewhere(message_type: str) -> None:
    rates = asyncio.run(persuasion_rounds(message_type, "spe", "babbling", games=5))
    assert len(rates) == 15
    disagree = 0
    for (p, v), states in rates.items():
        observed = sum(bought(states)) / len(bought(states))
        assert observed == (1.0 if p * v >= 1 - 1e-12 else 0.0), (p, v, observed)
        assert observed == babbling_sale_rate(states[0].params)  # type: ignore[index]
        disagree += observed != min(1.0, p * v)
    assert disagree == 6  # babbling and the commitment benchmark differ in the cells where p·v < 1


def test_the_learning_buyer_is_not_milked_by_a_seller_who_always_says_yes() -> None:
    # babbling's seller recommends every product; 100 games of 20 rounds per cell.
    for myopic in (False, True):
        cells = asyncio.run(persuasion_rounds("binary", "babbling", "learning", games=100, myopic_buyer=myopic))
        assert len(cells) == 15
        for (p, v), states in cells.items():
            gains = [float(s.outcome().self_gain_2 or 0.0) for s in states]
            mean = sum(gains) / len(gains)
            spread = math.sqrt(sum((g - mean) ** 2 for g in gains) / (len(gains) - 1))
            # Its gain is at least 0 within noise (3 standard errors over games) ...
            assert mean >= -3 * spread / math.sqrt(len(gains)) - 1e-12, (p, v, myopic, mean)
            # ... and what its decisions were worth in expectation (a purchase is worth p·v - 1 before the
            # draw) is never below 0 by more than a rare lucky run's purchases.
            expected = sum(bought(states)) / len(bought(states)) * (p * v - 1)
            assert expected >= -0.01, (p, v, myopic, expected)
        # where buying never pays (p·v < 1) it stops buying after a few rounds
        states = cells[(1 / 3, 1.2)]
        assert sum(bought(states)) / len(bought(states)) < 0.05, myopic
    # the commitment buyer, by contrast, believes the committed scheme and buys every round there
    milked = asyncio.run(persuasion_rounds("binary", "babbling", "commitment", games=5))[(1 / 3, 1.2)]
    assert all(bought(milked)) and (milked[0].outcome().self_gain_2 or 0.0) < -0.5


def test_the_learning_buyer_reads_free_text_as_no_information() -> None:
    binary = asyncio.run(persuasion_rounds("binary", "fair", "learning", games=10))
    text = asyncio.run(persuasion_rounds("text", "fair", "learning", games=10))
    # A truthful binary seller is learnt (it buys the highs where the prior alone would pass) ...
    assert 0 < sum(bought(binary[(1 / 3, 2.0)])) < len(bought(binary[(1 / 3, 2.0)]))
    # ... a truthful text seller's sentences are not read: it buys on what it learnt of p alone.
    low_prior = bought(text[(1 / 3, 1.2)])
    assert sum(low_prior) / len(low_prior) < 0.05


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
