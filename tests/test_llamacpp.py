"""The LLM path for real: a llama.cpp server with SmolLM2-135M-Instruct on loopback, started by
glee's managed-server code, reached through the production client (OpenAIEndpoint) and the
production player (LLMPlayer). Complete games of all three families, both seats LLM and LLM
against a baseline, every applied action checked against its schema.

Run with `-s` to see SmolLM2's first-try valid rate per family and turn kind, and its
tokens/s through the harness (figures, not assertions: speed is for benchmarks)."""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from glee.backends import ManagedServer
from glee.backends.dialects import cap_string_lengths
from glee.backends.spec import EndpointSpec
from glee.errors import EndpointDown
from glee.games import NATURE, Family, GameState, Seat, new_game, parse_params
from glee.players.base import Player, Sampling
from glee.players.baseline import make_baseline
from glee.players.llm import LLMPlayer
from glee.prompts import action_schema
from tests.support.llamacpp import SMOLLM2, smollm2_endpoint, smollm2_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.llm

SHORT: dict[Family, dict[str, object]] = {
    "bargaining": {"max_rounds": 4, "money": 100},
    "negotiation": {"max_rounds": 4, "price_scale": 100},
    "persuasion": {"rounds": 3, "price": 100},
}
SAMPLING = Sampling(temperature=0.0, max_tokens=256, seed=1)


@dataclass
class Tally:
    """SmolLM2's turns: first-try valid counts per (family, turn kind), tokens and time."""

    turns: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    completion_tokens: int = 0
    prompt_tokens: int = 0
    call_seconds: float = 0.0
    calls: int = 0
    games: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = ["SmolLM2-135M-Instruct through glee (llama.cpp, json_object dialect):"]
        for (family, kind), (valid, total) in sorted(self.turns.items()):
            lines.append(f"  {family:12} {kind:15} first-try valid {valid}/{total} = {valid / total:.0%}")
        if self.call_seconds:
            rate = self.completion_tokens / self.call_seconds
            lines.append(
                f"  {self.calls} calls, {self.prompt_tokens} prompt and {self.completion_tokens} completion tokens "
                f"in {self.call_seconds:.0f} s of calls: {rate:.1f} completion tokens/s "
                f"({(self.prompt_tokens + self.completion_tokens) / self.call_seconds:.0f} tokens/s all told)"
            )
        lines += [f"  {g}" for g in self.games]
        return "\n".join(lines)


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    found = Tally()
    yield found
    print("\n" + found.summary())


async def play(state: GameState, players: dict[Seat, Player], tally: Tally) -> GameState:
    """The engine's loop in small: Nature draws, players act, every applied action is checked."""
    while not state.is_over:
        seat = state.to_act()
        assert seat is not None
        if seat == NATURE:
            state = state.apply(state.nature_action())
            continue
        model = state.action_model()
        decision = await players[seat].act(state.observation(seat), model)
        if isinstance(players[seat], LLMPlayer):
            first = decision.attempts[0]
            counts = tally.turns[(state.family, state.kind())]
            counts[0] += first.rejection is None
            counts[1] += 1
            for attempt in decision.attempts:
                assert attempt.call is not None
                tally.calls += 1
                tally.completion_tokens += attempt.call.completion_tokens or 0
                tally.prompt_tokens += attempt.call.prompt_tokens or 0
                tally.call_seconds += (attempt.call.latency_ms or 0) / 1000
        if decision.action is None:
            assert isinstance(players[seat], LLMPlayer) and len(decision.attempts) == 3
            state = state.forfeit(seat)
            continue
        if isinstance(players[seat], LLMPlayer):
            # What the model answered is valid for the schema it was constrained by.
            jsonschema.validate(decision.attempts[-1].parsed, action_schema(model))
        state = state.apply(decision.action)  # and for the rules (apply raises IllegalAction otherwise)
    return state


@pytest.mark.parametrize("family", list(SHORT))
async def test_complete_games_llm_vs_llm_and_vs_baseline(
    smollm2_server: ManagedServer,  # noqa: F811 (the imported fixture)
    tally: Tally,
    family: Family,
) -> None:
    params = parse_params(family, SHORT[family])
    endpoint = smollm2_endpoint(smollm2_server)
    pairings: dict[str, Callable[[], dict[Seat, Player]]] = {
        "llm-llm": lambda: {1: LLMPlayer(endpoint, SAMPLING), 2: LLMPlayer(endpoint, SAMPLING)},
        "llm-baseline": lambda: {1: LLMPlayer(endpoint, SAMPLING), 2: make_baseline("spe", params, 2, 2)},
        "baseline-llm": lambda: {1: make_baseline("spe", params, 1, 1), 2: LLMPlayer(endpoint, SAMPLING)},
    }
    for seed, (name, players) in enumerate(pairings.items()):
        start = time.perf_counter()
        final = await play(new_game(params, seed), players(), tally)
        outcome = final.outcome()
        assert final.is_over and outcome.end_reason in ("agreement", "no_deal", "outside_option", "deadline", "forfeit")
        llm_turns = sum(1 for t in final.turns if t.seat != NATURE)
        tally.games.append(
            f"{family} {name}: {outcome.end_reason} after {outcome.rounds} rounds, {llm_turns} moves, "
            f"{time.perf_counter() - start:.0f} s"
        )
    await endpoint.aclose()
    assert sum(total for (f, _), (_, total) in tally.turns.items() if f == family) > 0


def bound_strings(schema: dict[str, Any], limit: int) -> dict[str, Any]:
    """`schema` with a maxLength on every free-text property that has none."""
    properties = {
        name: {**sub, "maxLength": limit} if sub.get("type") == "string" and "enum" not in sub else sub
        for name, sub in schema.get("properties", {}).items()
    }
    return {**schema, "properties": properties}


async def test_structured_requests_get_schema_valid_json(smollm2_server: ManagedServer) -> None:  # noqa: F811
    endpoint = smollm2_endpoint(smollm2_server)
    for family in SHORT:
        state = new_game(parse_params(family, SHORT[family]), 0)
        schema = action_schema(state.action_model())
        # Short strings, so that the reply always ends within max_tokens; still valid for `schema`.
        short = cap_string_lengths(bound_strings(schema, 20), 20)
        messages = [{"role": "user", "content": f"Make your move in a {family} game. Answer with JSON."}]
        reply = await endpoint.complete(messages, short, SAMPLING.model_copy(update={"max_tokens": 400}))
        assert reply.finish_reason == "stop"
        jsonschema.validate(json.loads(reply.response or ""), short)
        jsonschema.validate(json.loads(reply.response or ""), schema)
        assert reply.model == "SmolLM2-135M-Instruct"
        assert reply.completion_tokens and reply.prompt_tokens
    await endpoint.aclose()


async def test_a_managed_llamacpp_server_starts_answers_and_stops_without_orphan(tmp_path: Path) -> None:
    spec = SMOLLM2.model_copy(update={"engine_args": {"n_ctx": 1024}})
    async with ManagedServer(spec, log_dir=tmp_path) as server:
        pid = server.pid
        assert pid is not None
        os.killpg(pid, 0)  # its process group is alive
        reply = await smollm2_endpoint(server).complete(
            [{"role": "user", "content": "Say yes or no."}],
            {"type": "object", "properties": {"answer": {"enum": ["yes", "no"]}}, "required": ["answer"]},
            SAMPLING,
        )
        assert json.loads(reply.response or "")["answer"] in ("yes", "no")
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # no process of the group is left
    assert server.log_path is not None and "llama" in server.log_path.read_text().lower()


async def test_a_llamacpp_server_without_its_model_fails_with_the_log_tail(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-model.gguf")
    spec = EndpointSpec(backend="llamacpp", model=missing, startup_timeout_s=120)
    with pytest.raises(EndpointDown) as caught:
        async with ManagedServer(spec, log_dir=tmp_path):
            pass
    message = str(caught.value)
    assert "no-such-model@llamacpp" in message and "exited with code" in message
    assert "last lines of" in message and missing in message.split("last lines of", 1)[1]
