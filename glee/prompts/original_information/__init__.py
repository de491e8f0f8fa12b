"""The prompt set `original_information`: glee's own words telling each seat exactly the facts the
original GLEE prompts told it, no more and no less, answered in free text holding a JSON object with
the original's field order.

Measured against the original code (github eilamshapira/GLEE, games/<family>/): no goal sentence
where it had none, no payoff formulas, no disclosure of the other's outside option, the horizon and
round numbers only where it showed them, its per-round reminders (including the bargaining
reminder that told the other's loss under incomplete information: the switch
`reveal_discount_reminder`). Fact by fact, per seat: GAMES.md, "What each seat is told".
The set's words are glee's; it never ships the original's text.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from glee.prompts.registry import PromptSet, register_prompt_set
from glee.prompts.text import JSON_INSTRUCTION


class OriginalOptions(BaseModel):
    """The switches of `original_information` (PlayerSpec.prompts_options; part of game ids)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reveal_discount_reminder: bool = True
    """Bargaining under incomplete information: the responder's round reminder also tells how much
    the other's money has lost whenever the two δ differ, as the original's reminder did (a leak of
    the other's δ). False tells only the seat's own loss, as the rules promise."""


def reask(error: str, example: str) -> str:
    """After an invalid reply: what was wrong, and to answer again with the object asked for."""
    return f"That answer could not be read: {error}.\n{JSON_INSTRUCTION} only, in the form asked for above."


ORIGINAL_INFORMATION = register_prompt_set(
    PromptSet(
        name="original_information",
        description="the facts the original GLEE prompts told each seat, in glee's words, answered in free text",
        answer="text",
        options=OriginalOptions,
        reask=reask,
    )
)
