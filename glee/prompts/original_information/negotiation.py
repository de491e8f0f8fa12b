"""Negotiation in `original_information`: the facts the original told each seat, in glee's words.

Told (original games/negotiation/): the seat's own value, the other's value only under complete
information, that the other answers an offer by accepting or rejecting it, a goal sentence (both
the seller and the buyer had one), counteroffers while rounds remain, the horizon only when
1 < T <= 20 (round numbers then too, and in every rejection notice), and the seat's own outside
option: a third party paying its own value. Not told: a payoff formula, the other's outside option,
that the horizon is hidden. Answers: a JSON object with the message before the price.
"""

from __future__ import annotations

from collections.abc import Sequence

from glee.games import Turn
from glee.games.negotiation import NegotiationObservation
from glee.prompts.original_information import OriginalOptions
from glee.prompts.registry import Renderer, register_renderer
from glee.prompts.schema import ActionShape
from glee.prompts.text import JSON_INSTRUCTION, Cleaned, Lines, money

VERSION = 1
"""This set's negotiation version (part of negotiation game ids of seats that use the set)."""

THIRD_PARTY = "Dana"
"""The third party of the outside options (a name of glee's own)."""


def _outside(o: NegotiationObservation) -> str:
    """The seat's own outside option, as an action."""
    if o.role == "seller":
        return f"sell the product to another buyer, {THIRD_PARTY}, for {money(o.own_value)}"
    return f"buy the product from another seller, {THIRD_PARTY}, for {money(o.own_value)}"


def _rounds(o: NegotiationObservation) -> bool:
    """Whether round numbers are shown: the original showed them only for a horizon of 2 to 20."""
    return o.max_rounds is not None and o.max_rounds > 1


def system(o: NegotiationObservation, options: OriginalOptions) -> str:
    """The rules as the original told them; nothing in it changes during the game."""
    you, them = o.name, o.other_name
    their_value = (
        f"The product is worth {money(o.other_value)} to {them}."
        if o.other_value is not None
        else f"You do not know what the product is worth to {them}."
    )
    if o.role == "seller":
        lines = [
            f"You are {you}, and you are selling a product that is worth at least {money(o.own_value)} to you. "
            f"{them} may buy it from you. {their_value}",
            f"You offer {them} the product at a price you choose; {them} accepts or rejects the offer.",
            "Your aim is to get as much money for the product as you can.",
        ]
        counter = f"If {them} rejects an offer, {them} can make you a counteroffer, which you accept or reject; "
        counter += "after a rejected counteroffer you can make a new offer, and so on."
    else:
        lines = [
            f"You are {you}, and you are looking for a product that is worth at most {money(o.own_value)} to you. "
            f"{them} is selling it. {their_value}",
            f"{them} offers you a price for the product; you accept or reject the offer.",
            "Your aim is to get the product while keeping as much of your money as you can.",
        ]
        counter = f"If you reject an offer, you can make {them} a counteroffer, which {them} accepts or rejects; "
        counter += f"after a rejected counteroffer {them} can make a new offer, and so on."
    if o.max_rounds == 1:
        rejected = f"If {them} rejects the offer" if o.role == "seller" else "If you reject the offer"
        lines.append(f"{rejected}, you will {_outside(o)}.")
    else:
        lines.append(counter)
        if o.max_rounds is not None:
            lines.append(f"There are {o.max_rounds} rounds to reach a deal.")
        lines.append(f"At any time you can stop negotiating with {them} and {_outside(o)}.")
    return "\n".join(lines)


def _event(o: NegotiationObservation, turn: Turn, out: Lines) -> None:
    if turn.kind != "respond":  # proposals are shown in the answer's request, never echoed back
        return
    them, decision, r = o.other_name, turn.action["decision"], turn.round
    last = o.max_rounds is not None and r >= o.max_rounds
    if turn.seat != o.seat:
        if decision == "accept":
            out.add(f"{them} accepted your offer.")
        elif decision == "reject" and not last:
            out.add(f"{them} rejected your offer of round {r}.")
        else:
            out.add(f"{them} rejected your offer of round {r} and ended the negotiation.")
        return
    if decision == "accept":
        out.add(f"You accepted {them}'s offer.")
    elif decision == "reject" and not last:
        out.add(f"You chose to make {them} a counteroffer.")
    elif decision == "reject":
        out.add(f"You rejected {them}'s offer and ended the negotiation.")
    else:
        out.add(f"You chose to {_outside(o)}.")


def turn(o: NegotiationObservation, events: Sequence[Turn], shape: ActionShape, options: OriginalOptions) -> Cleaned:
    """What happened since this seat's last turn, the round (when shown), the request."""
    out = Lines()
    for event in events:
        _event(o, event, out)
    them = o.other_name
    if _rounds(o):
        out.add(f"Round {o.round}")
    if o.kind == "respond" and o.pending_price is not None:
        price = money(o.pending_price)
        out.add(f"{them}'s offer:")
        offered = [t for t in o.events if t.kind == "propose" and t.seat != o.seat and t.round == o.round]
        message = offered[-1].action.get("message") if offered else None
        if o.messages_allowed and message is not None:
            out.quote(f"{them}'s message (quoted as written):", str(message))
        act = "sell the product" if o.role == "seller" else "buy the product"
        more = o.max_rounds is None or o.round < o.max_rounds
        reject = (
            f"reject {them}'s offer and go on to the next round, where you make {them} a counteroffer"
            if more
            else f"reject {them}'s offer"
        )
        out.add(
            f"The price would be {price}. You have three choices:\n"
            f"(1) accept {them}'s offer and {act} for {price}\n(2) {reject}\n(3) {_outside(o)}"
        )
        out.add(
            f'{JSON_INSTRUCTION}: {{"decision": "accept"}}, {{"decision": "reject"}} '
            'or {"decision": "outside_option"}'
        )
        return out.done()
    kind = "counteroffer" if o.round > 1 else "offer"
    out.add(f"Send {them} your {kind}.")
    wanted = "sell the product for" if o.role == "seller" else "buy the product for"
    example = f'"price": <the price you want to {wanted}, a number>'
    if "message" in shape.keys:
        example = f'"message": "<your message to {them}>", ' + example
    out.add(f"{JSON_INSTRUCTION}, in this form: {{{example}}}")
    return out.done()


register_renderer(
    Renderer(family="negotiation", system=system, turn=turn, version=VERSION, prompt_set="original_information")
)
