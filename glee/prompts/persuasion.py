"""Persuasion in words: the rules a seat is told, then each round's news and request.

Everything comes from the seat's PersuasionObservation: the buyer never sees a round's
quality before its decision (the observation holds no such event), a myopic buyer sees
only this round's message and the aggregate history of earlier buyers.
"""

from __future__ import annotations

from collections.abc import Sequence

from glee.games import Turn
from glee.games.persuasion import PersuasionObservation
from glee.prompts.registry import Renderer, register_renderer
from glee.prompts.schema import ActionShape
from glee.prompts.text import JSON_INSTRUCTION, Cleaned, Lines, money, number, percent

VERSION = 1
"""The persuasion prompts' version, part of every persuasion game's id (not other families'). Bump it whenever the
text a persuasion seat is shown changes: this module, or shared prompt code (chat, re-asks, schema, parsing,
quoting) as persuasion uses it; tests/test_golden.py fails until it is bumped."""


def _worth_line(o: PersuasionObservation, to: str) -> str:
    assert o.v is not None and o.c is not None
    return (
        f"A high-quality product is worth {money(o.v * o.price)} ({number(o.v)} × the price) to {to}, "
        f"a low-quality one {money(o.c * o.price)} ({number(o.c)} × the price)."
    )


def _net(multiple: float, price: float) -> str:
    """What buying at `price` a product worth `multiple` × price does to the buyer, in words."""
    if multiple >= 1:
        return f"gains you {money((multiple - 1) * price)}"
    return f"loses you {money((1 - multiple) * price)}"


def _chance_line(o: PersuasionObservation) -> str:
    if o.p is None:
        return "Each product is of high or of low quality; you are not told how likely each is."
    return f"Each round's product is of high quality with probability {percent(o.p)}, otherwise of low quality."


def _signal(o: PersuasionObservation) -> str:
    if o.message_type == "binary":
        return "a recommendation: yes (buy it) or no (do not buy it)"
    return "a message"


def _seller_system(o: PersuasionObservation) -> str:
    you, them, price = o.name, o.other_name, money(o.price)
    buyer = f"a buyer; a new buyer, called {them}, comes each round" if o.myopic_buyer else f"{them}, a buyer"
    lines = [
        f"You are {you}, a seller. Over {o.total_rounds} rounds you offer one product per round, at a fixed price "
        f"of {price}, to {buyer}.",
        "",
        "Rules:",
        f"- {_chance_line(o)} You learn each product's quality before the buyer decides; the buyer does not.",
        f"- {_worth_line(o, 'the buyer')}"
        if o.v is not None
        else "- You do not know what the products are worth to the buyer.",
        f"- Each round you send the buyer {_signal(o)}. Then the buyer decides whether to buy the product at {price}.",
    ]
    if o.myopic_buyer:
        lines.append(
            "- Each buyer decides once and knows only how many earlier buyers bought and how many of the "
            "products they bought were of high quality."
        )
    else:
        lines.append("- After deciding, the buyer learns the product's quality.")
    if o.buyer_messages_allowed:
        lines.append("- With each decision the buyer writes a message to you.")
    lines += [
        f"- You learn each decision. You earn {price} for every product sold.",
        "",
        "Your goal is to earn as much as possible.",
        "Each round you are told what happened since your last turn and what to answer. "
        f"{JSON_INSTRUCTION} only, in the shape asked for.",
    ]
    return "\n".join(lines)


def _buyer_system(o: PersuasionObservation) -> str:
    you, them, price = o.name, o.other_name, money(o.price)
    assert o.v is not None and o.c is not None
    if o.myopic_buyer:
        intro = (
            f"You are {you}, a buyer. {them}, a seller, sells one product per round over {o.total_rounds} rounds, "
            f"at a fixed price of {price}, to a new buyer each round. You are the buyer of one round and decide once."
        )
    else:
        intro = (
            f"You are {you}, a buyer. Over {o.total_rounds} rounds, {them}, a seller, offers you one product per "
            f"round at a fixed price of {price}."
        )
    knows = "knows" if o.seller_knows_buyer_values else "does not know"
    lines = [
        intro,
        "",
        "Rules:",
        f"- {_chance_line(o)}",
        f"- {_worth_line(o, 'you')} Buying a high-quality product gains you {money((o.v - 1) * o.price)}; buying a "
        f"low-quality one {_net(o.c, o.price)}. Not buying gains you nothing.",
        f"- {them} knows each product's quality before you decide; you do not."
        + ("" if o.myopic_buyer else " You learn it after your decision."),
        f"- {them} {knows} what the products are worth to you.",
        f"- Each round {them} sends that round's buyer {_signal(o)}; then that buyer decides: buy or pass."
        if o.myopic_buyer
        else f"- Each round {them} sends you {_signal(o)}; then you decide: buy or pass.",
    ]
    if o.myopic_buyer:
        lines.append(
            "- You are told how many earlier buyers bought and how many of the products they bought were of "
            "high quality."
        )
    if o.buyer_messages_allowed:
        lines.append(f"- With your decision you write a message to {them}.")
    lines += [
        "",
        "Your goal is to gain as much as possible."
        if o.myopic_buyer
        else "Your goal is to gain as much as possible over all rounds.",
        f"You are told what happened and what to answer. {JSON_INSTRUCTION} only, in the shape asked for.",
    ]
    return "\n".join(lines)


def system(o: PersuasionObservation) -> str:
    """The rules as this seat knows them; nothing in it changes during the game."""
    return _seller_system(o) if o.role == "seller" else _buyer_system(o)


def _recommendation(yes: bool) -> str:
    return "buying the product (yes)" if yes else "not buying the product (no)"


def _event(o: PersuasionObservation, turn: Turn, out: Lines) -> None:
    them, r, a = o.other_name, turn.round, turn.action
    if turn.seat == 0:
        if o.role == "seller":
            out.add(f"Round {r}: the product is of {a['quality']} quality.")
        else:
            worth = (o.v if a["quality"] == "high" else o.c) or 0.0
            out.add(
                f"Round {r}: the product turned out to be of {a['quality']} quality "
                f"(worth {money(worth * o.price)} to you)."
            )
    elif turn.seat == 1:  # the seller's message or recommendation
        yes = a.get("recommend") == "yes"
        if o.role == "seller":
            sent = f"recommended {_recommendation(yes)}" if o.message_type == "binary" else "sent your message"
            out.add(f"Round {r}: you {sent}.")
        elif o.message_type == "binary":
            out.add(f"Round {r}: {them} recommends {_recommendation(yes)}.")
        else:
            label = f"Round {r}: {them}'s message (quoted as written; it is not part of the rules):"
            out.quote(label, str(a.get("message") or ""))
    else:  # the buyer's decision
        bought = a["decision"] == "buy"
        if o.role == "buyer":
            out.add(f"Round {r}: you {'bought the product' if bought else 'did not buy the product'}.")
            return
        out.add(f"Round {r}: {them} {'bought the product' if bought else 'did not buy the product'}.")
        message = a.get("message")
        if o.buyer_messages_allowed and message is not None:
            out.quote(f"{them}'s message (quoted as written; it is not part of the rules):", str(message))


def turn(o: PersuasionObservation, events: Sequence[Turn], shape: ActionShape) -> Cleaned:
    """What happened since this seat's last turn (a myopic buyer: the earlier buyers in aggregate),
    then the request."""
    out = Lines()
    them = o.other_name
    if o.role == "buyer" and o.myopic_buyer:
        out.add(f"You are the buyer of round {o.round} of {o.total_rounds}.")
        earlier = o.round - 1
        if earlier == 0:
            out.add("You are the first buyer.")
        else:
            out.add(
                f"Earlier buyers: {earlier}. Of them, {o.earlier_buyers_bought} bought the product, and "
                f"{o.earlier_sales_high} of the products bought were of high quality."
            )
        for event in events:
            _event(o, event, out)
    else:
        for event in events:
            _event(o, event, out)
        if events:
            out.add("")
        out.add(f"Round {o.round} of {o.total_rounds}.")
    if o.role == "seller":
        quality = f"This round's product is of {o.quality} quality. " if o.quality is not None else ""
        binary = o.message_type == "binary"
        ask = "Do you recommend that the buyer buy it?" if binary else "Write your message to the buyer."
        return out.request(quality + ask, shape.keys, shape.example, them)
    return out.request(f"Do you buy this round's product for {money(o.price)}?", shape.keys, shape.example, them)


def _new_chat_each_turn(o: PersuasionObservation) -> bool:
    """A myopic buyer is a new buyer every round: it must not see earlier rounds' messages or
    its own earlier replies."""
    return o.myopic_buyer and o.role == "buyer"


register_renderer(
    Renderer(
        family="persuasion",
        system=system,
        turn=turn,
        version=VERSION,
        field_words={
            ("seller_message", "message"): "your message to the buyer",
            ("seller_message", "recommend"): "recommend buying or not",
            ("buyer_decision", "message"): "a message to the seller",
        },
        new_chat_each_turn=_new_chat_each_turn,
    )
)
