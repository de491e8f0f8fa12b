"""Bargaining baselines: subgame-perfect (spe), even split (fair) and uniformly random play."""

from __future__ import annotations

import random
from typing import Any

from glee.games import Action, Observation, Seat
from glee.games.bargaining import BargainingObservation, BargainingParams
from glee.players.baseline import TOLERANCE, Baselines, Choice, Theory, message_fields, register_baselines


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
            return {"own_gain": self.keep(obs.round) * self.money, **message_fields(action_model)}
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
            return {"own_gain": self.money / 2, **message_fields(action_model)}
        assert obs.pending_offer is not None
        accept = obs.pending_offer[self.seat - 1] >= self.money / 2 - TOLERANCE * self.money
        return {"decision": "accept" if accept else "reject"}


class BargainingRandom:
    """Own gain uniform on [0, M]; accept or reject with equal chance."""

    def __init__(self, params: BargainingParams, seat: Seat) -> None:
        self.money = params.money

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        if obs.kind == "propose":
            return {"own_gain": rng.uniform(0, self.money), **message_fields(action_model)}
        return {"decision": rng.choice(["accept", "reject"])}


def _share_1(params: BargainingParams, extras: Any) -> float | None:
    value = extras.get("share_1")
    return None if value is None else float(value)


register_baselines(
    Baselines(
        family="bargaining",
        strategies={"spe": BargainingSPE, "fair": BargainingFair, "random": BargainingRandom},
        theory=Theory(
            measure="share_1",
            label="Alice's final share of M",
            observed=_share_1,
            predicted=lambda p: BargainingSPE(p, 1).keep(1),
        ),
    )
)
