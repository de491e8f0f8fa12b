"""The ultimatum game in words."""

from __future__ import annotations

from collections.abc import Sequence

from glee.games import Turn
from glee.prompts.registry import Renderer, register_renderer
from glee.prompts.schema import ActionShape
from glee.prompts.text import JSON_INSTRUCTION, Cleaned, Lines, money
from glee_ultimatum.rules import UltimatumObservation

VERSION: int = 1


def system(o: UltimatumObservation) -> str:
    you, them, total = o.name, o.other_name, money(o.money)
    proposer, responder = (f"You ({you})", them) if o.role == "proposer" else (them, f"you ({you})")
    verb_s = "s" if o.role == "proposer" else ""  # the responder's verbs, when the responder is them
    return "\n".join(
        [
            f"You are {you}. You and {them} divide {total}.",
            "",
            "Rules:",
            f"- {proposer} offer{'s' if o.role == 'responder' else ''} {responder} an amount of the {total}; "
            "the proposer keeps the rest.",
            f"- Then {responder} accept{verb_s} or reject{verb_s} "
            "the offer. If it is accepted, the money is divided as offered. If it is rejected, both get nothing.",
            "- There is only this one offer.",
            "",
            "Your goal is to end the game with as much money for yourself as possible.",
            f"{JSON_INSTRUCTION} only, in the shape asked for.",
        ]
    )


def turn(o: UltimatumObservation, events: Sequence[Turn], shape: ActionShape) -> Cleaned:
    out = Lines()
    them = o.other_name
    for event in events:
        if event.kind == "propose" and event.seat != o.seat:
            out.add(f"{them} offered you {money(float(event.action['offer']))}.")
    if o.kind == "respond" and o.pending_offer is not None:
        ask = f"You get {money(o.pending_offer)} if you accept, nothing if you reject. Do you accept or reject it?"
    else:
        ask = f"It is your turn to make the offer: how much of the {money(o.money)} do you offer {them}?"
    return out.request(ask, shape.keys, shape.example, them)


register_renderer(
    Renderer(
        family="ultimatum",
        system=system,
        turn=turn,
        version=VERSION,
        field_words={("propose", "offer"): "what you offer the other player"},
    )
)
