"""Ultimatum: the proposer (seat 1) offers the responder (seat 2) part of an amount M; the
responder accepts (the split is paid) or rejects (both get nothing). One round."""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, create_model

from glee.games import Action, Bounds, GameFamily, Observation, Outcome, Seat, TurnKind, register
from glee.games.base import Frozen, GameState, Params

VERSION: int = 1


class UltimatumParams(Params):
    family: ClassVar = "ultimatum"

    money: float = Field(100, gt=0)
    unit: float = Field(1, gt=0)
    """The smallest amount that can be offered above nothing (a cent, a dollar)."""


class UltimatumOffer(Action):
    """What the proposer offers the responder; it keeps the rest of M."""

    kind: ClassVar[TurnKind] = "propose"
    offer: float = Field(ge=0)


class UltimatumResponse(Action):
    kind: ClassVar[TurnKind] = "respond"
    decision: Literal["accept", "reject"]


@cache
def offer_model(money: float) -> type[Action]:
    fields: dict[str, Any] = {"offer": (float, Field(ge=0, le=money))}
    model: type[Action] = create_model("UltimatumBoundedOffer", __base__=UltimatumOffer, **fields)
    return model


ROLES: tuple[Literal["proposer"], Literal["responder"]] = ("proposer", "responder")
"""What seat 1 and seat 2 are."""


class UltimatumObservation(Observation):
    family: Literal["ultimatum"] = "ultimatum"
    money: float
    role: Literal["proposer", "responder"]
    pending_offer: float | None
    """The offer awaiting the responder's answer, when it is asked to respond."""


class UltimatumExtras(Frozen):
    offer_share: float | None = None
    """The offer as a share of M."""


class UltimatumState(GameState):
    family: ClassVar = "ultimatum"
    params: UltimatumParams
    offer: float | None = None
    accepted: bool = False

    def to_act(self) -> Literal[0, 1, 2] | None:
        if self.is_over:
            return None
        return 1 if self.offer is None else 2

    def kind(self) -> TurnKind:
        return "propose" if self.offer is None else "respond"

    def action_model(self) -> type[Action]:
        return offer_model(self.params.money) if self.offer is None else UltimatumResponse

    def _apply(self, action: Action) -> Self:
        if isinstance(action, UltimatumOffer):
            return self.model_copy(update=self._record(1, action, offer=min(action.offer, self.params.money)))
        assert isinstance(action, UltimatumResponse)
        accepted = action.decision == "accept"
        end = "agreement" if accepted else "no_deal"
        return self.model_copy(update=self._record(2, action, accepted=accepted, end_reason=end))

    def observation(self, seat: Seat) -> UltimatumObservation:
        p = self.params
        acting = self.to_act() == seat
        return UltimatumObservation(
            seat=seat,
            name=p.name_1 if seat == 1 else p.name_2,
            other_name=p.name_2 if seat == 1 else p.name_1,
            round=self.round,
            to_act=acting,
            kind=self.kind() if acting else None,
            events=self.turns,
            money=p.money,
            role=ROLES[seat - 1],
            pending_offer=self.offer if acting and seat == 2 else None,
        )

    def outcome(self) -> Outcome:
        assert self.is_over, "outcome() of a game in progress"
        extras: dict[str, float | int | str | bool | None] = {
            "offer_share": None if self.offer is None else self.offer / self.params.money
        }
        if self.end_reason == "forfeit":
            return self.forfeit_outcome().model_copy(update={"extras": extras})
        if not self.accepted:
            return Outcome(
                end_reason="no_deal",
                rounds=1,
                agreement=False,
                payoff_1=0.0,
                payoff_2=0.0,
                self_gain_1=0.0,
                self_gain_2=0.0,
                efficiency=0.0,
                fairness=None,
                extras=extras,
            )
        assert self.offer is not None
        s = 1 - self.offer / self.params.money
        return Outcome(
            end_reason="agreement",
            rounds=1,
            agreement=True,
            payoff_1=self.params.money - self.offer,
            payoff_2=self.offer,
            self_gain_1=s,
            self_gain_2=1 - s,
            efficiency=1.0,
            fairness=1 - 4 * (s - 0.5) ** 2,
            extras=extras,
        )


register(
    GameFamily(
        name="ultimatum",
        params=UltimatumParams,
        state=UltimatumState,
        extras=UltimatumExtras,
        grids={"paper": {"money": [100, 10_000, 1_000_000]}},
        version=VERSION,
        roles=ROLES,
        bounds=Bounds(payoff=lambda p, seat: (0.0, p.money), turns=lambda p: 2, horizon=lambda p: 1),
    )
)
