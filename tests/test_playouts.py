"""Playouts over every configuration of the paper grids, through the conformance kit.

Per configuration: random vs random with three seeds, spe vs spe and fair vs fair once
(5 games; 6 600 over the 1 320 configurations of glee's families). The kit
(glee.games.conformance) checks every move and outcome from what each family declares;
the family-specific checks below add what only one family's rules promise.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

import pytest

from glee.games import GameState, Observation, Outcome, Seat, families, parse_params, registry
from glee.games.bargaining import BargainingParams, BargainingState
from glee.games.conformance import ConformanceError, check_family, check_playout
from glee.games.grids import paper_grid
from glee.games.negotiation import NegotiationParams
from glee.games.persuasion import PersuasionParams, PersuasionState
from glee.players.baseline import Strategy
from tests.support.playout import baseline_chooser, play_baselines

MATCHUPS: list[tuple[Strategy, Strategy, tuple[int, ...]]] = [
    ("random", "random", (0, 1, 2)),
    ("spe", "spe", (0,)),
    ("fair", "fair", (0,)),
]


def bargaining_outcome(state: GameState, out: Outcome) -> None:
    p = state.params
    assert isinstance(p, BargainingParams)
    if out.agreement:
        assert out.end_reason == "agreement"
        assert out.efficiency == pytest.approx((out.self_gain_1 or 0) + (out.self_gain_2 or 0))
    else:
        assert out.end_reason == "no_deal" and out.rounds == p.max_rounds
        assert (out.self_gain_1, out.self_gain_2, out.efficiency, out.fairness) == (0, 0, 0, None)


def negotiation_outcome(state: GameState, out: Outcome) -> None:
    p = state.params
    assert isinstance(p, NegotiationParams)
    assert out.efficiency in (0.0, 1.0)
    if out.agreement:
        assert (out.self_gain_1 or 0) + (out.self_gain_2 or 0) == pytest.approx(p.buyer_value - p.seller_value)
    else:
        assert out.end_reason in ("no_deal", "outside_option")
        assert (out.self_gain_1, out.self_gain_2, out.fairness) == (0, 0, None)
        assert out.end_reason == "outside_option" or out.rounds == p.max_rounds


def persuasion_outcome(state: GameState, out: Outcome) -> None:
    p = state.params
    assert isinstance(p, PersuasionParams) and isinstance(state, PersuasionState)
    assert out.end_reason == "deadline" and out.rounds == p.rounds and len(state.turns) == 3 * p.rounds
    assert out.payoff_1 == pytest.approx(p.price * (out.self_gain_1 or 0) * p.rounds)
    # A buyer never learns the quality of a round it has not decided yet.
    for seat in (1, 2):
        obs = state.observation(seat)
        assert all(t.round <= len(state.bought) for t in obs.events if t.seat == 0)


SPECIFIC: dict[str, Callable[[GameState, Outcome], None]] = {
    "bargaining": bargaining_outcome,
    "negotiation": negotiation_outcome,
    "persuasion": persuasion_outcome,
}
"""What one family's rules promise beyond the kit's checks."""


@pytest.mark.parametrize(
    ("family", "games"),
    [("bargaining", 384 * 5), ("negotiation", 576 * 5), ("persuasion", 360 * 5)],
)
def test_playouts_over_the_whole_paper_grid_keep_every_invariant(family: str, games: int) -> None:
    played = sum(
        check_family(family, baseline_chooser(s1, s2), seeds=seeds, extra=SPECIFIC[family])
        for s1, s2, seeds in MATCHUPS
    )
    assert played == games


def test_every_registered_family_passes_the_conformance_kit_with_every_baseline() -> None:
    for family in families():
        configurations = paper_grid(family)[:4]
        for s1, s2, seeds in MATCHUPS:
            played = check_family(family, baseline_chooser(s1, s2), configurations, seeds)
            assert played == len(configurations) * len(seeds)


def test_the_kit_catches_a_seat_that_sees_a_private_field() -> None:
    """A bargaining observation that leaks the other's δ under incomplete information fails, in one line."""

    class Leaky(BargainingState):
        def observation(self, seat: Seat) -> Observation:
            obs = super().observation(seat)
            return obs.model_copy(update={"other_delta": 0.5})

    params = parse_params("bargaining", {"complete_information": False, "max_rounds": 3})
    chooser = baseline_chooser("spe", "spe")(params, 0)
    state = Leaky(params=params, seed=0)
    with pytest.raises(ConformanceError) as caught:
        check_playout(state, chooser)
    assert str(caught.value).startswith("family 'bargaining': privacy (round 1, turn 0): seat 1 sees other_delta")
    assert "\n" not in str(caught.value)


def test_the_kit_catches_a_payoff_out_of_bounds() -> None:
    class Generous(BargainingState):
        def outcome(self) -> Outcome:
            out = super().outcome()
            return out if out.end_reason == "forfeit" else out.model_copy(update={"payoff_1": 2 * self.params.money})

    params = parse_params("bargaining", {"max_rounds": 2})
    with pytest.raises(ConformanceError, match=r"payoff bounds .*payoff_1 = 20000.0, allowed \[0.0, 10000.0\]"):
        check_playout(Generous(params=params, seed=0), baseline_chooser("fair", "fair")(params, 0))


def test_play_baselines_still_plays_a_game_to_the_end() -> None:
    params = parse_params("persuasion", {"rounds": 3})
    state = asyncio.run(play_baselines(params, "spe", "spe", 0))
    assert state.is_over and state.outcome().rounds == 3


def test_the_kit_names_a_declared_private_field_the_observation_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    declared = registry.family("bargaining")
    typo = dataclasses.replace(declared, private={**declared.private, "other_detla": lambda p, seat: False})
    monkeypatch.setitem(registry._FAMILIES, "bargaining", typo)
    params = parse_params("bargaining", {"max_rounds": 2})
    with pytest.raises(ConformanceError) as caught:
        check_playout(BargainingState(params=params, seed=0), baseline_chooser("spe", "spe")(params, 0))
    assert str(caught.value) == (
        "family 'bargaining': privacy (round 1, turn 0): "
        "declared private field 'other_detla' is not a field of BargainingObservation"
    )
