"""A person playing one seat of one game, through an input source (a terminal, a web page).

The person reads what a model in that seat would read: the prompts layer renders the rules
and each turn from the seat's observation; only the machine instructions (the JSON shape to
answer in) are left out, because the person answers field by field instead. Each field is
read from the person's raw text (a unique prefix picks a choice, "$1,200" is an amount),
then the whole answer is validated by the turn's action model; an invalid answer is asked
again with the reason, as often as needed. An input source raises GameAbandoned when the
person has left; the engine records the game as abandoned.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from glee.errors import explain
from glee.games import Action, Observation, TurnKind
from glee.players.base import Attempt, Decision
from glee.prompts import (
    JSON_INSTRUCTION,
    TurnKey,
    action_shape,
    mark_shown,
    money,
    new_events,
    starts_new_chat,
    system_prompt,
    turn_prompt,
)

RAW_LIMIT = 4000
"""Characters of one raw field read at most (input is untrusted; the action model caps messages lower)."""

_MACHINE_INSTRUCTION = re.compile(r"[ \t]*" + re.escape(JSON_INSTRUCTION) + r"[^\n]*")
"""The prompts' instruction to a model to answer in JSON: a person answers in fields instead."""


def for_people(text: str) -> str:
    """A prompt as a person reads it: the same words without the JSON answering instructions."""
    return re.sub(r"\n{3,}", "\n\n", _MACHINE_INSTRUCTION.sub("", text)).strip()


def rules_text(observation: Observation) -> str:
    """The rules of the seat that `observation` describes, in the words its model would read."""
    return for_people(system_prompt(observation))


class HumanField(BaseModel):
    """One field of an action as a person fills it in: a choice, an amount of money, or a text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: Literal["choice", "amount", "text"]
    label: str
    """The field's description from the action model (e.g. "what you keep"), else its name."""
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    max_length: int | None = None

    def hint(self) -> str:
        """What may be answered, e.g. `accept / reject` or `a number from $0 to $100`."""
        if self.kind == "choice":
            return " / ".join(self.choices)
        if self.kind == "amount":
            low = money(self.low) if self.low is not None else None
            if self.high is not None:
                return f"an amount from {low or '$0'} to {money(self.high)}"
            return f"an amount of at least {low}" if low is not None else "an amount"
        return f"text, up to {self.max_length:,} characters" if self.max_length else "text"

    def read(self, raw: str) -> Any:
        """The value of this field in `raw`, or ValueError saying in words what is allowed."""
        if len(raw) > RAW_LIMIT:
            raise ValueError(f"{self.name}: too long ({len(raw):,} characters)")
        if self.kind == "text":
            text = raw.strip()
            if self.max_length is not None and len(text) > self.max_length:
                raise ValueError(f"{self.name}: at most {self.max_length:,} characters, got {len(text):,}")
            return text
        word = raw.strip().lower()
        if self.kind == "choice":
            return self._choice(word)
        return self._amount(word)

    def _choice(self, word: str) -> str:
        word = re.sub(r"[\s\-]+", "_", word)
        if word in self.choices:
            return word
        if word.isdigit() and 1 <= int(word) <= len(self.choices):
            return self.choices[int(word) - 1]
        starting = [c for c in self.choices if word and c.startswith(word)]
        if len(starting) == 1:
            return starting[0]
        shown = (word[:40] + "…") if len(word) > 40 else word
        raise ValueError(f"{self.name}: {shown!r} is not one of {', '.join(self.choices)}")

    def _amount(self, word: str) -> float:
        cleaned = word.replace("$", "").replace(",", "").replace("_", "").replace(" ", "")
        try:
            value = float(cleaned)
        except ValueError:
            raise ValueError(f"{self.name}: give {self.hint()}, as a number, not {word[:40]!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"{self.name}: give {self.hint()}")
        too_low = self.low is not None and value < self.low
        too_high = self.high is not None and value > self.high
        if too_low or too_high:
            raise ValueError(f"{self.name}: {money(value)} is out of range; give {self.hint()}")
        return value


def human_fields(action_model: type[Action]) -> tuple[HumanField, ...]:
    """The fields a person fills in for `action_model`: the ones a model is asked for, in order."""
    shape = action_shape(action_model)
    full = action_model.model_json_schema()["properties"]
    fields = []
    for key in shape.keys:
        prop = full[key]
        label = str(shape.schema["properties"][key].get("description") or key.replace("_", " "))
        if key in shape.choices:
            fields.append(HumanField(name=key, kind="choice", label=label, choices=shape.choices[key]))
        elif key in shape.amounts:
            low, high = prop.get("minimum", prop.get("exclusiveMinimum")), prop.get("maximum")
            fields.append(HumanField(name=key, kind="amount", label=label, low=low, high=high))
        else:
            fields.append(HumanField(name=key, kind="text", label=label, max_length=prop.get("maxLength")))
    return tuple(fields)


class HumanRequest(BaseModel):
    """One question to the person: this turn's news and request in words, the fields to fill in,
    and why the previous answer was refused (None on the first ask)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: str
    text: str
    fields: tuple[HumanField, ...]
    round: int
    kind: TurnKind
    rejection: str | None = None


class HumanInput(Protocol):
    """Where a person's answers come from (a terminal, a web page)."""

    async def answer(self, request: HumanRequest) -> Mapping[str, str]:
        """The person's raw answer, one text per field name; raises GameAbandoned when the person left."""
        ...


def read_answer(raw: Mapping[str, str], fields: tuple[HumanField, ...], action_model: type[Action]) -> Action:
    """The action in a person's raw answer, or ValueError naming what is wrong, in words."""
    values = {f.name: f.read(str(raw.get(f.name, ""))) for f in fields}
    try:
        return action_model.model_validate(values)
    except ValidationError as exc:
        raise ValueError(str(explain(exc))) from None


class HumanPlayer:
    """One seat of one game played by a person answering through `source`. Label `human:<name>`."""

    def __init__(self, source: HumanInput, name: str) -> None:
        self.source = source
        self.label = f"human:{name}"
        self.rules: str | None = None
        self._shown: set[TurnKey] = set()

    def _news(self, observation: Observation, action_model: type[Action]) -> str:
        if self.rules is None:
            self.rules = rules_text(observation)
        if starts_new_chat(observation):  # a myopic buyer is a new buyer each round, as for a model
            self._shown = set()
        events = new_events(observation, self._shown)
        mark_shown(events, self._shown)
        return for_people(turn_prompt(observation, events, action_model).text)

    async def act(self, observation: Observation, action_model: type[Action]) -> Decision:
        request = HumanRequest(
            rules=self.rules or rules_text(observation),
            text=self._news(observation, action_model),
            fields=human_fields(action_model),
            round=observation.round,
            kind=observation.kind or action_model.kind,
        )
        attempts: list[Attempt] = []
        while True:  # a person is asked again until the answer is valid or the source gives up (abandoned)
            shown_at = datetime.now(UTC)
            raw = await self.source.answer(request)
            answered_at = datetime.now(UTC)
            text = json.dumps({k: str(v)[:RAW_LIMIT] for k, v in raw.items()}, ensure_ascii=False)
            try:
                action = read_answer(raw, request.fields, action_model)
            except ValueError as exc:
                attempts.append(Attempt(text=text, rejection=str(exc), shown_at=shown_at, answered_at=answered_at))
                request = request.model_copy(update={"rejection": str(exc)})
                continue
            attempts.append(Attempt(text=text, parsed=action.model_dump(), shown_at=shown_at, answered_at=answered_at))
            return Decision(action=action, attempts=attempts)

    def final_news(self, observation: Observation, action_model: type[Action]) -> str:
        """What happened since this seat's last turn, at the end of the game (e.g. the answer to its offer)."""
        events = new_events(observation, self._shown)
        if not events:
            return ""
        mark_shown(events, self._shown)
        # The prompts layer renders the events first, then a blank line and the (here moot) request.
        return for_people(turn_prompt(observation, events, action_model).text).split("\n\n", 1)[0]
