"""Negotiation baselines: subgame-perfect (spe), midpoint price (fair) and uniformly random play."""

from __future__ import annotations

import random
from typing import Any

from glee.games import Action, Observation, Seat
from glee.games.negotiation import NegotiationObservation, NegotiationParams
from glee.players.baseline import TOLERANCE, Baselines, Choice, Theory, message_fields, register_baselines


def _respond(own_surplus: float, continuation: float, tolerance: float) -> str:
    """Accept what is at least the continuation; leave rather than lose money; else wait."""
    if own_surplus >= continuation - tolerance:
        return "accept"
    if own_surplus < -tolerance and continuation <= tolerance:
        return "outside_option"
    return "reject"


class NegotiationSPE:
    """Subgame-perfect play of the deadline game without discounting (GAMES.md, negotiation's theory).

    Disclosed horizon: the proposer of the last round T takes the whole surplus S = (F_B - F_A)·M
    (the responder there is indifferent and accepts), so in every earlier round the proposer offers
    the price that leaves the last-round proposer all of S, and it is accepted in round 1. Hidden
    horizon (the players are not told T, so the parity of T cannot guide them): the stationary
    solution, as in bargaining, taken in the limit of no discounting, an even split of S: the
    proposer offers the midpoint price and a responder accepts at least half of S. Knowing the true
    T, a responder accepts any price that does not lose it money in round T, where rejecting is worth
    nothing. When F_B < F_A no price helps both: the proposer names its own value and the responder
    takes its outside option.
    """

    def __init__(self, params: NegotiationParams, seat: Seat) -> None:
        self.params = params
        self.seat = seat
        self.scale = params.price_scale
        self.seller_money, self.buyer_money = params.value(1), params.value(2)
        self.surplus = max(0.0, self.buyer_money - self.seller_money)
        self.disclosed = bool(params.horizon_disclosed)
        self.last_proposer: Seat = 1 if params.max_rounds % 2 == 1 else 2
        if self.buyer_money < self.seller_money:
            self.price = params.value(seat)
        elif not self.disclosed:
            self.price = (self.seller_money + self.buyer_money) / 2
        else:
            self.price = self.buyer_money if self.last_proposer == 1 else self.seller_money

    def own_surplus(self, price: float) -> float:
        return price - self.seller_money if self.seat == 1 else self.buyer_money - price

    def continuation(self, round_: int) -> float:
        """The surplus this seat gets by rejecting in `round_`."""
        if round_ >= self.params.max_rounds:
            return 0.0
        if not self.disclosed:
            return self.surplus / 2
        return self.surplus if self.seat == self.last_proposer else 0.0

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        assert isinstance(obs, NegotiationObservation)
        if obs.kind == "propose":
            return {"price": self.price, **message_fields(action_model)}
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
            return {"price": self.midpoint, **message_fields(action_model)}
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
            return {"price": rng.uniform(0, self.high), **message_fields(action_model)}
        return {"decision": rng.choice(["accept", "reject", "outside_option"])}


def _price_ratio(params: NegotiationParams, extras: Any) -> float | None:
    price = extras.get("price")
    return None if price is None else float(price) / params.price_scale


def _predicted_price_ratio(params: NegotiationParams) -> float | None:
    if params.buyer_value < params.seller_value:
        return None  # no price helps both: no trade
    return NegotiationSPE(params, 1).price / params.price_scale


register_baselines(
    Baselines(
        family="negotiation",
        strategies={"spe": NegotiationSPE, "fair": NegotiationFair, "random": NegotiationRandom},
        theory=Theory(
            measure="price_ratio", label="final price / M", observed=_price_ratio, predicted=_predicted_price_ratio
        ),
    )
)
