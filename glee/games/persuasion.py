"""Persuasion: a seller who knows each product's quality, and a buyer, over T rounds.

GAMES.md section 3. Each round Nature draws the quality (high with probability p) from
the game's seeded generator; the seller (Alice) sees it and sends a message or a yes/no
recommendation; the buyer (Bob) buys at price P or passes, then learns the quality.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar, Literal, Self

from pydantic import AliasChoices, Field, ValidationInfo, create_model, field_validator

from glee.games.base import (
    ABSENT,
    Action,
    Frozen,
    GameState,
    Metrics,
    Observation,
    Outcome,
    Params,
    Seat,
    TurnKind,
    message_field,
)
from glee.games.registry import Bounds, GameFamily, register

ROLES: tuple[Literal["seller"], Literal["buyer"]] = ("seller", "buyer")
"""What seat 1 and seat 2 are."""
VERSION: int = 3
"""The persuasion rules' version, part of every persuasion game's id (not other families'). Bump it whenever a
change here, or anything shared that these rules use, changes what a persuasion game with the same spec plays
(its turns or outcome); tests/test_golden.py fails until it is bumped. 2: the `spe` baselines play the
babbling equilibrium instead of the committed scheme (now `commitment`), so stored spe games are replayed;
3: a forfeit is scored as no sale from its round on (intention to treat)."""


class PersuasionParams(Params):
    family: ClassVar = "persuasion"

    price: float = Field(10_000, gt=0, validation_alias=AliasChoices("price", "product_price"))
    p: float = Field(0.5, ge=0, le=1)
    v: float = Field(2.0, gt=0)
    c: float = Field(0.0, ge=0, le=1)
    rounds: int = Field(20, ge=1, validation_alias=AliasChoices("rounds", "total_rounds"))
    seller_knows_buyer_values: bool = Field(
        True, validation_alias=AliasChoices("seller_knows_buyer_values", "is_seller_know_cv")
    )
    buyer_knows_p: bool = Field(True, validation_alias=AliasChoices("buyer_knows_p", "is_buyer_know_p"))
    seller_message_type: Literal["text", "binary"] = "text"
    myopic_buyer: bool = Field(False, validation_alias=AliasChoices("myopic_buyer", "is_myopic"))
    buyer_messages_allowed: bool = Field(
        False, validation_alias=AliasChoices("buyer_messages_allowed", "allow_buyer_message")
    )

    @field_validator("c")
    @classmethod
    def _below_v(cls, c: float, info: ValidationInfo) -> float:
        # A field validator (not a model one) so that the error names a field and its value.
        v = info.data.get("v")
        if v is not None and c >= v:
            raise ValueError(f"must be below v ({v}): a low-quality product is worth less than a high-quality one")
        return c


class QualityDraw(Action):
    """Nature's draw of this round's product quality."""

    kind: ClassVar[TurnKind] = "nature"
    quality: Literal["high", "low"]


class SellerMessage(Action):
    """Text mode: a free message. Binary mode: a recommendation (the subclass decides which field)."""

    kind: ClassVar[TurnKind] = "seller_message"
    message: str | None = None
    recommend: Literal["yes", "no"] | None = None


class BuyerDecision(Action):
    kind: ClassVar[TurnKind] = "buyer_decision"
    decision: Literal["buy", "pass"]
    message: str | None = None


@cache
def seller_model(message_type: str) -> type[Action]:
    field: dict[str, Any]
    # Text mode has no recommendation field and binary mode no free text: each is only the other.
    if message_type == "text":
        field = {"message": message_field(True), "recommend": ABSENT}
    else:
        field = {"recommend": (Literal["yes", "no"], ...), "message": ABSENT}
    model: type[Action] = create_model(f"SellerMessage_{message_type}", __base__=SellerMessage, **field)
    return model


@cache
def buyer_model(messages_allowed: bool) -> type[Action]:
    fields: dict[str, Any] = {"message": message_field(messages_allowed)}
    name = "BuyerDecisionWithMessage" if messages_allowed else "BuyerDecisionOnly"
    model: type[Action] = create_model(name, __base__=BuyerDecision, **fields)
    return model


class PersuasionObservation(Observation):
    family: Literal["persuasion"] = "persuasion"
    role: Literal["seller", "buyer"]
    price: float
    total_rounds: int
    p: float | None
    """Known to the seller, and to the buyer when `buyer_knows_p`."""
    v: float | None
    """Known to the buyer, and to the seller when `seller_knows_buyer_values`."""
    c: float | None
    seller_knows_buyer_values: bool
    buyer_knows_p: bool
    """Whether the buyer is told p (a public parameter: the original told the seller so)."""
    message_type: Literal["text", "binary"]
    myopic_buyer: bool
    buyer_messages_allowed: bool
    quality: Literal["high", "low"] | None
    """This round's quality: the seller's private knowledge (None for the buyer)."""
    earlier_buyers_bought: int | None
    """A myopic buyer's only history: how many earlier buyers bought ..."""
    earlier_sales_high: int | None
    """... and how many of those products were high quality."""


class PersuasionState(GameState):
    family: ClassVar = "persuasion"
    params: PersuasionParams
    stage: Literal["nature", "seller", "buyer"] = "nature"
    qualities: tuple[bool, ...] = ()
    """True for a high-quality product, one per round drawn so far."""
    bought: tuple[bool, ...] = ()

    def to_act(self) -> Literal[0, 1, 2] | None:
        if self.is_over:
            return None
        return {"nature": 0, "seller": 1, "buyer": 2}[self.stage]  # type: ignore[return-value]

    def kind(self) -> TurnKind:
        return {"nature": "nature", "seller": "seller_message", "buyer": "buyer_decision"}[self.stage]  # type: ignore[return-value]

    def action_model(self) -> type[Action]:
        if self.stage == "nature":
            return QualityDraw
        if self.stage == "seller":
            return seller_model(self.params.seller_message_type)
        return buyer_model(self.params.buyer_messages_allowed)

    def nature_action(self) -> Action:
        high = self.rng(self.round).random() < self.params.p
        return QualityDraw(quality="high" if high else "low")

    def _apply(self, action: Action) -> Self:
        if isinstance(action, QualityDraw):
            update = self._record(0, action, stage="seller", qualities=(*self.qualities, action.quality == "high"))
        elif isinstance(action, SellerMessage):
            update = self._record(1, action, stage="buyer")
        else:
            assert isinstance(action, BuyerDecision)
            update = self._record(2, action, bought=(*self.bought, action.decision == "buy"))
            if self.round >= self.params.rounds:
                update["end_reason"] = "deadline"
            else:
                update.update(stage="nature", round=self.round + 1)
        return self.model_copy(update=update)

    def observation(self, seat: Seat) -> PersuasionObservation:
        p = self.params
        acting = self.to_act() == seat
        seller = seat == 1
        myopic = p.myopic_buyer and not seller
        if seller:
            events = self.turns
        elif myopic:
            # A fresh buyer each round: it sees only this round's seller message.
            events = tuple(t for t in self.turns if t.round == self.round and t.seat == 1)
        else:
            # A long-lived buyer learns each quality once its decision for that round is made.
            decided = len(self.bought)
            events = tuple(t for t in self.turns if t.seat != 0 or t.round <= decided)
        drawn_now = len(self.qualities) == self.round
        earlier = range(min(len(self.bought), self.round - 1))
        return PersuasionObservation(
            seat=seat,
            name=p.name_1 if seller else p.name_2,
            other_name=p.name_2 if seller else p.name_1,
            round=self.round,
            to_act=acting,
            kind=self.kind() if acting else None,
            events=events,
            role=ROLES[seat - 1],
            price=p.price,
            total_rounds=p.rounds,
            p=p.p if seller or p.buyer_knows_p else None,
            v=p.v if not seller or p.seller_knows_buyer_values else None,
            c=p.c if not seller or p.seller_knows_buyer_values else None,
            seller_knows_buyer_values=p.seller_knows_buyer_values,
            buyer_knows_p=p.buyer_knows_p,
            message_type=p.seller_message_type,
            myopic_buyer=p.myopic_buyer,
            buyer_messages_allowed=p.buyer_messages_allowed,
            quality=("high" if self.qualities[-1] else "low") if seller and drawn_now else None,
            earlier_buyers_bought=sum(self.bought[i] for i in earlier) if myopic else None,
            earlier_sales_high=sum(self.bought[i] and self.qualities[i] for i in earlier) if myopic else None,
        )

    def outcome(self) -> Outcome:
        assert self.is_over, "outcome() of a game in progress"
        p = self.params
        q, d = list(self.qualities[: len(self.bought)]), list(self.bought)
        if self.end_reason == "forfeit":
            # A forfeit is scored as no sale in its round and every later one, with the rules' payoffs for the
            # rounds played (GAMES.md: forfeits). Nature's draws are seeded per round, so the qualities of the
            # rounds not played are those the game would have had.
            unplayed = range(len(self.qualities) + 1, p.rounds + 1)
            q = list(self.qualities) + [self.rng(i).random() < p.p for i in unplayed]
            d += [False] * (p.rounds - len(d))
        rounds = len(d)
        n = sum(q)
        k = sum(qi and di for qi, di in zip(q, d, strict=True))
        low = rounds - n
        r = sum((not qi) and (not di) for qi, di in zip(q, d, strict=True))
        sales = sum(d)
        scored = Outcome(
            end_reason="deadline",
            rounds=rounds,
            agreement=sales > 0,
            payoff_1=p.price * sales,
            payoff_2=p.price * (k * (p.v - 1) + (low - r) * (p.c - 1)),
            self_gain_1=sales / rounds,
            self_gain_2=(k * (p.v - 1) + (low - r) * (p.c - 1)) / rounds,
            efficiency=k / n if n else None,
            fairness=r / low if low else None,
            extras={
                **self._extras(),
                "sale_rate": sales / rounds,
                "sales": sales,
                "high_products": n,
                "high_sold": k,
                "low_unsold": r,
            },
        )
        if self.end_reason == "forfeit":
            return self.as_forfeit(scored).model_copy(update={"rounds": self.round})
        return scored

    def _extras(self) -> dict[str, float | int | str | bool | None]:
        return {"sale_rate": sum(self.bought) / len(self.bought) if self.bought else None}


class PersuasionExtras(Frozen):
    """Outcome.extras of a persuasion game."""

    sale_rate: float | None = None
    sales: int | None = None
    high_products: int | None = None
    high_sold: int | None = None
    low_unsold: int | None = None


def _buyer_payoff_range(p: PersuasionParams) -> tuple[float, float]:
    return (p.price * (p.c - 1) * p.rounds, p.price * max(0.0, p.v - 1) * p.rounds)


ORIGINAL_ROUNDS = 20
"""The original GLEE code divides by 20 rounds whatever the game's horizon."""


def _original_counts(state: PersuasionState) -> tuple[int, int, int, int]:
    """(n, k, r, sales) as the original code counts them: high products, high ones sold, low ones
    not sold, sales, over every round played."""
    q, d = state.qualities[: len(state.bought)], state.bought
    n = sum(q)
    k = sum(qi and di for qi, di in zip(q, d, strict=True))
    r = sum((not qi) and (not di) for qi, di in zip(q, d, strict=True))
    return n, k, r, sum(d)


def _original(state: PersuasionState, buyer_gain: float) -> Metrics:
    n, k, r, sales = _original_counts(state)
    return Metrics(
        self_gain_1=sales / ORIGINAL_ROUNDS,
        self_gain_2=buyer_gain,
        efficiency=k / n if n else None,
        fairness=r / (ORIGINAL_ROUNDS - n) if n < ORIGINAL_ROUNDS else None,
    )


def original_metrics(state: PersuasionState) -> Metrics:
    """The original GLEE code of today: the low multiple is taken as 0 and the buyer's self-gain is
    (k·(v−1) + r·(0−1)) / 20, charging the low products the buyer did NOT buy (r) instead of the
    ones it bought (L − r). Every metric divides by 20 rounds (fairness r / (20 − n))."""
    _, k, r, _ = _original_counts(state)
    return _original(state, (k * (state.params.v - 1) + r * (0 - 1)) / ORIGINAL_ROUNDS)


def original_paper_metrics(state: PersuasionState) -> Metrics:
    """The original GLEE code of the paper: the paper's data kept the high multiple in `c` and the
    code set `v` to 0, so the buyer's self-gain is (k·(0−1) + (20 − r)·(v−1)) / 20 with v glee's
    high multiple: each high product bought costs 1, every round but the low ones passed earns v − 1."""
    _, k, r, _ = _original_counts(state)
    return _original(state, (k * (0 - 1) + (ORIGINAL_ROUNDS - r) * (state.params.v - 1)) / ORIGINAL_ROUNDS)


register(
    GameFamily(
        name="persuasion",
        params=PersuasionParams,
        state=PersuasionState,
        extras=PersuasionExtras,
        grids={
            "paper": {
                "price": [100, 10_000, 1_000_000],
                "v": [1.2, 1.25, 2.0, 3.0, 4.0],
                "p": [1 / 3, 0.5, 0.8],
                "seller_knows_buyer_values": [True, False],
                "seller_message_type": ["text", "binary"],
                "myopic_buyer": [True, False],
            }
        },
        version=VERSION,
        roles=ROLES,
        chance_moves=True,
        bounds=Bounds(
            payoff=lambda p, seat: (0.0, p.price * p.rounds) if seat == 1 else _buyer_payoff_range(p),
            turns=lambda p: 3 * p.rounds,
            horizon=lambda p: p.rounds,
        ),
        private={
            "v": lambda p, seat: seat == 2 or p.seller_knows_buyer_values,
            "c": lambda p, seat: seat == 2 or p.seller_knows_buyer_values,
            "p": lambda p, seat: seat == 1 or p.buyer_knows_p,
            "quality": lambda p, seat: seat == 1,
        },
        # The ranges GLEE's table estimator clips predicted cells to (the original analysis's).
        metric_ranges={"self_gain_1": (0.0, 1.0), "self_gain_2": (-1.0, None)},
        variants={"original": original_metrics, "original_paper": original_paper_metrics},
    )
)
