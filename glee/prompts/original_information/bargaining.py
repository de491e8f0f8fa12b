"""Bargaining in `original_information`: the facts the original told each seat, in glee's words.

Told (original games/bargaining/): the split of the money by alternating proposals that may be
explained in a few words, that messages are passed on (said also when messages are off), the
inflation of the seat's own money per round in percent (the other's when information is complete
and the two differ; else that it does not know the other's), the horizon only when shown, and
each round's number. Not told: a goal, a payoff formula, who proposes first. The round reminder
reaches only the responder (the original's proposer never saw it) and, under incomplete
information, tells the other's loss too when the two δ differ (switch reveal_discount_reminder).
"""

from __future__ import annotations

from collections.abc import Sequence

from glee.games import Turn
from glee.games.bargaining import BargainingObservation
from glee.prompts.original_information import OriginalOptions
from glee.prompts.registry import Renderer, register_renderer
from glee.prompts.schema import ActionShape
from glee.prompts.text import JSON_INSTRUCTION, Cleaned, Lines, money, percent

VERSION = 1
"""This set's bargaining version (part of bargaining game ids of seats that use the set)."""


def _inflation(o: BargainingObservation) -> str | None:
    own, other = 1 - o.own_delta, 1 - o.reminder_other_delta
    if not own and not other:  # the original said nothing when neither side's money loses value
        return None
    line = f"Watch out for inflation: every round, money loses {percent(own)} of its value"
    if o.other_delta is None:
        return line + f" for you. You do not know how inflation affects {o.other_name}."
    if o.other_delta != o.own_delta:
        return line + f" for you, and {percent(1 - o.other_delta)} for {o.other_name}."
    return line + "."


def system(o: BargainingObservation, options: OriginalOptions) -> str:
    """The rules as the original told them; nothing in it changes during the game."""
    you, them = o.name, o.other_name
    lines = [
        f"This is a game for two players, and you play {you}. You and {them} are to divide {money(o.money)} "
        "between you.",
        "The game goes in rounds. In each round one of you proposes how to divide the money and may explain "
        "the proposal in a few words. The other either accepts it, which ends the game, or moves on to the next "
        "round, where it is their turn to propose.",
        f"Messages between you and {them} are passed on.",
    ]
    inflation = _inflation(o)
    if inflation:
        lines.append(inflation)
    if o.max_rounds is not None:
        lines.append(
            f"There are {o.max_rounds} rounds to agree on a division; without one, neither of you gets anything."
        )
    return "\n".join(lines)


def _reminder(o: BargainingObservation, options: OriginalOptions) -> str | None:
    """The responder's round reminder: how much value money has lost since round 1."""
    if not o.show_inflation_update:
        return None
    known = (
        o.other_delta
        if o.other_delta is not None
        else o.reminder_other_delta
        if options.reveal_discount_reminder
        else None
    )
    own = 1 - o.own_delta ** (o.round - 1)
    other = 1 - known ** (o.round - 1) if known is not None else own
    them = o.other_name
    if not own and not other:
        return None
    if own == other:
        return f"Because of inflation, money you receive now is worth {percent(own)} less than in round 1."
    parts = []
    if own:
        parts.append(f"money you receive now is worth {percent(own)} less than in round 1")
    else:
        parts.append("money you receive now is worth as much as in round 1")
    if other:
        parts.append(f"money {them} receives is worth {percent(other)} less")
    else:
        parts.append(f"money {them} receives is worth as much as in round 1")
    return "Because of inflation, " + "; ".join(parts) + "."


def _event(o: BargainingObservation, turn: Turn, out: Lines) -> None:
    if turn.kind != "respond":  # proposals are shown in the answer's request, never echoed back
        return
    them, accepted = o.other_name, turn.action["decision"] == "accept"
    if turn.seat == o.seat:
        out.add(f"You accepted {them}'s offer." if accepted else f"You rejected {them}'s offer of round {turn.round}.")
    else:
        out.add(f"{them} accepted your offer." if accepted else f"{them} rejected your offer of round {turn.round}.")


def turn(o: BargainingObservation, events: Sequence[Turn], shape: ActionShape, options: OriginalOptions) -> Cleaned:
    """What happened since this seat's last turn, the round, the reminder (responder only), the request."""
    out = Lines()
    for event in events:
        _event(o, event, out)
    them = o.other_name
    out.add(f"Round {o.round}")
    if o.kind == "respond" and o.pending_offer is not None:
        reminder = _reminder(o, options)
        if reminder:
            out.add(reminder)
        mine, theirs = o.pending_offer if o.seat == 1 else o.pending_offer[::-1]
        out.add(f"{them}'s offer:")
        offered = [t for t in o.events if t.kind == "propose" and t.seat != o.seat and t.round == o.round]
        message = offered[-1].action.get("message") if offered else None
        if o.messages_allowed and message is not None:
            out.quote(f"{them}'s message (quoted as written):", str(message))
        out.add(f"- you get {money(mine)}\n- {them} gets {money(theirs)}\nDo you accept this offer?")
        out.add(f'{JSON_INSTRUCTION}: {{"decision": "accept"}} or {{"decision": "reject"}}')
        return out.done()
    ask = f"Make your offer for dividing {money(o.money)}"
    example = '{"own_gain": <the part you receive, a number>'
    if "message" in shape.keys:
        ask += f" and write a message to {them}"
        example += f', "message": "<your message to {them}>"'
    out.add(ask + ".")
    out.add(f"{JSON_INSTRUCTION}, in this form: {example}}}")
    return out.done()


register_renderer(
    Renderer(family="bargaining", system=system, turn=turn, version=VERSION, prompt_set="original_information")
)
