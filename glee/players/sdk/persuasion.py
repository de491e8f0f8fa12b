"""Persuasion in the competition's shapes: the seller's `seller_message` (`message`, text mode) or
`seller_recommendation` (`decision` yes/no, binary mode), the buyer's `buyer_decision` (`decision`
yes = buy, no = pass). The SDK's `v` and `u` are money (glee's v·P and c·P)."""

from __future__ import annotations

from typing import Any

from glee.games import Action
from glee.games.persuasion import PersuasionObservation
from glee.players.sdk.codec import (
    Move,
    SdkCodec,
    SdkView,
    choice,
    history,
    message,
    player_key,
    quoted,
    register_codec,
    validate,
)
from glee.players.sdk.codec import message_field as message_fields


def _action_type(o: PersuasionObservation) -> str:
    if o.kind == "buyer_decision":
        return "buyer_decision"
    return "seller_message" if o.message_type == "text" else "seller_recommendation"


def _totals(o: PersuasionObservation) -> dict[str, float]:
    """The running payoffs of the rounds played, as far as this seat can know them."""
    if o.myopic_buyer and o.role == "buyer":
        return {"seller_total_payoff": o.price * (o.earlier_buyers_bought or 0)}
    quality = {t.round: t.action["quality"] for t in o.events if t.seat == 0}
    bought = [t.round for t in o.events if t.seat == 2 and t.action["decision"] == "buy"]
    totals = {"seller_total_payoff": o.price * len(bought)}
    if o.v is not None and o.c is not None:
        worth = {"high": o.v, "low": o.c}
        totals["buyer_total_payoff"] = sum(o.price * (worth[quality[r]] - 1) for r in bought if r in quality)
    return totals


def view(o: PersuasionObservation, action_model: type[Action]) -> SdkView:
    phase = "buyer_decision" if o.kind == "buyer_decision" else "seller_message"
    said = [t for t in o.events if t.seat == 1]
    last = said[-1].action if said else None
    state: dict[str, Any] = {
        "phase": phase,
        "current_player": player_key(o.seat),
        "player_1_role": "seller",
        "player_2_role": "buyer",
        "product_price": o.price,
        "seller_message": None if last is None else (last.get("message") or last.get("recommend")),
        "seller_message_type": o.message_type,
        "round": o.round,
        "total_rounds": o.total_rounds,
        "is_seller_know_cv": o.seller_knows_buyer_values,
        **_totals(o),
        "history": history(o.events),
    }
    if o.p is not None:
        state["p"] = o.p
    if o.v is not None and o.c is not None:
        state["v"], state["u"] = o.v * o.price, o.c * o.price
    if o.quality is not None:
        state["current_quality"] = o.quality
    kind = _action_type(o)
    if kind == "seller_message":
        fields = message_fields(True)
        fields["message"] = fields["message"].replace("optional, ", "")
    elif kind == "seller_recommendation":
        fields = {"decision": f"{quoted(('yes', 'no'))} (yes: recommend buying)"}
    else:
        fields = {"decision": f"{quoted(('yes', 'no'))} (yes: buy)", **message_fields(o.buyer_messages_allowed)}
    return SdkView(phase=phase, game_state=state, valid_actions={"type": kind, "fields": fields})


def decode(o: PersuasionObservation, action_model: type[Action], move: Move) -> list[Action]:
    kind = _action_type(o)
    if kind == "seller_message":
        text = move.get("message")
        if not isinstance(text, str):
            return [validate(action_model, {"message": text})]  # names the missing or wrong message
        return [validate(action_model, message(move, True))]
    yes = choice(move, "decision", ("yes", "no")) == "yes"
    if kind == "seller_recommendation":
        return [validate(action_model, {"recommend": "yes" if yes else "no"})]
    return [validate(action_model, {"decision": "buy" if yes else "pass", **message(move, o.buyer_messages_allowed)})]


register_codec(SdkCodec(family="persuasion", view=view, decode=decode))
