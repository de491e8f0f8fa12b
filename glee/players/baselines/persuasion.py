"""Persuasion baselines: the optimal committed seller with a Bayesian buyer (spe), a truthful
seller with a trusting buyer (fair) and uniformly random play."""

from __future__ import annotations

import random
from typing import Any

from glee.games import Action, Observation, Seat
from glee.games.persuasion import PersuasionObservation, PersuasionParams
from glee.players.baseline import TOLERANCE, Baselines, Choice, Theory, message_fields, register_baselines
from glee.prompts.recommendation import read_recommendation, recommendation_text


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
        return {"decision": "buy" if buy else "pass", **message_fields(action_model)}


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
        return {"decision": "buy" if buy else "pass", **message_fields(action_model)}


class PersuasionRandom:
    """Recommend yes/no (binary) or an empty message (text); buy or pass with equal chance."""

    def __init__(self, params: PersuasionParams, seat: Seat) -> None:
        self.binary = params.seller_message_type == "binary"

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        if obs.kind == "seller_message":
            return {"recommend": rng.choice(["yes", "no"])} if self.binary else {"message": ""}
        return {"decision": rng.choice(["buy", "pass"]), **message_fields(action_model)}


def _sale_rate(params: PersuasionParams, extras: Any) -> float | None:
    value = extras.get("sale_rate")
    return None if value is None else float(value)


register_baselines(
    Baselines(
        family="persuasion",
        strategies={"spe": PersuasionSPE, "fair": PersuasionFair, "random": PersuasionRandom},
        theory=Theory(
            measure="sale_rate",
            label="share of rounds with a sale",
            observed=_sale_rate,
            # the sale rate p + (1 − p)·x of the optimal committed seller
            predicted=lambda p: p.p + (1 - p.p) * low_recommend_probability(p),
        ),
    )
)
