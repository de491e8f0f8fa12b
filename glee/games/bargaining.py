"""Bargaining: alternating offers over an amount M with per-round discounting (Rubinstein).

GAMES.md section 1. Alice (seat 1) proposes in odd rounds, Bob in even rounds. The
proposer names its own gain; the responder accepts (the split is paid, discounted) or
rejects (roles swap; a reject in round T ends the game with no deal).
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar, Literal, Self

from pydantic import AliasChoices, Field, create_model

from glee.games.base import (
    Action,
    Frozen,
    GameState,
    Metrics,
    Observation,
    OfferParams,
    Outcome,
    Seat,
    TurnKind,
    message_field,
    other,
)
from glee.games.registry import Bounds, GameFamily, register

ROLES = ("first_proposer", "second_proposer")
"""What seat 1 and seat 2 are: both propose and respond, in turn; seat 1 proposes in odd rounds."""
VERSION: int = 3
"""The bargaining rules' version, part of every bargaining game's id (not other families'). Bump it whenever a
change here, or anything shared that these rules use, changes what a bargaining game with the same spec plays
(its turns or outcome); tests/test_golden.py fails until it is bumped."""


class BargainingParams(OfferParams):
    family: ClassVar = "bargaining"

    money: float = Field(10_000, gt=0, validation_alias=AliasChoices("money", "money_to_divide"))
    delta_1: float = Field(0.95, gt=0, le=1)
    delta_2: float = Field(0.95, gt=0, le=1)
    max_rounds: int = Field(99, ge=1)
    show_inflation_update: bool = True
    walkaway_allowed: bool = False
    """Whether the responder may walk away instead of rejecting: the game ends at once with no deal (the
    GLEE competition's rule); glee's original game has only accept and reject."""

    def delta(self, seat: Seat) -> float:
        return self.delta_1 if seat == 1 else self.delta_2


class Offer(Action):
    """The proposer's own gain; the responder gets the rest of M."""

    kind: ClassVar[TurnKind] = "propose"
    own_gain: float = Field(ge=0)
    message: str | None = None


class Response(Action):
    kind: ClassVar[TurnKind] = "respond"
    decision: Literal["accept", "reject"]


class WalkawayResponse(Response):
    """The response where the game allows walking away (`walkaway_allowed`): the game ends with no deal."""

    decision: Literal["accept", "reject", "walkaway"]  # type: ignore[assignment]


def response_model(walkaway_allowed: bool) -> type[Action]:
    """The responder's action: accept or reject, and walkaway only where the game allows it."""
    return WalkawayResponse if walkaway_allowed else Response


@cache
def offer_model(money: float, messages_allowed: bool) -> type[Action]:
    """The offer bounded to [0, M]; with a required message field only when messages are allowed."""
    fields: dict[str, Any] = {"own_gain": (float, Field(ge=0, le=money))}
    fields["message"] = message_field(messages_allowed)
    model: type[Action] = create_model("BargainingOffer", __base__=Offer, **fields)
    return model


class BargainingObservation(Observation):
    family: Literal["bargaining"] = "bargaining"
    money: float
    own_delta: float
    other_delta: float | None
    """Known only under complete information."""
    reminder_other_delta: float
    """The other's δ as the original GLEE round reminder used it, also under incomplete information
    (where it showed the other's loss whenever the two δ differ). Only a prompt set that reproduces
    that reminder reads it, behind a switch (original_information's reveal_discount_reminder)."""
    max_rounds: int | None
    """Known only when the horizon is disclosed."""
    messages_allowed: bool
    show_inflation_update: bool
    walkaway_allowed: bool
    proposer: Seat
    pending_offer: tuple[float, float] | None
    """The (Alice, Bob) split awaiting this seat's answer, when it is asked to respond."""


class BargainingState(GameState):
    family: ClassVar = "bargaining"
    params: BargainingParams
    pending: tuple[float, float] | None = None
    """The split (Alice, Bob) on the table, awaiting a response."""
    accepted: tuple[float, float] | None = None
    first_offer_share: float | None = None

    def proposer(self) -> Seat:
        return 1 if self.round % 2 == 1 else 2

    def to_act(self) -> Literal[0, 1, 2] | None:
        if self.is_over:
            return None
        return self.proposer() if self.pending is None else other(self.proposer())

    def kind(self) -> TurnKind:
        return "propose" if self.pending is None else "respond"

    def action_model(self) -> type[Action]:
        if self.pending is None:
            return offer_model(self.params.money, self.params.messages_allowed)
        return response_model(self.params.walkaway_allowed)

    def _apply(self, action: Action) -> Self:
        seat = self.to_act()
        assert seat in (1, 2)
        if isinstance(action, Offer):
            money = self.params.money
            own = min(action.own_gain, money)
            split = (own, money - own) if seat == 1 else (money - own, own)
            first = self.first_offer_share if self.turns else split[0] / money
            return self.model_copy(update=self._record(seat, action, pending=split, first_offer_share=first))
        assert isinstance(action, Response)
        if action.decision == "accept":
            update = self._record(seat, action, accepted=self.pending, pending=None, end_reason="agreement")
        elif action.decision == "walkaway" or self.round >= self.params.max_rounds:
            update = self._record(seat, action, pending=None, end_reason="no_deal")
        else:
            update = self._record(seat, action, pending=None)
            update["round"] = self.round + 1
        return self.model_copy(update=update)

    def observation(self, seat: Seat) -> BargainingObservation:
        p = self.params
        responding = self.to_act() == seat and self.pending is not None
        return BargainingObservation(
            seat=seat,
            name=p.name_1 if seat == 1 else p.name_2,
            other_name=p.name_2 if seat == 1 else p.name_1,
            round=self.round,
            to_act=self.to_act() == seat,
            kind=self.kind() if self.to_act() == seat else None,
            events=self.turns,
            money=p.money,
            own_delta=p.delta(seat),
            other_delta=p.delta(other(seat)) if p.complete_information else None,
            reminder_other_delta=p.delta(other(seat)),
            max_rounds=p.max_rounds if p.horizon_disclosed else None,
            messages_allowed=p.messages_allowed,
            show_inflation_update=p.show_inflation_update,
            walkaway_allowed=p.walkaway_allowed,
            proposer=self.proposer(),
            pending_offer=self.pending if responding else None,
        )

    def outcome(self) -> Outcome:
        assert self.is_over, "outcome() of a game in progress"
        p = self.params
        if self.accepted is None:  # no deal; a forfeit is scored as one (GAMES.md: forfeits)
            no_deal = Outcome(
                end_reason="no_deal",
                rounds=self.round,
                agreement=False,
                payoff_1=0.0,
                payoff_2=0.0,
                self_gain_1=0.0,
                self_gain_2=0.0,
                efficiency=0.0,
                fairness=None,
                extras=self._extras(),
            )
            return self.as_forfeit(no_deal) if self.end_reason == "forfeit" else no_deal
        alice, bob = self.accepted
        s = alice / p.money
        d1, d2 = p.delta_1 ** (self.round - 1), p.delta_2 ** (self.round - 1)
        return Outcome(
            end_reason="agreement",
            rounds=self.round,
            agreement=True,
            payoff_1=alice * d1,
            payoff_2=bob * d2,
            self_gain_1=s * d1,
            self_gain_2=(1 - s) * d2,
            efficiency=s * d1 + (1 - s) * d2,
            fairness=1 - 4 * (s - 0.5) ** 2,
            extras={**self._extras(), "share_1": s},
        )

    def _extras(self) -> dict[str, float | int | str | bool | None]:
        return {"first_offer_share": self.first_offer_share}


class BargainingExtras(Frozen):
    """Outcome.extras of a bargaining game."""

    first_offer_share: float | None = None
    """Alice's share of M in the first offer."""
    share_1: float | None = None
    """Alice's share of M in the accepted split (agreements only)."""


def original_metrics(state: BargainingState) -> Metrics:
    """The original GLEE code's scoring (its analysis reads Alice's gain of the accepted offer, or 0
    without a deal, and the round of the last row): without a deal it scores the game as if Bob had
    been paid all of M in the last round, so Bob's self-gain and the efficiency are δ_2^(T−1) and
    the fairness 1 − 4·(0 − ½)² = 0. With a deal it equals glee's metrics."""
    p = state.params
    s = state.accepted[0] / p.money if state.accepted is not None else 0.0
    alice = s * p.delta_1 ** (state.round - 1)
    bob = (1 - s) * p.delta_2 ** (state.round - 1)
    return Metrics(self_gain_1=alice, self_gain_2=bob, efficiency=alice + bob, fairness=1 - 4 * (s - 0.5) ** 2)


register(
    GameFamily(
        name="bargaining",
        params=BargainingParams,
        state=BargainingState,
        extras=BargainingExtras,
        grids={
            "paper": {
                "delta_1": [0.8, 0.9, 0.95, 1.0],
                "delta_2": [0.8, 0.9, 0.95, 1.0],
                "money": [100, 10_000, 1_000_000],
                "max_rounds": [12, 99],
                "complete_information": [True, False],
                "messages_allowed": [True, False],
            }
        },
        version=VERSION,
        roles=ROLES,
        bounds=Bounds(
            payoff=lambda p, seat: (0.0, p.money),
            turns=lambda p: 2 * p.max_rounds,
            horizon=lambda p: p.max_rounds,
        ),
        private={
            "other_delta": lambda p, seat: p.complete_information,
            "max_rounds": lambda p, seat: bool(p.horizon_disclosed),
        },
        # The ranges GLEE's table estimator clips predicted cells to (the original analysis's).
        metric_ranges={"self_gain_1": (0.0, 1.0), "self_gain_2": (0.0, 1.0)},
        # The paper's code and today's score bargaining the same way.
        variants={"original": original_metrics, "original_paper": original_metrics},
    )
)
