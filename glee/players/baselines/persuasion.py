"""Persuasion baselines, named for what they are (GAMES.md, persuasion's theory reference):

- babbling (also `spe`): the equilibrium of the game as it is played, without commitment and with a
  known horizon. The seller prefers a sale whatever the quality, so no message can carry information:
  it always recommends the product; the buyer ignores the message and buys iff its prior makes
  buying pay (p·v + (1-p)·c >= 1, with c = 0: p·v >= 1).
- commitment: the optimal committed recommendation scheme (Kamenica-Gentzkow) with a Bayesian buyer
  who believes the seller follows it: the benchmark of what a seller who could commit would get.
- learning: a buyer who learns the seller's recommendation policy from the history (each quality is
  seen after deciding) and buys iff its estimate of P(high | this message) makes buying pay, so an
  always-"yes" seller cannot milk it. As a seller it plays babbling.
- fair: a truthful seller (recommend iff high) with a trusting buyer (buy unless told not to).
- random: uniformly random play.

In text mode a seller's recommendation is one of glee's two sentences (glee.prompts.recommendation).
The commitment and fair buyers read those sentences (their benchmarks are play against their own
sellers); the learning buyer reads a free-text message as no information (every text is one kind of
message), so it does not depend on a seller wording its messages as glee does.
"""

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


def buys_on_prior(params: PersuasionParams) -> bool:
    """Whether a buyer who learns nothing from the message buys: p >= t (indifferent: buy)."""
    return params.p >= buy_threshold(params) - TOLERANCE


def _current_recommendation(obs: PersuasionObservation) -> bool | None:
    """The seller's recommendation this round: the binary field, or the reading of its text."""
    for turn in reversed(obs.events):
        if turn.seat == 1 and turn.kind == "seller_message" and turn.round == obs.round:
            recommend = turn.action.get("recommend")
            if recommend is not None:
                return bool(recommend == "yes")
            return read_recommendation(turn.action.get("message"))
    return None


class PersuasionCommitment:
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


class PersuasionBabbling:
    """The cheap-talk equilibrium: the seller always recommends; the buyer ignores every message and
    buys iff its prior makes buying pay."""

    def __init__(self, params: PersuasionParams, seat: Seat) -> None:
        self.binary = params.seller_message_type == "binary"
        self.buy = buys_on_prior(params)

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        if obs.kind == "seller_message":
            return _seller_says(True, self.binary)
        return {"decision": "buy" if self.buy else "pass", **message_fields(action_model)}


PRIOR_WEIGHT = 2.0
"""How many rounds' worth of evidence the learning buyer's prior (of mean p) counts for."""
CREDIBILITY = 0.95
"""How sure the learning buyer must be before it departs from what its prior says (buy iff p >= t)."""


class PersuasionLearning:
    """A buyer who learns P(high | message) from what it has seen; as a seller, the babbling one.

    For each kind of message (binary: yes, no; text: one kind, since free text is read as no
    information) it counts the qualities that followed, on a Beta prior of mean p and weight
    PRIOR_WEIGHT. It plays like the babbling buyer (buy iff p >= t) until it is CREDIBILITY sure that
    P(high | this round's kind of message) is on the other side of t: a buyer whose prior says pass
    buys only when the posterior's lower 5 % bound reaches t, one whose prior says buy passes only
    when the upper bound falls below t. So a short lucky run of high products never makes it buy at a
    loss from a seller who says "yes" to everything, and a truthful seller is believed after a few
    rounds. A myopic buyer sees only how many earlier buyers bought and how many of those products
    were high: its counts are those, whatever the message.
    """

    def __init__(self, params: PersuasionParams, seat: Seat) -> None:
        self.params = params
        self.binary = params.seller_message_type == "binary"
        self.threshold = buy_threshold(params)
        self.prior_buys = buys_on_prior(params)
        self.seller = PersuasionBabbling(params, seat)

    def _kind(self, action: dict[str, Any]) -> str:
        return str(action.get("recommend")) if self.binary else "text"

    def counts(self, obs: PersuasionObservation) -> tuple[int, int]:
        """How many high and low products followed this round's kind of message so far."""
        if obs.earlier_buyers_bought is not None and obs.earlier_sales_high is not None:
            return obs.earlier_sales_high, obs.earlier_buyers_bought - obs.earlier_sales_high
        said = {t.round: self._kind(t.action) for t in obs.events if t.kind == "seller_message"}
        now = said.get(obs.round)
        highs = lows = 0
        for t in obs.events:
            if t.kind == "nature" and t.round < obs.round and said.get(t.round) == now:
                high = t.action.get("quality") == "high"
                highs, lows = highs + high, lows + (not high)
        return highs, lows

    def buys(self, obs: PersuasionObservation) -> bool:
        highs, lows = self.counts(obs)
        a = self.params.p * PRIOR_WEIGHT + highs
        b = (1 - self.params.p) * PRIOR_WEIGHT + lows
        if a <= 0 or b <= 0:  # p is 0 or 1 and nothing contradicts it: the prior is certain
            return self.prior_buys
        # scipy's inverse regularized incomplete beta function: the quantiles of Beta(a, b). Imported
        # here, not at the top: loading scipy takes a noticeable part of a second, and every run
        # loads the baselines registry whether or not a learning buyer plays.
        from scipy.special import betaincinv

        if self.prior_buys:
            return bool(betaincinv(a, b, CREDIBILITY) >= self.threshold - TOLERANCE)
        return bool(betaincinv(a, b, 1 - CREDIBILITY) >= self.threshold - TOLERANCE)

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        assert isinstance(obs, PersuasionObservation)
        if obs.kind == "seller_message":
            return self.seller.choose(obs, action_model, rng)
        return {"decision": "buy" if self.buys(obs) else "pass", **message_fields(action_model)}


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


def babbling_sale_rate(params: PersuasionParams) -> float:
    """The babbling equilibrium's sale rate: every round if the prior makes buying pay, else none."""
    return 1.0 if buys_on_prior(params) else 0.0


def commitment_sale_rate(params: PersuasionParams) -> float:
    """The optimal committed seller's sale rate p + (1 - p)·x (min(1, p·v) when c = 0)."""
    return params.p + (1 - params.p) * low_recommend_probability(params)


register_baselines(
    Baselines(
        family="persuasion",
        strategies={
            "spe": PersuasionBabbling,
            "babbling": PersuasionBabbling,
            "commitment": PersuasionCommitment,
            "learning": PersuasionLearning,
            "fair": PersuasionFair,
            "random": PersuasionRandom,
        },
        theory=Theory(
            measure="sale_rate",
            label="share of rounds with a sale",
            observed=_sale_rate,
            predicted=babbling_sale_rate,
            benchmark="the babbling equilibrium (cheap talk, no commitment)",
        ),
        randomized=frozenset({"random", "commitment"}),
    )
)
