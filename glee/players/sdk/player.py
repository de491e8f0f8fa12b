"""A competition agent (a glee-sdk strategy function) playing one seat in process, without HTTP.

`strategy(game) -> move` gets the same game dicts `glee serve-agents` sends over HTTP (built by the
family's codec, glee.players.sdk.codec). An exception in the strategy or a move the codec or the
rules refuse is a rejected attempt, counted against `max_attempts` like a model's rejected reply
and logged the same way (an `llm_calls` row with its `rejection`); then the seat forfeits.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import importlib.util
import json
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

from glee.errors import ConfigError
from glee.games import Action, Observation
from glee.players.base import Attempt, Decision, LLMCall
from glee.players.sdk.codec import InvalidMove, decode, game_dict
from glee.prompts import system_prompt

StrategyFunction = Callable[[dict[str, Any]], Any]
"""A competition agent: the game dict in, the move (a dict in the SDK's shapes) out."""

HIDDEN: Mapping[str, Any] = {"type": "hidden", "name": None}
"""The SDK's `opponent` when the opponent's identity is not disclosed."""

STRATEGY_FORMS = "path/to/agent.py:function or package.module:function"


def _module_of(target: str, ref: str) -> Any:
    if target.endswith(".py") or "/" in target:
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"strategy: got {ref!r}, but {target} is no file; allowed: {STRATEGY_FORMS}")
        # A name of its own (never __main__), so an agent script's `if __name__ == "__main__":` block stays off.
        name = "glee_agent_" + hashlib.sha256(str(path).encode()).hexdigest()[:16]
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"strategy: got {ref!r}, but {target} is no Python module; allowed: {STRATEGY_FORMS}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module
    try:
        return importlib.import_module(target)
    except ImportError as exc:
        raise ConfigError(
            f"strategy: got {ref!r}, but {target} cannot be imported ({exc}); allowed: {STRATEGY_FORMS}"
        ) from None


@cache
def load_strategy(ref: str) -> StrategyFunction:
    """The function `ref` names (`path/to/agent.py:function` or `package.module:function`), imported once
    per process; a one-line ConfigError when it names none."""
    target, sep, name = ref.rpartition(":")
    if not sep or not target or not name.isidentifier():
        raise ConfigError(f"strategy: got {ref!r}; allowed: {STRATEGY_FORMS}")
    function = getattr(_module_of(target, ref), name, None)
    if not callable(function):
        raise ConfigError(f"strategy: got {ref!r}, but {target} has no function {name!r}; allowed: {STRATEGY_FORMS}")
    strategy: StrategyFunction = function
    return strategy


@cache
def thread_pool(ref: str, threads: int) -> Executor:
    """The worker threads of a blocking strategy, shared by all its games in this process."""
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"glee-sdk-{ref.rpartition(':')[2]}")


def as_json(value: Any) -> Any:
    """`value` as plain JSON data (what a move would be on the wire); anything else as its repr."""
    return json.loads(json.dumps(value, default=repr))


def rejected(label: str, move: Any, rejection: str, latency_ms: float) -> Attempt:
    """A refused move as an attempt, with the call row it is logged as."""
    parsed = as_json(move) if isinstance(move, Mapping) else None
    text = json.dumps(as_json(move)) if move is not None else None
    call = LLMCall(model=label, response=text, parsed=parsed, rejection=rejection, latency_ms=latency_ms)
    return Attempt(text=text, parsed=parsed, rejection=rejection, call=call)


class AgentSeat:
    """What the in-process player and the HTTP server share of one agent's seat: the game dict of a turn,
    the judging of a move and the glee actions a move left for the seat's next turns."""

    def __init__(self, game_id: str, opponent: Mapping[str, Any], *, with_prompt: bool = True) -> None:
        self.game_id = game_id
        self.opponent = dict(opponent)
        self.with_prompt = with_prompt
        self.system: str | None = None
        """The seat's system prompt (its rules), once rendered."""
        self.planned: list[Action] = []
        """Actions a move already stands for (a negotiation counteroffer), played at the seat's next turns."""

    def take_planned(self, action_model: type[Action]) -> Action | None:
        """The next planned action when it is of the asked model (else the plan is dropped: the game went on
        differently, e.g. it ended)."""
        if self.planned and type(self.planned[0]) is action_model:
            return self.planned.pop(0)
        self.planned.clear()
        return None

    def game(self, observation: Observation, action_model: type[Action]) -> dict[str, Any]:
        if self.with_prompt and self.system is None:
            self.system = system_prompt(observation)  # rendered once per seat, as for a model
        return game_dict(
            observation, action_model, self.game_id, self.opponent, with_prompt=self.with_prompt, system=self.system
        )

    def judge(self, observation: Observation, action_model: type[Action], move: Any) -> Action:
        """The glee action of an accepted move (the rest planned), or InvalidMove."""
        first, *rest = decode(observation, action_model, move)
        self.planned = rest
        return first


class SdkPlayer:
    """One seat played by a competition strategy function in this process.

    `executor` runs a blocking strategy off the event loop (None: called in the loop, for pure-Python agents).
    """

    def __init__(
        self,
        strategy: StrategyFunction,
        label: str,
        max_attempts: int,
        game_id: str,
        opponent: Mapping[str, Any] = HIDDEN,
        executor: Executor | None = None,
        *,
        with_prompt: bool = True,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        self.strategy = strategy
        self.label = label
        self.max_attempts = max_attempts
        self.executor = executor
        self.seat = AgentSeat(game_id, opponent, with_prompt=with_prompt)

    async def _call(self, game: dict[str, Any]) -> Any:
        if self.executor is None:
            return self.strategy(game)
        return await asyncio.get_running_loop().run_in_executor(self.executor, self.strategy, game)

    async def act(self, observation: Observation, action_model: type[Action]) -> Decision:
        planned = self.seat.take_planned(action_model)
        if planned is not None:
            return Decision(action=planned)
        attempts: list[Attempt] = []
        for _ in range(self.max_attempts):
            game = self.seat.game(observation, action_model)
            started = time.perf_counter()
            move: Any = None
            try:
                move = await self._call(game)
            except Exception as exc:  # the strategy's own fault: a rejected attempt, as in the competition
                rejection = f"the strategy raised {type(exc).__name__}: {exc}"
            else:
                try:
                    return Decision(action=self.seat.judge(observation, action_model, move), attempts=attempts)
                except InvalidMove as exc:
                    rejection = str(exc)
            attempts.append(rejected(self.label, move, rejection, (time.perf_counter() - started) * 1000))
        return Decision(action=None, attempts=attempts)
