"""Ultimatum baselines. spe (the subgame-perfect equilibrium): offer the smallest unit, accept any
positive offer. fair: offer half, accept at least half. random: uniform offer, accept or reject."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from glee.games import Action, Observation, Seat
from glee.players.baseline import TOLERANCE, Baselines, Choice, Theory, register_baselines
from glee_ultimatum.rules import UltimatumObservation, UltimatumParams


class UltimatumSPE:
    def __init__(self, params: UltimatumParams, seat: Seat) -> None:
        self.offer = min(params.unit, params.money)

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        assert isinstance(obs, UltimatumObservation)
        if obs.kind == "propose":
            return {"offer": self.offer}
        assert obs.pending_offer is not None
        return {"decision": "accept" if obs.pending_offer > 0 else "reject"}


class UltimatumFair:
    def __init__(self, params: UltimatumParams, seat: Seat) -> None:
        self.half = params.money / 2
        self.tolerance = TOLERANCE * params.money

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        assert isinstance(obs, UltimatumObservation)
        if obs.kind == "propose":
            return {"offer": self.half}
        assert obs.pending_offer is not None
        return {"decision": "accept" if obs.pending_offer >= self.half - self.tolerance else "reject"}


class UltimatumRandom:
    def __init__(self, params: UltimatumParams, seat: Seat) -> None:
        self.money = params.money

    def choose(self, obs: Observation, action_model: type[Action], rng: random.Random) -> Choice:
        if obs.kind == "propose":
            return {"offer": rng.uniform(0, self.money)}
        return {"decision": rng.choice(["accept", "reject"])}


def _offer_share(params: UltimatumParams, extras: Mapping[str, Any]) -> float | None:
    value = extras.get("offer_share")
    return None if value is None else float(value)


register_baselines(
    Baselines(
        family="ultimatum",
        strategies={"spe": UltimatumSPE, "fair": UltimatumFair, "random": UltimatumRandom},
        theory=Theory(
            measure="offer_share",
            label="offer / M",
            observed=_offer_share,
            predicted=lambda p: min(p.unit, p.money) / p.money,
        ),
    )
)
