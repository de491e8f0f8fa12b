"""One seat's chat: the system prompt, each turn's user message, the re-ask after a bad reply.

A seat's chat starts with a fixed system message (the rules, from its first observation,
nothing that changes during the game) and gets one user message per turn with the events
it has not been shown yet and the request; the model's replies stay in between. So each
call's prompt extends the previous one, which is what vLLM's prefix cache rewards.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from glee.games import Action, Observation, Turn
from glee.prompts.registry import GLEE_PROMPTS, Prompts, renderer_of
from glee.prompts.schema import action_shape
from glee.prompts.text import Cleaned

TurnKey = tuple[int, int]
"""(round, seat): one turn of a game (each seat, Nature included, acts at most once a round)."""


def system_prompt(observation: Observation, prompts: Prompts = GLEE_PROMPTS) -> str:
    """The seat's rules in the words of `prompts`, rendered once from its first observation."""
    found = renderer_of(observation, prompts)
    if prompts.set.takes_options:
        return found.system(observation, prompts.options)
    return found.system(observation)


def turn_prompt(
    observation: Observation, events: Sequence[Turn], action_model: type[Action], prompts: Prompts = GLEE_PROMPTS
) -> Cleaned:
    """The user message of one turn: `events` (the ones not shown yet) in words, then the request.

    `cut` tells whether an opponent's message in it was cut to the length limit.
    """
    found = renderer_of(observation, prompts)
    shape = action_shape(action_model)
    if prompts.set.takes_options:
        return found.turn(observation, events, shape, prompts.options)
    return found.turn(observation, events, shape)


def reask_prompt(error: str, action_model: type[Action], prompts: Prompts = GLEE_PROMPTS) -> str:
    """The user message after an invalid reply: what was wrong and the shape to answer in."""
    return prompts.set.reask(error, action_shape(action_model).example)


def new_events(observation: Observation, shown: set[TurnKey]) -> list[Turn]:
    """The observation's events this seat has not been shown yet, in order.

    Keyed by (round, seat), not by position: a long-lived persuasion buyer learns a round's
    quality only after deciding, so that event appears in its list after later ones.
    """
    return [t for t in observation.events if (t.round, t.seat) not in shown]


def mark_shown(events: Iterable[Turn], shown: set[TurnKey]) -> None:
    shown.update((t.round, t.seat) for t in events)


def starts_new_chat(observation: Observation, prompts: Prompts = GLEE_PROMPTS) -> bool:
    """Whether each turn of this seat is a fresh chat (the family's renderer says): e.g. a myopic
    persuasion buyer is a new buyer every round and must not see earlier rounds' messages or its
    own earlier replies."""
    return renderer_of(observation, prompts).new_chat_each_turn(observation)
