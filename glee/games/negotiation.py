"""Negotiation: a seller (Alice) and a buyer (Bob) haggle over a price, with outside options.

GAMES.md section 2. The seller proposes in odd rounds, the buyer in even rounds. The
responder accepts (trade at that price), rejects (it proposes next; a reject in round T
ends with no trade) or takes its own outside option (no trade, zero surplus for both).
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

ROLES: tuple[Literal["seller"], Literal["buyer"]] = ("seller", "buyer")
"""What seat 1 and seat 2 are."""
VERSION: int = 3
"""The negotiation rules' version, part of every negotiation game's id (not other families'). Bump it whenever a
change here, or anything shared that these rules use, changes what a negotiation game with the same spec plays
(its turns or outcome); tests/test_golden.py fails until it is bumped. 2: under a hidden horizon the `spe`
baselines split the surplus evenly (the stationary solution) instead of following the parity of T;
3: a forfeit is scored as no deal (intention to treat)."""


class NegotiationParams(OfferParams):
    family: ClassVar = "negotiation"

    price_scale: float = Field(10_000, gt=0, validation_alias=AliasChoices("price_scale", "product_price_order"))
    seller_value: float = Field(1.0, ge=0)
    buyer_value: float = Field(1.2, ge=0)
    max_rounds: int = Field(30, ge=1)

    def value(self, seat: Seat) -> float:
        """What the product is worth to `seat`, in money (F·M)."""
        return (self.seller_value if seat == 1 else self.buyer_value) * self.price_scale


class PriceOffer(Action):
    kind: ClassVar[TurnKind] = "propose"
    price: float = Field(ge=0)
    message: str | None = None


class NegotiationResponse(Action):
    """`outside_option` is the responder's own: the seller sells, the buyer buys, elsewhere."""

    kind: ClassVar[TurnKind] = "respond"
    decision: Literal["accept", "reject", "outside_option"]


@cache
def price_offer_model(messages_allowed: bool) -> type[Action]:
    fields: dict[str, Any] = {"price": (float, Field(ge=0))}
    fields["message"] = message_field(messages_allowed)
    model: type[Action] = create_model("NegotiationOffer", __base__=PriceOffer, **fields)
    return model


class NegotiationObservation(Observation):
    family: Literal["negotiation"] = "negotiation"
    role: Literal["seller", "buyer"]
    price_scale: float
    own_value: float
    """What the product is worth to this seat, in money."""
    other_value: float | None
    """Known only under complete information."""
    max_rounds: int | None
    """Known only when the horizon is disclosed."""
    messages_allowed: bool
    proposer: Seat
    pending_price: float | None


class NegotiationState(GameState):
    family: ClassVar = "negotiation"
    params: NegotiationParams
    pending: float | None = None
    price: float | None = None
    """The traded price, once accepted."""
    ended_by: Seat | None = None

    def proposer(self) -> Seat:
        return 1 if self.round % 2 == 1 else 2

    def to_act(self) -> Literal[0, 1, 2] | None:
        if self.is_over:
            return None
        return self.proposer() if self.pending is None else other(self.proposer())

    def kind(self) -> TurnKind:
        return "propose" if self.pending is None else "respond"

    def action_model(self) -> type[Action]:
        return price_offer_model(self.params.messages_allowed) if self.pending is None else NegotiationResponse

    def _apply(self, action: Action) -> Self:
        seat = self.to_act()
        assert seat in (1, 2)
        if isinstance(action, PriceOffer):
            return self.model_copy(update=self._record(seat, action, pending=action.price))
        assert isinstance(action, NegotiationResponse)
        if action.decision == "accept":
            update = self._record(seat, action, price=self.pending, pending=None, end_reason="agreement", ended_by=seat)
        elif action.decision == "outside_option":
            update = self._record(seat, action, pending=None, end_reason="outside_option", ended_by=seat)
        elif self.round >= self.params.max_rounds:
            update = self._record(seat, action, pending=None, end_reason="no_deal", ended_by=seat)
        else:
            update = self._record(seat, action, pending=None, round=self.round + 1)
        return self.model_copy(update=update)

    def observation(self, seat: Seat) -> NegotiationObservation:
        p = self.params
        acting = self.to_act() == seat
        return NegotiationObservation(
            seat=seat,
            name=p.name_1 if seat == 1 else p.name_2,
            other_name=p.name_2 if seat == 1 else p.name_1,
            round=self.round,
            to_act=acting,
            kind=self.kind() if acting else None,
            events=self.turns,
            role=ROLES[seat - 1],
            price_scale=p.price_scale,
            own_value=p.value(seat),
            other_value=p.value(other(seat)) if p.complete_information else None,
            max_rounds=p.max_rounds if p.horizon_disclosed else None,
            messages_allowed=p.messages_allowed,
            proposer=self.proposer(),
            pending_price=self.pending if acting else None,
        )

    def outcome(self) -> Outcome:
        assert self.is_over, "outcome() of a game in progress"
        p = self.params
        fa, fb = p.seller_value, p.buyer_value
        traded = self.price is not None
        efficient = (traded and fb > fa) or (not traded and fb < fa) or fb == fa
        if self.price is None:  # no trade; a forfeit is scored as one (GAMES.md: forfeits)
            no_trade = Outcome(
                end_reason=self.end_reason or "no_deal",
                rounds=self.round,
                agreement=False,
                payoff_1=0.0,
                payoff_2=0.0,
                self_gain_1=0.0,
                self_gain_2=0.0,
                efficiency=float(efficient),
                fairness=None,
                extras=self._extras(),
            )
            return self.as_forfeit(no_trade) if self.end_reason == "forfeit" else no_trade
        price = self.price
        q = price / p.price_scale
        return Outcome(
            end_reason="agreement",
            rounds=self.round,
            agreement=True,
            payoff_1=price - p.value(1),
            payoff_2=p.value(2) - price,
            self_gain_1=q - fa,
            self_gain_2=fb - q,
            efficiency=float(efficient),
            fairness=max(0.0, 1 - 4 * (q - (fa + fb) / 2) ** 2),
            extras={
                **self._extras(),
                "price": price,
                "seller_surplus_share": (q - fa) / (fb - fa) if fb > fa else None,
            },
        )

    def _extras(self) -> dict[str, float | int | str | bool | None]:
        how = {"agreement": "accept", "no_deal": "reject_at_deadline", "outside_option": "outside_option"}
        return {
            "ended_by": self.ended_by,
            "ended_how": how.get(self.end_reason or "", self.end_reason),
            "first_offer_price": self.turns[0].action["price"] if self.turns else None,
        }


class NegotiationExtras(Frozen):
    """Outcome.extras of a negotiation game."""

    price: float | None = None
    """The traded price (agreements only)."""
    seller_surplus_share: float | None = None
    """The seller's share of the surplus (F_B − F_A)·M at the traded price."""
    first_offer_price: float | None = None
    ended_by: int | None = None
    """The seat whose answer ended the game."""
    ended_how: str | None = None
    """accept, reject_at_deadline, outside_option or forfeit."""


def _payoff_range(p: NegotiationParams, seat: int) -> tuple[float, float]:
    # Prices have no upper bound: a seller may gain without limit, a buyer lose without limit.
    return (-p.value(1), float("inf")) if seat == 1 else (float("-inf"), p.value(2))


def original_metrics(state: NegotiationState) -> Metrics:
    """The original GLEE code's scoring: fairness 1 − 4·(p − (F_A+F_B)/2)² is not clipped per game
    (its table estimator clips predicted cell means to [0, 1] instead), and a game without a trade
    has fairness 1. Self-gains and efficiency equal glee's."""
    p = state.params
    fa, fb = p.seller_value, p.buyer_value
    traded = state.price is not None
    efficient = (traded and fb > fa) or (not traded and fb < fa) or fb == fa
    if state.price is None:
        return Metrics(self_gain_1=0.0, self_gain_2=0.0, efficiency=float(efficient), fairness=1.0)
    q = state.price / p.price_scale
    return Metrics(
        self_gain_1=q - fa,
        self_gain_2=fb - q,
        efficiency=float(efficient),
        fairness=1 - 4 * (q - (fa + fb) / 2) ** 2,
    )


register(
    GameFamily(
        name="negotiation",
        params=NegotiationParams,
        state=NegotiationState,
        extras=NegotiationExtras,
        grids={
            "paper": {
                "seller_value": [0.8, 1.0, 1.2, 1.5],
                "buyer_value": [0.8, 1.0, 1.2, 1.5],
                "price_scale": [100, 10_000, 1_000_000],
                "max_rounds": [1, 10, 30],
                "complete_information": [True, False],
                "messages_allowed": [True, False],
            }
        },
        version=VERSION,
        roles=ROLES,
        bounds=Bounds(payoff=_payoff_range, turns=lambda p: 2 * p.max_rounds, horizon=lambda p: p.max_rounds),
        private={
            "other_value": lambda p, seat: p.complete_information,
            "max_rounds": lambda p, seat: bool(p.horizon_disclosed),
        },
        # Self-gains are unbounded (prices are); efficiency and fairness take the default [0, 1].
        # The paper's code and today's score negotiation the same way.
        variants={"original": original_metrics, "original_paper": original_metrics},
    )
)
