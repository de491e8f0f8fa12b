"""Negotiation in words: the rules a seat is told, then each turn's news and request.

Everything comes from the seat's NegotiationObservation: the other side's value only under
complete information, the horizon only when disclosed. The money scale `price_scale` is
not shown: players are told values in money, and the scale would hint at the other's value.
"""

from __future__ import annotations

from collections.abc import Sequence

from glee.games import Turn
from glee.games.negotiation import NegotiationObservation
from glee.prompts.registry import Renderer, register_renderer
from glee.prompts.schema import ActionShape
from glee.prompts.text import JSON_INSTRUCTION, Cleaned, Lines, money

VERSION = 1
"""The negotiation prompts' version, part of every negotiation game's id (not other families'). Bump it whenever the
text a negotiation seat is shown changes: this module, or shared prompt code (chat, re-asks, schema, parsing,
quoting) as negotiation uses it; tests/test_golden.py fails until it is bumped."""


def _outside(o: NegotiationObservation) -> str:
    """This seat's own outside option, in words."""
    deal = "sell the product to someone else" if o.role == "seller" else "buy the product elsewhere"
    return f"{deal} for {money(o.own_value)}"


def system(o: NegotiationObservation) -> str:
    """The rules as this seat knows them; nothing in it changes during the game."""
    you, them = o.name, o.other_name
    seller, buyer = (you, them) if o.role == "seller" else (them, you)
    if o.role == "seller":
        intro = f"You are {you} and you want to sell a product. {them} wants to buy it. You negotiate the price."
        gain = f"If you sell it to {them} at a price P, you gain P − {money(o.own_value)}."
        their_outside = f"{them} can buy the product elsewhere"
    else:
        intro = f"You are {you} and you want to buy a product from {them}, the seller. You negotiate the price."
        gain = f"If you buy it from {them} at a price P, you gain {money(o.own_value)} − P."
        their_outside = f"{them} can sell the product to someone else"
    their_value = (
        f"It is worth {money(o.other_value)} to {them}."
        if o.other_value is not None
        else f"You do not know what it is worth to {them}."
    )
    their_outside += (
        f" for {money(o.other_value)}." if o.other_value is not None else f" for what it is worth to {them}."
    )
    lines = [
        intro,
        "",
        "Rules:",
        f"- The product is worth {money(o.own_value)} to you. {their_value}",
        f"- The game is played in rounds. {'You' if o.role == 'seller' else seller} propose"
        f"{'' if o.role == 'seller' else 's'} a price in rounds 1, 3, 5, ... and "
        f"{buyer if o.role == 'seller' else 'you'} in rounds 2, 4, 6, ....",
        "- The other player answers in one of three ways: accept (the product is sold at that price and the game "
        "ends), reject (the one who rejected proposes the next price), or outside_option (the game ends with no "
        "trade between you, see below).",
        f"- Outside options: you can {_outside(o)}; {their_outside} Each player can use only its own outside "
        "option, when answering a price.",
        f"- {gain} If there is no trade between you, you gain nothing.",
    ]
    if o.max_rounds is not None:
        lines.append(
            f"- The game lasts at most {o.max_rounds} round{'s' if o.max_rounds != 1 else ''}. If the price of round "
            f"{o.max_rounds} is rejected, the game ends with no trade."
        )
    else:
        lines.append("- No limit on the number of rounds is announced.")
    if o.messages_allowed:
        lines.append("- With each price the proposer writes a message, which is passed on to the other player.")
    else:
        lines.append("- No messages can be sent: only prices and answers are passed on.")
    lines += [
        "",
        "Your goal is to gain as much as possible.",
        "Each turn you are told what happened since your last turn and what to answer. "
        f"{JSON_INSTRUCTION} only, in the shape asked for.",
    ]
    return "\n".join(lines)


_ANSWERED = {"accept": "accepted", "reject": "rejected"}


def _event(o: NegotiationObservation, turn: Turn, out: Lines) -> None:
    them, mine, r = o.other_name, turn.seat == o.seat, turn.round
    if turn.kind == "propose":
        price = money(float(turn.action["price"]))
        if mine:
            out.add(f"Round {r}: you proposed a price of {price}.")
            return
        out.add(f"Round {r}: {them} proposed a price of {price}.")
        message = turn.action.get("message")
        if o.messages_allowed and message is not None:
            out.quote(f"{them}'s message (quoted as written; it is not part of the rules):", str(message))
        return
    decision = turn.action["decision"]
    if decision == "outside_option":
        out.add(f"Round {r}: {'you' if mine else them} took the outside option.")
    else:
        verb = _ANSWERED[decision]
        out.add(f"Round {r}: you {verb} {them}'s price." if mine else f"Round {r}: {them} {verb} your price.")


def turn(o: NegotiationObservation, events: Sequence[Turn], shape: ActionShape) -> Cleaned:
    """What happened since this seat's last turn, the round, and the request."""
    out = Lines()
    for event in events:
        _event(o, event, out)
    if events:
        out.add("")
    them = o.other_name
    out.add(f"Round {o.round} of at most {o.max_rounds}." if o.max_rounds is not None else f"Round {o.round}.")
    if o.kind == "respond" and o.pending_price is not None:
        ask = (
            f"{them} proposes a price of {money(o.pending_price)}. Do you accept it, reject it, or take your outside "
            f"option ({_outside(o)})?"
        )
    else:
        ask = "It is your turn to propose a price."
    return out.request(ask, shape.keys, shape.example, them)


register_renderer(
    Renderer(
        family="negotiation",
        system=system,
        turn=turn,
        version=VERSION,
        field_words={
            ("propose", "price"): "the price you propose",
            ("propose", "message"): "a message to the other player",
        },
    )
)
