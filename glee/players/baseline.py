"""Baseline players: theory (spe), heuristic (fair) and uniformly random agents.

Baselines are theory reference players: they are given the game's true Params, so they
know every parameter even under incomplete information (the other's δ or value, p, v, c,
the horizon). They make no model calls and answer at once: every theory value is
precomputed in the constructor. Randomized choices draw from a `random.Random(seed)` the
player owns, so a game replays exactly and never touches global randomness.

Strategies (GAMES.md theory references):
- spe: the subgame-perfect (bargaining, negotiation) or optimal committed-persuasion
  (persuasion) strategy of the seat.
- fair: even split / midpoint price / truthful seller and trusting buyer.
- random: a uniformly random legal action.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Literal

from glee.errors import ConfigError
from glee.games import Action, Observation, Params, Seat
from glee.games.bargaining import BargainingObservation, BargainingParams
from glee.games.negotiation import NegotiationObservation, NegotiationParams
from glee.games.persuasion import PersuasionObservation, PersuasionParams
from glee.players.base import Decision
from glee.prompts.recommendation import read_recommendation, recommendation_text

Strategy = Literal["spe", "random", "fair"]
STRATEGIES: tuple[Strategy, ...] = ("spe", "random", "fair")

TOLERANCE = 1e-9
"""Relative tolerance of money comparisons (times the money scale): indifference means accept."""

Choice = dict[str, Any]
"""The fields of an action, before it is validated into the turn's action model."""


def _message_fields(action_model: type[Action]) -> Choice:
    """An empty message where the action model requires one (baselines do not talk)."""
    field = action_model.model_fields.get("message")
    return {"message": ""} if field is not None and field.is_required() else {}


# ---------------------------------------------------------------- bargaining


def stationary_share(delta_self: float, delta_other: float) -> float:
    """What a proposer keeps in the stationary infinite-horizon SPE: (1-δ_j)/(1-δ_i·δ_j).

    With δ_i = δ_j = 1 the formula is 0/0; the convention is an even split.
    """
    denominator = 1 - delta_self * delta_other
    if denominator <= 0:
        return 0.5
    return (1 - delta_other) / denominator


def backward_shares(params: BargainingParams) -> list[float]:
    """k_r for r = 1..T (index r-1): what the round-r proposer keeps under backward induction.

    k_T = 1; k_r = 1 - δ_resp(r)·k_(r+1), where the responder of round r proposes in r+1.
    """
    horizon = params.max_rounds
    shares = [0.0] * horizon
    shares[-1] = 1.0
    for r in range(horizon - 1, 0, -1):
        responder: Seat = 2 if r % 2 == 1 else 1
        shares[r - 1] = 1 - params.delta(responder) * shares[r]
    return shares


class BargainingSPE:
    """Proposes its SPE share; accepts any offer at least worth its continuation value.

    A disclosed horizon is solved by backward induction; a hidden one is played with the
    stationary infinite-horizon shares. Knowing the true T either way, it accepts anything
    in round T, where rejecting is worth nothing.
    """

    def __init__(self, params: BargainingParams, seat: Seat) -> None:
        self.params = params
        self.seat = seat
        self.money = params.money
        self.disclosed = bool(params.horizon_disclosed)
        self.shares = backward_shares(params) if self.disclosed else []
        self.own_stationary = stationary_share(params.delta(seat), params.delta(2 if seat == 1 else 1))

    def keep(self, round_: int) -> float:
        """Share of M the proposer of `round_` keeps, when this seat is that proposer."""
        return self.shares[round_ - 1] if self.disclosed else self.own_stationary

    def continuation(self, round_: int) -> float:
        """What rejecting in `round_` is worth to this seat now, in money."""
        if round_ >= self.params.max_rounds:
            return 0.0  # a reject in round T ends the game with nothing
        return self.params.delta(self.seat) * self.keep(round_ + 1) * self.money

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        assert isinstance(obs, BargainingObservation)
        if obs.kind == "propose":
            return {"own_gain": self.keep(obs.round) * self.money, **_message_fields(action_model)}
        assert obs.pending_offer is not None
        offered = obs.pending_offer[self.seat - 1]
        accept = offered >= self.continuation(obs.round) - TOLERANCE * self.money
        return {"decision": "accept" if accept else "reject"}


class BargainingFair:
    """Proposes an even split; accepts any offer giving it at least half."""

    def __init__(self, params: BargainingParams, seat: Seat) -> None:
        self.money = params.money
        self.seat = seat

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        assert isinstance(obs, BargainingObservation)
        if obs.kind == "propose":
            return {"own_gain": self.money / 2, **_message_fields(action_model)}
        assert obs.pending_offer is not None
        accept = obs.pending_offer[self.seat - 1] >= self.money / 2 - TOLERANCE * self.money
        return {"decision": "accept" if accept else "reject"}


class BargainingRandom:
    """Own gain uniform on [0, M]; accept or reject with equal chance."""

    def __init__(self, params: BargainingParams, seat: Seat) -> None:
        self.money = params.money

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        if obs.kind == "propose":
            return {"own_gain": rng.uniform(0, self.money), **_message_fields(action_model)}
        return {"decision": rng.choice(["accept", "reject"])}


# ---------------------------------------------------------------- negotiation


def _respond(own_surplus: float, continuation: float, tolerance: float) -> str:
    """Accept what is at least the continuation; leave rather than lose money; else wait."""
    if own_surplus >= continuation - tolerance:
        return "accept"
    if own_surplus < -tolerance and continuation <= tolerance:
        return "outside_option"
    return "reject"


class NegotiationSPE:
    """Subgame-perfect play of the deadline game without discounting.

    The proposer of the last round T takes the whole surplus S = (F_B - F_A)·M (the
    responder there is indifferent and accepts), so in every earlier round the proposer
    offers the price that leaves the last-round proposer all of S, and it is accepted in
    round 1. When F_B < F_A no price helps both: the proposer names its own value and the
    responder takes its outside option.
    """

    def __init__(self, params: NegotiationParams, seat: Seat) -> None:
        self.params = params
        self.seat = seat
        self.scale = params.price_scale
        self.seller_money, self.buyer_money = params.value(1), params.value(2)
        self.surplus = max(0.0, self.buyer_money - self.seller_money)
        self.last_proposer: Seat = 1 if params.max_rounds % 2 == 1 else 2
        if self.buyer_money < self.seller_money:
            self.price = params.value(seat)
        else:
            self.price = self.buyer_money if self.last_proposer == 1 else self.seller_money

    def own_surplus(self, price: float) -> float:
        return price - self.seller_money if self.seat == 1 else self.buyer_money - price

    def continuation(self, round_: int) -> float:
        """The surplus this seat gets by rejecting in `round_`."""
        if self.seat == self.last_proposer and round_ < self.params.max_rounds:
            return self.surplus
        return 0.0

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        assert isinstance(obs, NegotiationObservation)
        if obs.kind == "propose":
            return {"price": self.price, **_message_fields(action_model)}
        assert obs.pending_price is not None
        own = self.own_surplus(obs.pending_price)
        return {"decision": _respond(own, self.continuation(obs.round), TOLERANCE * self.scale)}


class NegotiationFair:
    """Proposes the midpoint price (F_A+F_B)/2·M; accepts a price at least as good for itself.

    A price that would lose it money is never accepted (it takes its outside option, which
    is what makes fair play efficient when F_B < F_A); any other worse price is rejected.
    """

    def __init__(self, params: NegotiationParams, seat: Seat) -> None:
        self.seat = seat
        self.tolerance = TOLERANCE * params.price_scale
        self.midpoint = (params.seller_value + params.buyer_value) / 2 * params.price_scale
        self.own_value = params.value(seat)

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        assert isinstance(obs, NegotiationObservation)
        if obs.kind == "propose":
            return {"price": self.midpoint, **_message_fields(action_model)}
        price = obs.pending_price
        assert price is not None
        sign = 1 if self.seat == 1 else -1  # the seller wants a high price, the buyer a low one
        if sign * (price - self.own_value) < -self.tolerance:
            return {"decision": "outside_option"}
        if sign * (price - self.midpoint) >= -self.tolerance:
            return {"decision": "accept"}
        return {"decision": "reject"}


class NegotiationRandom:
    """Price uniform on [0, 2·max(F_A, F_B)·M]; accept, reject or leave with equal chance."""

    def __init__(self, params: NegotiationParams, seat: Seat) -> None:
        # Prices have no upper bound in the rules; this range is centred on the larger value
        # and covers every price that one side or the other could find acceptable.
        self.high = 2 * max(params.seller_value, params.buyer_value) * params.price_scale

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        if obs.kind == "propose":
            return {"price": rng.uniform(0, self.high), **_message_fields(action_model)}
        return {"decision": rng.choice(["accept", "reject", "outside_option"])}


# ---------------------------------------------------------------- persuasion


def buy_threshold(params: PersuasionParams) -> float:
    """The belief t = (1-c)/(v-c) above which buying at price P pays."""
    return (1 - params.c) / (params.v - params.c)


def low_recommend_probability(params: PersuasionParams) -> float:
    """x: how often the optimal committed seller recommends a low-quality product.

    The largest x that keeps the buyer's posterior after "yes", p/(p+(1-p)x), at least t:
    x = min(1, p(1-t)/((1-p)t)), clipped to [0, 1].
    """
    t, p = buy_threshold(params), params.p
    if p >= 1 or t <= 0:
        return 1.0
    return min(1.0, max(0.0, p * (1 - t) / ((1 - p) * t)))


def _current_recommendation(obs: PersuasionObservation) -> bool | None:
    """The seller's recommendation this round: the binary field, or the reading of its text."""
    for turn in reversed(obs.events):
        if turn.seat == 1 and turn.kind == "seller_message" and turn.round == obs.round:
            recommend = turn.action.get("recommend")
            if recommend is not None:
                return bool(recommend == "yes")
            return read_recommendation(turn.action.get("message"))
    return None


class PersuasionSPE:
    """The optimal committed seller and a Bayesian buyer who knows that policy.

    Seller: recommend every high product, a low one with probability x. Buyer: after
    "yes" buy iff the posterior p/(p+(1-p)x) >= t (indifferent: buy); after "no" pass;
    an unreadable message leaves it at its prior: buy iff p >= t.
    """

    def __init__(self, params: PersuasionParams, seat: Seat) -> None:
        self.binary = params.seller_message_type == "binary"
        self.x = low_recommend_probability(params)
        t, p = buy_threshold(params), params.p
        posterior_yes = p / (p + (1 - p) * self.x) if p + (1 - p) * self.x > 0 else 0.0
        self.buy_after_yes = posterior_yes >= t - TOLERANCE
        self.buy_on_prior = p >= t - TOLERANCE

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        assert isinstance(obs, PersuasionObservation)
        if obs.kind == "seller_message":
            yes = obs.quality == "high" or rng.random() < self.x
            return _seller_says(yes, self.binary)
        said = _current_recommendation(obs)
        buy = self.buy_on_prior if said is None else (said and self.buy_after_yes)
        return {"decision": "buy" if buy else "pass", **_message_fields(action_model)}


def _seller_says(yes: bool, binary: bool) -> Choice:
    if binary:
        return {"recommend": "yes" if yes else "no"}
    return {"message": recommendation_text(yes)}


class PersuasionFair:
    """A truthful seller (recommend iff high) and a trusting buyer (buy iff recommended)."""

    def __init__(self, params: PersuasionParams, seat: Seat) -> None:
        self.binary = params.seller_message_type == "binary"

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        assert isinstance(obs, PersuasionObservation)
        if obs.kind == "seller_message":
            return _seller_says(obs.quality == "high", self.binary)
        said = _current_recommendation(obs)
        buy = said is None or said  # trusting: only an explicit "no" stops it
        return {"decision": "buy" if buy else "pass", **_message_fields(action_model)}


class PersuasionRandom:
    """Recommend yes/no (binary) or an empty message (text); buy or pass with equal chance."""

    def __init__(self, params: PersuasionParams, seat: Seat) -> None:
        self.binary = params.seller_message_type == "binary"

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        if obs.kind == "seller_message":
            return {"recommend": rng.choice(["yes", "no"])} if self.binary else {"message": ""}
        return {"decision": rng.choice(["buy", "pass"]), **_message_fields(action_model)}


# ---------------------------------------------------------------- the player

Policy = Callable[[Observation, type[Action], random.Random], Choice]

_POLICIES: dict[tuple[str, Strategy], Callable[[Any, Seat], Any]] = {
    ("bargaining", "spe"): BargainingSPE,
    ("bargaining", "fair"): BargainingFair,
    ("bargaining", "random"): BargainingRandom,
    ("negotiation", "spe"): NegotiationSPE,
    ("negotiation", "fair"): NegotiationFair,
    ("negotiation", "random"): NegotiationRandom,
    ("persuasion", "spe"): PersuasionSPE,
    ("persuasion", "fair"): PersuasionFair,
    ("persuasion", "random"): PersuasionRandom,
}


class BaselinePlayer:
    """One seat played by a baseline strategy (see the module docstring). No model calls."""

    def __init__(self, strategy: Strategy, params: Params, seat: Seat, seed: int) -> None:
        self.label = f"baseline:{strategy}"
        self.strategy = strategy
        self.seat = seat
        self.rng = random.Random(seed)
        self.policy: Policy = _POLICIES[(params.family, strategy)](params, seat).choose

    async def act(self, observation: Observation, action_model: type[Action]) -> Decision:
        """The strategy's action for this turn, validated into `action_model`."""
        return Decision(action=self.choose(observation, action_model), attempts=[])

    def choose(self, observation: Observation, action_model: type[Action]) -> Action:
        """The same as `act`, synchronously (for callers without an event loop)."""
        return action_model.model_validate(self.policy(observation, action_model, self.rng))


def make_baseline(strategy: Strategy, params: Params, seat: Seat, seed: int) -> BaselinePlayer:
    """A baseline player of `strategy` for `seat` of a game with these (true) parameters."""
    if strategy not in STRATEGIES:
        raise ConfigError(f"strategy: got {strategy!r}; allowed: one of {list(STRATEGIES)}")
    if seat not in (1, 2):
        raise ConfigError(f"seat: got {seat!r}; allowed: 1 or 2")
    return BaselinePlayer(strategy, params, seat, seed)
