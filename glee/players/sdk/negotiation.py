"""Negotiation in the competition's shapes: an offer is `product_price`; a decision is `AcceptOffer`,
`RejectOffer` with the counteroffer (`product_price`, `message`) or `WalkAway`.

Onto glee's rules: `RejectOffer` is glee's reject followed by the rejecter's own proposal of the
next round (the same seat's next turn: glee plays the counteroffer there without asking again); in
the last round of a disclosed horizon a rejection takes no counteroffer and ends the game, as in
the competition. `WalkAway` is glee's `outside_option`: no trade, each side keeps exactly its own
value, so both get 0, the competition's walk-away outcome.
"""

from __future__ import annotations

from typing import Any

from glee.games import Action
from glee.games.negotiation import NegotiationObservation, price_offer_model
from glee.players.sdk.codec import (
    InvalidMove,
    Move,
    SdkCodec,
    SdkView,
    choice,
    history,
    message,
    message_field,
    number,
    player_key,
    quoted,
    register_codec,
    validate,
)

DECISIONS = {"AcceptOffer": "accept", "RejectOffer": "reject", "WalkAway": "outside_option"}
"""The competition's decisions and glee's."""


def _last_round(o: NegotiationObservation) -> bool:
    """Whether this is the last round as the seat knows it (a hidden horizon is never known to end)."""
    return o.max_rounds is not None and o.round >= o.max_rounds


def _last_offer(o: NegotiationObservation) -> dict[str, Any] | None:
    offers = [t for t in o.events if t.kind == "propose"]
    if not offers:
        return None
    last = offers[-1]
    return {
        "price": float(last.action["price"]),
        "message": last.action.get("message"),
        "from_player": player_key(last.seat),
        "round": last.round,
    }


def view(o: NegotiationObservation, action_model: type[Action]) -> SdkView:
    offering = o.kind == "propose"
    phase = "offer" if offering else "decision"
    other = 3 - o.seat
    state: dict[str, Any] = {
        "phase": phase,
        "current_player": player_key(o.seat),
        "player_1_role": "seller",
        "player_2_role": "buyer",
        f"player_{o.seat}_value": o.own_value,
        "last_offer": _last_offer(o),
        "round": o.round,
        "horizon_known": o.max_rounds is not None,
        "messages_allowed": o.messages_allowed,
        "complete_information": o.other_value is not None,
        "history": history(o.events),
    }
    if o.other_value is not None:
        state[f"player_{other}_value"] = o.other_value
    if o.max_rounds is not None:
        state["max_rounds"] = o.max_rounds
    if offering:
        fields = {"product_price": "number >= 0", **message_field(o.messages_allowed)}
    elif _last_round(o):
        fields = {
            "decision": quoted(tuple(DECISIONS)),
            "product_price": "not taken: a rejection in the last round ends the negotiation",
        }
    else:
        fields = {
            "decision": quoted(tuple(DECISIONS)),
            "product_price": "number >= 0 (required if RejectOffer - your counteroffer)",
            **message_field(o.messages_allowed),
        }
    return SdkView(phase=phase, game_state=state, valid_actions={"type": phase, "fields": fields})


def _offer(o: NegotiationObservation, move: Move) -> Action:
    if "product_price" not in move:
        raise InvalidMove("product_price: missing; allowed: a number >= 0 (your offer)")
    model = price_offer_model(o.messages_allowed)
    return validate(model, {"price": number(move, "product_price"), **message(move, o.messages_allowed)})


def decode(o: NegotiationObservation, action_model: type[Action], move: Move) -> list[Action]:
    if o.kind == "propose":
        return [_offer(o, move)]
    decision = DECISIONS[choice(move, "decision", tuple(DECISIONS))]
    answer = validate(action_model, {"decision": decision})
    if decision != "reject" or _last_round(o):
        return [answer]
    return [answer, _offer(o, move)]


register_codec(SdkCodec(family="negotiation", view=view, decode=decode))
