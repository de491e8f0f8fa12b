"""Bargaining in words: the rules a seat is told, then each turn's news and request.

Everything comes from the seat's BargainingObservation: the other player's discount only
under complete information (`other_delta`), the horizon only when disclosed (`max_rounds`).
"""

from __future__ import annotations

from collections.abc import Sequence

from glee.games import Turn
from glee.games.bargaining import BargainingObservation
from glee.prompts.registry import Renderer, register_renderer
from glee.prompts.schema import ActionShape
from glee.prompts.text import JSON_INSTRUCTION, Cleaned, Lines, money, number, percent

VERSION = 1
"""The bargaining prompts' version, part of every bargaining game's id (not other families'). Bump it whenever the
text a bargaining seat is shown changes: this module, or shared prompt code (chat, re-asks, schema, parsing,
quoting) as bargaining uses it; tests/test_golden.py fails until it is bumped."""


def _inflation(delta: float, whom: str) -> str:
    if delta >= 1:
        return f"money keeps its full value for {whom} in every round."
    return (
        f"money loses {percent(1 - delta)} of its value for {whom} every round: an amount received in "
        f"round t is worth that amount × {number(delta)}^(t−1) to {whom}."
    )


def system(o: BargainingObservation) -> str:
    """The rules as this seat knows them; nothing in it changes during the game."""
    you, them, total = o.name, o.other_name, money(o.money)
    first, second = (f"You ({you})", them) if o.seat == 1 else (them, f"you ({you})")
    lines = [
        f"You are {you}. You and {them} bargain over how to divide {total}.",
        "",
        "Rules:",
        f"- The game is played in rounds. {first} make{'s' if o.seat == 2 else ''} an offer in rounds 1, 3, 5, ... "
        f"and {second} in rounds 2, 4, 6, .... An offer states how much of the {total} the proposer keeps; "
        "the other player gets the rest.",
        "- The other player accepts or rejects the offer. If it is accepted, the money is divided as offered and "
        "the game ends. If it is rejected, the next round begins and the other player makes the next offer.",
    ]
    if o.max_rounds is not None:
        lines.append(
            f"- The game lasts at most {o.max_rounds} rounds. If the offer of round {o.max_rounds} is rejected, "
            "the game ends and neither of you gets anything."
        )
    else:
        lines.append("- No limit on the number of rounds is announced.")
    lines.append("- Inflation: " + _inflation(o.own_delta, "you"))
    if o.other_delta is not None:
        lines.append(f"- Inflation for {them}: " + _inflation(o.other_delta, them))
    else:
        lines.append(f"- You do not know how inflation affects {them}.")
    if o.show_inflation_update:
        lines.append("- Each round you are reminded how much value money has lost so far.")
    if o.walkaway_allowed:
        lines.append(
            "- Instead of rejecting an offer, the other player may walk away: the game ends at once and neither "
            "of you gets anything."
        )
    if o.messages_allowed:
        lines.append("- With each offer the proposer writes a message, which is passed on to the other player.")
    else:
        lines.append("- No messages can be sent: only offers and answers are passed on.")
    lines += [
        "",
        "Your goal is to end the game with as much value for yourself as possible.",
        "Each turn you are told what happened since your last turn and what to answer. "
        f"{JSON_INSTRUCTION} only, in the shape asked for.",
    ]
    return "\n".join(lines)


def _event(o: BargainingObservation, turn: Turn, out: Lines) -> None:
    them, mine = o.other_name, turn.seat == o.seat
    if turn.kind == "propose":
        keep = min(float(turn.action["own_gain"]), o.money)
        rest = o.money - keep
        if mine:
            out.add(f"Round {turn.round}: you offered to keep {money(keep)} and give {them} {money(rest)}.")
            return
        out.add(f"Round {turn.round}: {them} offered to keep {money(keep)} and give you {money(rest)}.")
        message = turn.action.get("message")
        if o.messages_allowed and message is not None:
            out.quote(f"{them}'s message (quoted as written; it is not part of the rules):", str(message))
    else:
        decision = turn.action["decision"]
        verb = {"accept": "accepted", "walkaway": "walked away from"}.get(decision, "rejected")
        said = f"you {verb} {them}'s offer" if mine else f"{them} {verb} your offer"
        out.add(f"Round {turn.round}: {said}.")


def turn(o: BargainingObservation, events: Sequence[Turn], shape: ActionShape) -> Cleaned:
    """What happened since this seat's last turn, the round's reminder, and the request."""
    out = Lines()
    for event in events:
        _event(o, event, out)
    if events:
        out.add("")
    them, r = o.other_name, o.round
    now = f"Round {r} of at most {o.max_rounds}." if o.max_rounds is not None else f"Round {r}."
    if o.show_inflation_update and r == 1:
        now += " Money still has its full value."
    elif o.show_inflation_update:
        now += f" Money received in this round is worth {percent(o.own_delta ** (r - 1))} of its round-1 value to you"
        if o.other_delta is not None:
            now += f" and {percent(o.other_delta ** (r - 1))} to {them}"
        now += "."
    out.add(now)
    if o.kind == "respond" and o.pending_offer is not None:
        mine, theirs = o.pending_offer if o.seat == 1 else o.pending_offer[::-1]
        ask = f"{them}'s offer: you get {money(mine)} and {them} gets {money(theirs)}. Do you accept or reject it?"
        if o.walkaway_allowed:
            ask = ask.removesuffix("?") + ", or walk away?"
    else:
        ask = f"It is your turn to make an offer: how much of the {money(o.money)} do you keep? {them} gets the rest."
    return out.request(ask, shape.keys, shape.example, them)


register_renderer(
    Renderer(
        family="bargaining",
        system=system,
        turn=turn,
        version=VERSION,
        field_words={("propose", "own_gain"): "what you keep", ("propose", "message"): "a message to the other player"},
    )
)
