"""Persuasion in `original_information`: the facts the original told each seat, in glee's words.

Told (original games/persuasion/): the seller, the fixed price, that products are of high or low
quality with probability p (and whether the buyer knows p), the products' worth to the buyer when
the seller knows it, the number of rounds, that it learns each quality first, that it may send any
message, that the buyer learns the quality at the end of the round, that the price is final; each
round its number and the quality. The buyer: the price, p when it knows it, the products' worth to
it, whether the seller knows that worth; a long-lived buyer the number of rounds and each round's
number, a myopic buyer only how many earlier buyers bought and how many high-quality products
were sold (no round, no number of earlier buyers, no number of rounds). Not told: a goal, a
payoff formula. Answers: {"message": ...} or {"recommend": ...} for the seller, {"decision": ...}
(then the message, when allowed) for the buyer.
"""

from __future__ import annotations

from collections.abc import Sequence

from glee.games import Turn
from glee.games.persuasion import PersuasionObservation
from glee.prompts.original_information import OriginalOptions
from glee.prompts.registry import Renderer, register_renderer
from glee.prompts.schema import ActionShape
from glee.prompts.text import JSON_INSTRUCTION, Cleaned, Lines, money, percent

VERSION = 1
"""This set's persuasion version (part of persuasion game ids of seats that use the set)."""


def _buyer(o: PersuasionObservation) -> str:
    """How the seller names the buyer: the buyers of a myopic game are anonymous."""
    return "the buyer" if o.myopic_buyer else o.other_name


def _seller_system(o: PersuasionObservation) -> str:
    you, buyer = o.name, _buyer(o)
    to = "buyers who come at random" if o.myopic_buyer else buyer
    assert o.p is not None
    knows_p = "knows" if o.buyer_knows_p else "does not know"
    lines = [
        f"You are {you}, a seller trying to sell products to {to} for {money(o.price)} each. "
        f"Your messages are passed on to {'the buyers' if o.myopic_buyer else buyer}. "
        "Some of the products are of high quality and some of low quality.",
        f"A product is of high quality with probability {percent(o.p)}, and {buyer} {knows_p} this.",
    ]
    if o.v is not None and o.c is not None:
        lines.append(
            f"A high-quality product is worth {money(o.v * o.price)} to {buyer}, and a low-quality one only "
            f"{money(o.c * o.price)}."
        )
    else:
        lines.append(f"You do not know what a high-quality or a low-quality product is worth to {buyer}.")
    who = "the buyers" if o.myopic_buyer else buyer
    unknown = f"{who[0].upper()}{who[1:]} {'do' if o.myopic_buyer else 'does'} not know it"
    if o.myopic_buyer:
        unknown += (
            ", nor anything about an earlier product, only your record: how many products you have sold and "
            "how many of them were of high quality"
        )
    lines.append(
        f"For {o.total_rounds} rounds you offer products to {who}. At the start of each round you learn whether "
        f"the product is of high or low quality. {unknown}. You can send {who} any message you like, and "
        f"{who} decide{'' if o.myopic_buyer else 's'} from that message alone whether to buy. At the end of the "
        f"round, {who} learn{'' if o.myopic_buyer else 's'} the product's quality."
    )
    lines.append("The price is fixed: no discounts, and no refunds after a purchase.")
    return "\n".join(lines)


def _buyer_system(o: PersuasionObservation) -> str:
    seller = o.other_name
    assert o.v is not None and o.c is not None
    you = "one of the buyers" if o.myopic_buyer else f"{o.name}, the buyer"
    lines = [f"This is a game. {seller} sells products at a fixed price of {money(o.price)}. You are {you}."]
    if o.p is not None:
        lines.append(
            f"Each product is of high quality with probability {percent(o.p)} and of low quality with probability "
            f"{percent(1 - o.p)}."
        )
    else:
        lines.append("You do not know what share of the products is of high quality.")
    knows = "knows" if o.seller_knows_buyer_values else "does not know"
    lines.append(
        f"A high-quality product is worth {money(o.v * o.price)} to you, a low-quality one {money(o.c * o.price)}. "
        f"{seller} {knows} what each product is worth to you."
    )
    if o.myopic_buyer:
        lines.append(
            f"For each buyer, you included, {seller} picks a product at random and learns its quality, then gives "
            f"that buyer a recommendation about it. Each buyer sees {seller}'s sales record so far: how many "
            "products were sold and how many of them were of high quality. You decide whether to buy the product "
            "or pass; a product passed on is thrown away and nobody can buy it. After your decision you learn "
            "whether the product was of high or low quality."
        )
    else:
        lines.append(
            f"For {o.total_rounds} rounds, each round {seller} picks a product at random, learns its quality and "
            "sends you a recommendation about it. You decide whether to buy it or pass; a product passed on is "
            "thrown away and nobody can buy it. At the end of the round you learn whether the product was of high "
            "or low quality."
        )
    return "\n".join(lines)


def system(o: PersuasionObservation, options: OriginalOptions) -> str:
    """The rules as the original told them; nothing in it changes during the game."""
    return _seller_system(o) if o.role == "seller" else _buyer_system(o)


def _event(o: PersuasionObservation, turn: Turn, out: Lines) -> None:
    a = turn.action
    if o.role == "seller":
        if turn.seat != 2:
            return  # the seller's own draws and messages are not echoed back
        buyer = _buyer(o)
        message = a.get("message")
        if o.buyer_messages_allowed and message:
            out.quote(f"{buyer[0].upper()}{buyer[1:]}'s message (quoted as written):", str(message))
        bought = a["decision"] == "buy"
        out.add(f"{buyer[0].upper()}{buyer[1:]} {'bought' if bought else 'did not buy'} the product.")
        if o.myopic_buyer and turn.round < o.total_rounds:
            out.add("The buyer has left. The next buyer is on the way.")
        return
    if turn.seat == 0:  # the buyer learns the quality after deciding
        worth = money(((o.v if a["quality"] == "high" else o.c) or 0.0) * o.price)
        bought = any(t.seat == 2 and t.round == turn.round and t.action["decision"] == "buy" for t in o.events)
        could = "It is worth" if bought else "It would have been worth"
        out.add(f"The product was of {a['quality']} quality. {could} {worth} to you.")
    elif turn.seat == 2:
        bought = a["decision"] == "buy"
        seller = o.other_name
        out.add(
            f"You bought the product from {seller} for {money(o.price)}."
            if bought
            else f"You did not buy the product from {seller}."
        )


def _seller_turn(o: PersuasionObservation, out: Lines) -> Cleaned:
    out.add(f"Round {o.round}")
    out.add(f"This round's product is of {o.quality} quality.")
    if o.myopic_buyer:
        out.add("A new buyer has come.")
    buyer = _buyer(o)
    if o.message_type == "binary":
        out.add(f"Decide whether to recommend that {buyer} buy the product.")
        out.add(f'{JSON_INSTRUCTION}: {{"recommend": "yes"}} or {{"recommend": "no"}}')
    else:
        out.add(f"Send {buyer} a message to help them decide whether to buy the product.")
        out.add(f'{JSON_INSTRUCTION}, in this form: {{"message": "<your message to {buyer}>"}}')
    return out.done()


def turn(o: PersuasionObservation, events: Sequence[Turn], shape: ActionShape, options: OriginalOptions) -> Cleaned:
    """What happened since this seat's last turn, then the round's news and the request."""
    out = Lines()
    if not (o.role == "buyer" and o.myopic_buyer):
        for event in events:
            _event(o, event, out)
    if o.role == "seller":
        return _seller_turn(o, out)
    seller = o.other_name
    if o.myopic_buyer:
        if o.earlier_buyers_bought:
            out.add(
                f"Record: following {seller}'s recommendations, {o.earlier_buyers_bought} buyers bought the product "
                f"offered to them, and {o.earlier_sales_high} high-quality products have been sold so far."
            )
        else:
            out.add("Record: no product has been sold yet.")
    else:
        out.add(f"Round {o.round}")
    sent = [t for t in o.events if t.seat == 1 and t.round == o.round]
    if o.message_type == "binary":
        yes = bool(sent) and sent[-1].action.get("recommend") == "yes"
        out.add(f"{seller} {'recommends' if yes else 'does not recommend'} that you buy the product.")
    else:
        out.quote(f"{seller}'s message (quoted as written):", str(sent[-1].action.get("message") or "") if sent else "")
    out.add("Do you want to buy this round's product?")
    if "message" in shape.keys:
        out.add(
            f'{JSON_INSTRUCTION}: {{"decision": "buy", "message": "<your message to {seller}>"}} or '
            f'{{"decision": "pass", "message": "<your message to {seller}>"}}'
        )
    else:
        out.add(f'{JSON_INSTRUCTION}: {{"decision": "buy"}} or {{"decision": "pass"}}')
    return out.done()


def _new_chat_each_turn(o: PersuasionObservation) -> bool:
    """A myopic buyer is a new buyer every round (the original started a new chat for each)."""
    return o.myopic_buyer and o.role == "buyer"


register_renderer(
    Renderer(
        family="persuasion",
        system=system,
        turn=turn,
        version=VERSION,
        prompt_set="original_information",
        new_chat_each_turn=_new_chat_each_turn,
    )
)
