"""Backends against the loopback fault server (a mock of flaky production APIs, see its docstring):
each fault class gets the right retry or error, EndpointDown stops at once with one message,
Retry-After is honoured, the API key never leaks; managed servers start, share, fail with
their log tail and stop without orphans (the fault server standing in for vLLM)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from glee.backends import EndpointPool, ManagedServer, OpenAIEndpoint
from glee.backends.base import backend_of
from glee.backends.dialects import LLAMACPP_MAX_STRING, schema_kwargs
from glee.backends.endpoint import MalformedReply, read_reply
from glee.backends.llamacpp import smollm2_gguf
from glee.backends.spec import EndpointSpec
from glee.errors import ConfigError, EndpointDown, InfrastructureError
from glee.games import families, new_game, parse_params
from glee.players.base import Sampling
from glee.prompts import action_schema
from tests.support.fault_server import FAULT_SERVER, FaultPlan, FaultServer, instance

KEY_VAR = "GLEE_TEST_API_KEY"
CANARY = "sk-canary-4f1d9a7e0b"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "price": {"type": "number", "minimum": 0, "maximum": 100},
        "verdict": {"enum": ["accept", "reject"]},
        "message": {"type": "string", "maxLength": 20},
    },
    "required": ["price", "verdict", "message"],
    "additionalProperties": False,
}
MESSAGES = [{"role": "system", "content": "You play a game."}, {"role": "user", "content": "Your move."}]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is not running.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def server(fault_server: FaultServer) -> FaultServer:
    """The module's fault server with a clean default plan."""
    fault_server.set_plan(FaultPlan())
    return fault_server


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_VAR, CANARY)
    return CANARY


def endpoint(server: FaultServer, **fields: Any) -> OpenAIEndpoint:
    spec = {"backend": "openai", "model": "mock-model", "base_url": server.base_url, "api_key_env": KEY_VAR}
    return OpenAIEndpoint(EndpointSpec(**{**spec, "timeout_s": 2.0, "max_retries": 2, **fields}))


# ------------------------------------------------------------------ requests and replies


@pytest.mark.parametrize(
    ("backend", "where"),
    [("openai", "response_format.json_schema"), ("llamacpp", "response_format.json_object"), ("vllm", "extra_body")],
)
async def test_each_backend_sends_its_dialect_and_sampling(
    server: FaultServer, api_key: str, backend: str, where: str
) -> None:
    ep = endpoint(server, backend=backend)
    reply = await ep.complete(MESSAGES, SCHEMA, Sampling(temperature=0.3, top_p=0.9, max_tokens=50, seed=7))
    body = json.loads(server.requests()[0].body)
    assert body["messages"] == MESSAGES
    assert body["model"] == "mock-model"
    assert (body["temperature"], body["top_p"]) == (0.3, 0.9)
    if where == "response_format.json_schema":
        assert body["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "action", "schema": SCHEMA, "strict": True},
        }
        assert body["max_completion_tokens"] == 50 and "max_tokens" not in body
    elif where == "response_format.json_object":
        assert body["response_format"] == {"type": "json_object", "schema": SCHEMA}
        assert body["max_tokens"] == 50
    else:
        assert body["structured_outputs"] == {"json": SCHEMA} and "response_format" not in body
        assert "guided_json" not in body
    # vLLM-CPU rejects per-request seeds; the others get it.
    assert body["seed"] == 7  # every built-in kind takes a per-request seed
    jsonschema.validate(json.loads(reply.response or ""), SCHEMA)


async def test_llamacpp_gets_long_strings_capped_and_the_schema_is_not_mutated(
    server: FaultServer, api_key: str
) -> None:
    long = {**SCHEMA, "properties": {**SCHEMA["properties"], "message": {"type": "string", "maxLength": 2000}}}
    before = json.dumps(long)
    await endpoint(server, backend="llamacpp").complete(MESSAGES, long, Sampling())
    await endpoint(server, backend="openai").complete(MESSAGES, long, Sampling())
    sent = [json.loads(r.body) for r in server.requests()]
    assert sent[0]["response_format"]["schema"]["properties"]["message"]["maxLength"] == LLAMACPP_MAX_STRING
    assert sent[1]["response_format"]["json_schema"]["schema"] == long
    assert json.dumps(long) == before


async def test_dialect_none_and_no_schema_send_no_constraint(server: FaultServer, api_key: str) -> None:
    await endpoint(server, structured_output="none").complete(MESSAGES, SCHEMA, Sampling())
    await endpoint(server).complete(MESSAGES, None, Sampling())
    for request in server.requests():
        body = json.loads(request.body)
        assert "response_format" not in body and "structured_outputs" not in body
    assert schema_kwargs("json_schema", None) == {}


async def test_completion_carries_usage_latency_and_finish_reason(server: FaultServer, api_key: str) -> None:
    reply = await endpoint(server).complete(MESSAGES, SCHEMA, Sampling())
    assert reply.model == "mock-model"
    assert reply.prompt_tokens is not None and reply.prompt_tokens > 0
    assert reply.cached_tokens == reply.prompt_tokens // 2  # the mock reports half the prompt as cached
    assert reply.completion_tokens is not None and reply.completion_tokens > 0
    assert reply.finish_reason == "stop"
    assert reply.latency_ms is not None and reply.latency_ms > 0


async def test_an_empty_reply_text_is_returned_not_retried(server: FaultServer, api_key: str) -> None:
    # An empty answer is the player's fault (re-asked by the player), not the infrastructure's.
    server.set_plan(FaultPlan(reply="empty"))
    reply = await endpoint(server).complete(MESSAGES, SCHEMA, Sampling())
    assert reply.response == ""
    assert len(server.requests()) == 1


# ------------------------------------------------------------------ transient faults


TRANSIENT = ["rate_limit", "server_error", "reset", "hang", "malformed", "empty"]


@pytest.mark.parametrize("fault", TRANSIENT)
async def test_a_transient_fault_is_retried_and_the_call_succeeds(
    server: FaultServer, api_key: str, fault: str
) -> None:
    server.set_plan(FaultPlan(script=[fault, fault, None], hang_s=5.0))
    reply = await endpoint(server, timeout_s=0.5).complete(MESSAGES, SCHEMA, Sampling())
    jsonschema.validate(json.loads(reply.response or ""), SCHEMA)
    assert [r.fault for r in server.requests()] == [fault, fault, None]


@pytest.mark.parametrize(
    ("fault", "error_class", "kind"),
    [
        ("rate_limit", "RateLimitError", "rate_limit"),
        ("server_error", "InternalServerError", "server_error"),
        ("reset", "APIConnectionError", "transport"),
        ("hang", "CallTimeout", "timeout"),
        ("malformed", "MalformedReply", "malformed_reply"),
        ("empty", "MalformedReply", "malformed_reply"),
    ],
)
async def test_a_persisting_transient_fault_raises_infrastructure_error_with_its_class(
    server: FaultServer, api_key: str, fault: str, error_class: str, kind: str
) -> None:
    server.set_plan(FaultPlan(script=[fault] * 10, hang_s=5.0))
    ep = endpoint(server, timeout_s=0.5, max_retries=2)
    with pytest.raises(InfrastructureError) as caught:
        await ep.complete(MESSAGES, SCHEMA, Sampling())
    assert not isinstance(caught.value, EndpointDown) and caught.value.kind == kind
    assert error_class in str(caught.value) and "after 2 retries" in str(caught.value)
    assert len(server.requests()) == 3  # one try and two retries
    # Not remembered: the next call goes out again.
    server.set_plan(FaultPlan())
    assert (await ep.complete(MESSAGES, SCHEMA, Sampling())).response


async def test_retry_after_is_honoured(server: FaultServer, api_key: str) -> None:
    # The client's own first backoff is at most 0.5 s; a longer gap can only come from Retry-After.
    server.set_plan(FaultPlan(script=["rate_limit", None], retry_after_s=1.5))
    await endpoint(server).complete(MESSAGES, SCHEMA, Sampling())
    first, second = server.requests()
    assert first.fault == "rate_limit" and second.fault is None
    assert second.at - first.at >= 1.5


async def test_a_seeded_probabilistic_schedule_is_reproducible_and_survived(server: FaultServer, api_key: str) -> None:
    plan = FaultPlan(rates={"rate_limit": 0.2, "server_error": 0.2, "reset": 0.1}, seed=11, retry_after_s=0.01)
    sequences = []
    for _ in range(2):
        server.set_plan(plan)
        ep = endpoint(server, max_retries=8)
        for _ in range(6):
            jsonschema.validate(json.loads((await ep.complete(MESSAGES, SCHEMA, Sampling())).response or ""), SCHEMA)
        sequences.append([r.fault for r in server.requests()])
    assert sequences[0] == sequences[1]
    assert any(f is not None for f in sequences[0])


# ------------------------------------------------------------------ faults that are not retried


async def test_context_length_is_an_infrastructure_error_without_retry(server: FaultServer, api_key: str) -> None:
    server.set_plan(FaultPlan(script=["context_length"]))
    ep = endpoint(server)
    with pytest.raises(InfrastructureError, match="context length exceeded") as caught:
        await ep.complete(MESSAGES, SCHEMA, Sampling())
    assert not isinstance(caught.value, EndpointDown) and caught.value.kind == "context_length"
    assert "BadRequestError" in str(caught.value)
    assert len(server.requests()) == 1
    assert (await ep.complete(MESSAGES, SCHEMA, Sampling())).response  # the endpoint still works


@pytest.mark.parametrize(
    ("fault", "error_class"), [("unauthorized", "AuthenticationError"), ("not_found", "NotFoundError")]
)
async def test_endpoint_down_is_raised_once_then_remembered(
    server: FaultServer, api_key: str, fault: str, error_class: str
) -> None:
    server.set_plan(FaultPlan(script=[fault]))
    ep = endpoint(server)
    messages = set()
    for _ in range(5):
        with pytest.raises(EndpointDown) as caught:
            await ep.complete(MESSAGES, SCHEMA, Sampling())
        messages.add(str(caught.value))
        assert caught.value.kind == "endpoint_down"
    assert len(messages) == 1  # one message, not one network error per game
    assert error_class in messages.pop()
    assert len(server.requests()) == 1  # later calls never reached the server


async def test_a_wrong_key_and_an_unknown_model_name_their_cause(server: FaultServer, api_key: str) -> None:
    server.set_plan(FaultPlan(api_key="the-right-key"))
    with pytest.raises(EndpointDown, match=f"refused the API key from {KEY_VAR}"):
        await endpoint(server).complete(MESSAGES, SCHEMA, Sampling())
    server.set_plan(FaultPlan())
    with pytest.raises(EndpointDown, match="unknown model 'no-such-model'"):
        await endpoint(server, model="no-such-model").complete(MESSAGES, SCHEMA, Sampling())


# ------------------------------------------------------------------ secrets


async def test_the_api_key_appears_only_in_the_auth_header(
    server: FaultServer, api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The 401 answer echoes the bearer token, as some providers do; glee must not repeat it.
    server.set_plan(FaultPlan(script=[None, "rate_limit", "server_error", "context_length", "unauthorized"]))
    ep = endpoint(server, max_retries=1)
    errors: list[str] = []
    await ep.complete(MESSAGES, SCHEMA, Sampling())
    for _ in range(3):
        try:
            await ep.complete(MESSAGES, SCHEMA, Sampling())
        except InfrastructureError as exc:
            errors.append(str(exc))
    assert any("HTTP 401" in e for e in errors)
    requests = server.requests()
    assert requests[-1].fault == "unauthorized"
    for request in requests:
        assert request.headers["authorization"] == f"Bearer {api_key}"
        assert api_key not in request.body
        assert all(api_key not in v for k, v in request.headers.items() if k != "authorization")
    assert all(api_key not in e for e in errors)
    assert api_key not in caplog.text
    assert api_key not in repr(ep) and api_key not in ep.spec.model_dump_json()


def test_an_unset_key_variable_is_a_config_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GLEE_NO_SUCH_KEY", raising=False)
    spec = EndpointSpec(backend="openai", model="gpt-4o-mini", api_key_env="GLEE_NO_SUCH_KEY")
    with pytest.raises(ConfigError, match="GLEE_NO_SUCH_KEY is not set"):
        OpenAIEndpoint(spec)


def test_an_unmanaged_local_backend_needs_a_url() -> None:
    with pytest.raises(ConfigError, match=r"endpoint\.base_url"):
        OpenAIEndpoint(EndpointSpec(backend="vllm", model="m"))


# ------------------------------------------------------------------ limits


async def test_requests_in_flight_are_capped_per_endpoint(server: FaultServer, api_key: str) -> None:
    server.set_plan(FaultPlan(delay_s=0.3))
    ep = endpoint(server, max_concurrency=3)
    replies = await asyncio.gather(*(ep.complete(MESSAGES, SCHEMA, Sampling()) for _ in range(9)))
    assert len(replies) == 9
    assert server.max_in_flight() == 3


async def test_the_mock_answers_many_requests_in_parallel(server: FaultServer, api_key: str) -> None:
    server.set_plan(FaultPlan(delay_s=0.3))
    ep = endpoint(server, max_concurrency=64)
    await asyncio.gather(*(ep.complete(MESSAGES, SCHEMA, Sampling()) for _ in range(40)))
    assert server.max_in_flight() == 40


# ------------------------------------------------------------------ the mock's own replies


def test_the_mock_builds_valid_actions_for_every_game_schema() -> None:
    import random

    rng = random.Random(0)
    for family in families():
        for seed in range(3):
            state = new_game(parse_params(family), seed)
            while not state.is_over:
                if state.to_act() == 0:
                    state = state.apply(state.nature_action())
                    continue
                model = state.action_model()
                for schema in (action_schema(model), model.model_json_schema()):
                    value = instance(schema, rng)
                    jsonschema.validate(value, schema)
                state = state.apply(model.model_validate(instance(action_schema(model), rng)))
            assert state.outcome() is not None


# ------------------------------------------------------------------ managed servers


def stand_in_vllm(plan: FaultPlan | None = None, **fields: Any) -> EndpointSpec:
    """A managed vllm spec whose launch command starts the fault server instead of vLLM."""
    launch = [sys.executable, FAULT_SERVER, "--plan", (plan or FaultPlan()).model_dump_json()]
    return EndpointSpec(backend="vllm", model="mock-model", launch=launch, startup_timeout_s=30, **fields)


def launch_command(spec: EndpointSpec, host: str, port: int) -> list[str]:
    return backend_of(spec).launch_command(spec, host, port)


def test_vllm_launch_command_maps_engine_args_to_flags() -> None:
    spec = EndpointSpec(
        backend="vllm",
        model="Qwen/Qwen2.5-7B-Instruct",
        engine_args={"tensor_parallel_size": 2, "gpu_memory_utilization": 0.85, "max_model_len": 8192,
                     "dtype": "bfloat16", "enforce_eager": True, "enable_prefix_caching": False},
    )  # fmt: skip
    assert launch_command(spec, "127.0.0.1", 8001) == [
        "vllm", "serve", "Qwen/Qwen2.5-7B-Instruct", "--host", "127.0.0.1", "--port", "8001",
        "--tensor-parallel-size", "2", "--gpu-memory-utilization", "0.85", "--max-model-len", "8192",
        "--dtype", "bfloat16", "--enforce-eager", "--no-enable-prefix-caching",
    ]  # fmt: skip
    cpu = spec.model_copy(update={"launch": ["python", "-m", "vllm.entrypoints.openai.api_server"], "engine_args": {}})
    assert launch_command(cpu, "127.0.0.1", 8001)[:5] == [
        "python", "-m", "vllm.entrypoints.openai.api_server", "--model", "Qwen/Qwen2.5-7B-Instruct",
    ]  # fmt: skip


def test_llamacpp_launch_command_serves_smollm2_by_default() -> None:
    command = launch_command(EndpointSpec(backend="llamacpp", engine_args={"n_ctx": 4096}), "127.0.0.1", 8002)
    assert command[:3] == [sys.executable, "-m", "llama_cpp.server"]
    model = command[command.index("--model") + 1]
    assert model == smollm2_gguf() and Path(model).is_file() and model.endswith(".gguf")
    assert command[command.index("--model_alias") + 1] == "SmolLM2-135M-Instruct"
    assert command[command.index("--n_ctx") + 1] == "4096"
    assert command.count("--n_ctx") == 1


async def test_a_managed_server_starts_answers_and_stops_without_orphan(tmp_path: Path) -> None:
    async with ManagedServer(stand_in_vllm(), log_dir=tmp_path) as server:
        pid = server.pid
        assert pid is not None and pid_alive(pid)
        ep = OpenAIEndpoint(server.spec, base_url=server.base_url)
        reply = await ep.complete(MESSAGES, SCHEMA, Sampling())
        jsonschema.validate(json.loads(reply.response or ""), SCHEMA)
        await ep.aclose()
    assert not pid_alive(pid)
    assert server.log_path is not None and server.log_path.parent == tmp_path


async def test_specs_that_differ_in_transport_share_one_server(tmp_path: Path) -> None:
    a = stand_in_vllm()
    b = a.model_copy(update={"max_concurrency": 4, "timeout_s": 30.0})
    async with EndpointPool(tmp_path) as pool:
        first, second, again = await pool.endpoint(a), await pool.endpoint(b), await pool.endpoint(a)
        assert first is again and first is not second
        assert first.base_url == second.base_url
        assert len(list(tmp_path.glob("*.log"))) == 1
        await second.complete(MESSAGES, SCHEMA, Sampling())


async def test_a_server_that_exits_gives_its_log_tail(tmp_path: Path) -> None:
    script = "import sys\nfor i in range(100): print(f'line {i}')\nprint('fatal: no model here'); sys.exit(3)"
    spec = EndpointSpec(backend="vllm", model="m", launch=[sys.executable, "-c", script])
    async with EndpointPool(tmp_path) as pool:
        with pytest.raises(EndpointDown) as caught:
            await pool.endpoint(spec)
        message = str(caught.value)
        assert "exited with code 3" in message and "fatal: no model here" in message
        assert "line 99" in message and "line 50" not in message  # the tail, not the whole log
        # Remembered: asked again, the same error at once, without a second launch.
        with pytest.raises(EndpointDown) as again:
            await pool.endpoint(spec)
        assert str(again.value) == message
        assert len(list(tmp_path.glob("*.log"))) == 1


async def test_a_server_that_never_answers_times_out_and_is_killed(tmp_path: Path) -> None:
    script = "import os, time\nprint('loading weights, pid', os.getpid(), flush=True)\ntime.sleep(120)"
    spec = EndpointSpec(backend="vllm", model="m", launch=[sys.executable, "-c", script], startup_timeout_s=1.5)
    server = ManagedServer(spec, log_dir=tmp_path)
    with pytest.raises(EndpointDown, match=r"did not answer GET /v1/models within 1.5 s") as caught:
        await server.start()
    pid = int(re.search(r"loading weights, pid (\d+)", str(caught.value)).group(1))  # type: ignore[union-attr]
    assert not pid_alive(pid)
    assert server.pid is None


def test_ctrl_c_stops_the_managed_server(tmp_path: Path) -> None:
    """A run interrupted with Ctrl-C (SIGINT) leaves no server behind."""
    program = textwrap.dedent(
        f"""
        import asyncio
        from glee.backends import ManagedServer
        from glee.backends.spec import EndpointSpec

        async def main():
            spec = EndpointSpec.model_validate_json({stand_in_vllm().model_dump_json()!r})
            async with ManagedServer(spec) as server:
                print(server.pid, flush=True)
                await asyncio.sleep(120)

        asyncio.run(main())
        """
    )
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root}
    child = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    assert child.stdout is not None
    server_pid = int(child.stdout.readline())
    assert pid_alive(server_pid)
    child.send_signal(signal.SIGINT)
    child.wait(timeout=30)
    assert not pid_alive(server_pid)


def test_a_reply_body_is_read_for_the_fields_glee_uses_and_refused_with_what_is_wrong() -> None:
    body = {
        "id": "c1",
        "object": "chat.completion",
        "model": "m",
        "system_fingerprint": None,  # fields glee does not read are ignored, whatever they hold
        "choices": [{"index": 0, "message": {"role": "assistant", "content": '{"x": 1}'}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 8}},
    }
    reply = read_reply(json.dumps(body).encode())
    assert reply.model == "m" and reply.choices[0].message.content == '{"x": 1}'
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.prompt_tokens == 12 and reply.usage.completion_tokens == 3
    assert reply.usage.prompt_tokens_details is not None and reply.usage.prompt_tokens_details.cached_tokens == 8
    refused = {
        b"": "the reply body is empty",
        b'{"choices": [{"message": {"content": "cut': "the reply body is not JSON",
        json.dumps({**body, "choices": []}).encode(): "not a chat completion: choices:",
        json.dumps({**body, "choices": [{"finish_reason": "stop"}]}).encode(): "choices.0.message: Field required",
        b"[1, 2]": "not a chat completion",
    }
    for raw, says in refused.items():
        with pytest.raises(MalformedReply, match=re.escape(says)):
            read_reply(raw)
