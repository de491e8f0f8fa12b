"""A chat model playing one seat of one game through a ChatEndpoint.

The seat's chat is kept across turns: the system prompt (rendered once), then per turn one
user message with the news and the request, the model's reply, and on an invalid reply a
re-ask with the error, up to `max_attempts` tries in all; then the turn is given up
(Decision(action=None)) and the engine records a forfeit.

Each LLMCall logs only the messages added since this seat's previous call (the replies of
earlier calls included), so the prompt of any call is the concatenation of the seat's
calls' messages up to it — except that a call whose messages start with a system message
starts a new chat (a myopic persuasion buyer is a fresh buyer every round).
InfrastructureError from the endpoint propagates: it is not the player's fault.

Each call carries its own sampling seed (glee.players.base.call_seed: the seat's seed, the seat's
turn, the attempt) unless the sampling names a fixed one, so replicates of a game sample differently
and each replays exactly.
"""

from __future__ import annotations

from typing import Any

from glee.errors import InfrastructureError
from glee.games import Action, Observation
from glee.players.base import Attempt, ChatEndpoint, Decision, LLMCall, Sampling, call_seed
from glee.prompts import (
    GLEE_PROMPTS,
    Prompts,
    TurnKey,
    action_schema,
    mark_shown,
    new_events,
    parse_action,
    reask_prompt,
    starts_new_chat,
    system_prompt,
    turn_prompt,
)


class LLMPlayer:
    """One seat of one game played by the model behind `endpoint`.

    `structured` False asks for plain text (no schema sent); the reply is parsed the same way.
    `prompts` is the prompt set it is shown; a set that answers in free text (`answer="text"`)
    is never sent a schema either.
    `seed` is the seat's seed (glee.engine.match.seat_seed); None sends no per-call seed.
    """

    def __init__(
        self,
        endpoint: ChatEndpoint,
        sampling: Sampling,
        max_attempts: int = 3,
        label: str | None = None,
        *,
        structured: bool = True,
        prompts: Prompts = GLEE_PROMPTS,
        seed: int | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        self.endpoint = endpoint
        self.sampling = sampling
        self.max_attempts = max_attempts
        self.label = label or endpoint.label
        self.prompts = prompts
        self.structured = structured and prompts.set.answer == "schema"
        self.seed = seed
        self._turns = 0
        """How many turns this seat has been asked (the turn of `call_seed`)."""
        self.messages: list[dict[str, Any]] = []
        """The seat's chat so far (read-only outside this class)."""
        self._sent = 0
        """How many of `messages` earlier calls already carried."""
        self._shown: set[TurnKey] = set()
        self._system: str | None = None

    def _open_turn(self, observation: Observation, action_model: type[Action]) -> bool:
        """Append this turn's user message (starting the chat if needed); whether an opponent text was cut."""
        if self._system is None or starts_new_chat(observation, self.prompts):
            if self._system is None:
                self._system = system_prompt(observation, self.prompts)
            self.messages = [{"role": "system", "content": self._system}]
            self._sent = 0
            self._shown = set()
        events = new_events(observation, self._shown)
        mark_shown(events, self._shown)
        rendered = turn_prompt(observation, events, action_model, self.prompts)
        self.messages.append({"role": "user", "content": rendered.text})
        return rendered.cut

    async def act(self, observation: Observation, action_model: type[Action]) -> Decision:
        cut = self._open_turn(observation, action_model)
        schema = action_schema(action_model) if self.structured else None
        attempts: list[Attempt] = []
        self._turns += 1
        for number in range(1, self.max_attempts + 1):
            added = self.messages[self._sent :]
            sampling = self._sampling(number)
            try:
                reply = await self.endpoint.complete(self.messages, schema, sampling)
            except InfrastructureError as exc:
                # Not the player's fault: the engine fails the game, but the calls are still logged.
                failed = LLMCall(
                    model=self.endpoint.label,
                    request=added,
                    error=f"{type(exc).__name__}: {exc}",
                    prompt_tokens=exc.prompt_tokens,
                    seed=sampling.seed,
                )
                exc.attempts = [*attempts, Attempt(call=failed)]
                raise
            self._sent = len(self.messages)
            text = reply.response or ""
            parsed = parse_action(text, action_model)
            call = reply.model_copy(
                update={
                    "request": added,
                    "parsed": parsed.data,
                    "rejection": parsed.error,
                    "opponent_text_cut": cut and number == 1,
                    "seed": sampling.seed,
                }
            )
            attempts.append(Attempt(text=text, parsed=parsed.data, rejection=parsed.error, call=call))
            # The reply stays in the chat either way: the model sees what it said when re-asked or next turn.
            self.messages.append({"role": "assistant", "content": text})
            if parsed.action is not None:
                return Decision(action=parsed.action, attempts=attempts)
            if number < self.max_attempts:
                self.messages.append(
                    {"role": "user", "content": reask_prompt(parsed.error or "invalid", action_model, self.prompts)}
                )
        return Decision(action=None, attempts=attempts)

    def _sampling(self, attempt: int) -> Sampling:
        """This call's sampling: the configured one with this call's own seed (unless it names one)."""
        if self.seed is None or self.sampling.seed is not None:
            return self.sampling
        return self.sampling.model_copy(update={"seed": call_seed(self.seed, self._turns, attempt)})
