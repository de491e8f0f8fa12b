"""One seat's chat: the system prompt, each turn's user message, the re-ask after a bad reply.

A seat's chat starts with a fixed system message (the rules, from its first observation,
nothing that changes during the game) and gets one user message per turn with the events
it has not been shown yet and the request; the model's replies stay in between. So each
call's prompt extends the previous one, which is what vLLM's prefix cache rewards.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from glee.games import Action, Observation, Turn
from glee.prompts.registry import renderer_of
from glee.prompts.schema import action_shape
from glee.prompts.text import Cleaned

TurnKey = tuple[int, int]
"""(round, seat): one turn of a game (each seat, Nature included, acts at most once a round)."""


def system_prompt(observation: Observation) -> str:
    """The seat's rules, rendered once from its first observation."""
    return renderer_of(observation).system(observation)


def turn_prompt(observation: Observation, events: Sequence[Turn], action_model: type[Action]) -> Cleaned:
    """The user message of one turn: `events` (the ones not shown yet) in words, then the request.

    `cut` tells whether an opponent's message in it was cut to the length limit.
    """
    return renderer_of(observation).turn(observation, events, action_shape(action_model))


def reask_prompt(error: str, action_model: type[Action]) -> str:
    """The user message after an invalid reply: what was wrong and the shape to answer in."""
    return (
        f"Your reply could not be used: {error}.\n"
        f"Answer again with one JSON object only: {action_shape(action_model).example}"
    )


def new_events(observation: Observation, shown: set[TurnKey]) -> list[Turn]:
    """The observation's events this seat has not been shown yet, in order.

    Keyed by (round, seat), not by position: a long-lived persuasion buyer learns a round's
    quality only after deciding, so that event appears in its list after later ones.
    """
    return [t for t in observation.events if (t.round, t.seat) not in shown]


def mark_shown(events: Iterable[Turn], shown: set[TurnKey]) -> None:
    shown.update((t.round, t.seat) for t in events)


def starts_new_chat(observation: Observation) -> bool:
    """Whether each turn of this seat is a fresh chat (the family's renderer says): e.g. a myopic
    persuasion buyer is a new buyer every round and must not see earlier rounds' messages or its
    own earlier replies."""
    return renderer_of(observation).new_chat_each_turn(observation)
