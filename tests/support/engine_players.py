"""Test-only players for the engine and store tests. These are stand-ins, not agents.

They exist to drive the paths a baseline never takes: a seat that gives up (forfeit,
with logged model calls that were rejected), an endpoint that keeps failing
(InfrastructureError / EndpointDown), and a bug (any other exception). The "model
calls" of `ScriptedCaller` are made up in process (no server): they only give the store
realistic `LLMCall` records to log. The real model path is tested by the players' and
backends' own tests against a real llama.cpp server.

Select them with `PlayerSpec(kind="baseline", strategy="spe", name=...)` and the names below,
through `scripted_factory`, which wraps the engine's own factory.
"""

from __future__ import annotations

import asyncio
from typing import Any

from glee.engine.match import PlayerFactory
from glee.engine.players import player_factory
from glee.errors import EndpointDown, InfrastructureError
from glee.games import Action, Observation, Params, Seat
from glee.players.base import Attempt, Decision, LLMCall, Player
from glee.players.baseline import make_baseline

FORFEIT = "test:forfeit"
CHATTY = "test:chatty"
INFRA = "test:infra"
DOWN = "test:down"
BUG = "test:bug"
SLOW = "test:slow-spe"


class ScriptedCaller:
    """Plays the spe baseline's action but logs made-up calls like an LLM seat would: the first
    call sends the system prompt and the turn, each later one only the new messages. With
    `give_up`, every turn makes two rejected attempts and returns no action (a forfeit)."""

    def __init__(self, label: str, params: Params, seat: Seat, seed: int, give_up: bool) -> None:
        self.label = label
        self.inner = make_baseline("spe", params, seat, seed)
        self.give_up = give_up
        self.calls = 0

    def _call(
        self,
        messages: list[dict[str, Any]],
        reply: str,
        rejection: str | None = None,
        parsed: dict[str, Any] | None = None,
    ) -> LLMCall:
        self.calls += 1
        return LLMCall(
            model="scripted",
            request=messages,
            response=reply,
            prompt_tokens=10 * self.calls,
            completion_tokens=5,
            latency_ms=1.0,
            finish_reason="stop",
            parsed=parsed,
            rejection=rejection,
        )

    async def act(self, observation: Observation, action_model: type[Action]) -> Decision:
        user = {"role": "user", "content": f"round {observation.round}: {observation.kind}"}
        first = [{"role": "system", "content": "rules"}, user] if self.calls == 0 else [user]
        if self.give_up:
            bad = "I am not sure."
            attempts = [
                Attempt(text=bad, rejection="not JSON", call=self._call(first, bad, "not JSON")),
                Attempt(
                    text=bad,
                    rejection="not JSON",
                    call=self._call(
                        [{"role": "assistant", "content": bad}, {"role": "user", "content": "error: not JSON"}],
                        bad,
                        "not JSON",
                    ),
                ),
            ]
            return Decision(action=None, attempts=attempts)
        action = (await self.inner.act(observation, action_model)).action
        assert action is not None
        text = action.model_dump_json()
        return Decision(
            action=action,
            attempts=[
                Attempt(text=text, parsed=action.model_dump(), call=self._call(first, text, parsed=action.model_dump()))
            ],
        )


class Raising:
    """Raises `error` on its first turn."""

    def __init__(self, label: str, error: BaseException) -> None:
        self.label = label
        self.error = error

    async def act(self, observation: Observation, action_model: type[Action]) -> Decision:
        raise self.error


class Slow:
    """The spe baseline, waiting `delay` seconds on its first turn (gives a sweep a duration to interrupt)."""

    def __init__(self, label: str, params: Params, seat: Seat, seed: int, delay: float) -> None:
        self.label = label
        self.inner = make_baseline("spe", params, seat, seed)
        self.delay = delay

    async def act(self, observation: Observation, action_model: type[Action]) -> Decision:
        if self.delay:
            await asyncio.sleep(self.delay)
            self.delay = 0.0
        return await self.inner.act(observation, action_model)


def scripted_factory(slow_delay: float = 0.01) -> PlayerFactory:
    """The engine's baseline factory, with the test-only players above selected by name."""
    base = player_factory({})

    def make(spec: Any, params: Params, seat: Seat, seed: int) -> Player:
        name = spec.name
        if name in (FORFEIT, CHATTY):
            return ScriptedCaller(name, params, seat, seed, give_up=name == FORFEIT)
        if name == INFRA:
            return Raising(name, InfrastructureError("http://127.0.0.1:9/v1: 503 after 6 retries"))
        if name == DOWN:
            return Raising(name, EndpointDown("http://127.0.0.1:9/v1: 401 unauthorized"))
        if name == BUG:
            return Raising(name, RuntimeError("a bug in a player"))
        if name == SLOW:
            return Slow(name, params, seat, seed, slow_delay)
        return base(spec, params, seat, seed)

    return make
