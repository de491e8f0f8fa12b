"""A loopback OpenAI-compatible chat server that injects faults on a seeded schedule.

This is a MOCK: it stands in for flaky production APIs (rate limits, outages, resets,
hangs, broken bodies), which cannot be reached from here. It runs in its own process, on a
free loopback port, and answers

- POST /v1/chat/completions with a schema-valid action: the JSON schema found in the
  request (any of glee's dialects) is filled with a small valid instance (enums and numbers
  drawn from the seed, within their bounds), or with a scripted reply ("garbage", "empty");
- GET /v1/models with the served model names;
- GET /_fault/requests with every chat request it received (method, path, headers, body,
  arrival time, the fault it answered with), so tests can assert on what was sent;
- GET /_fault/stats with the request count and the most requests answered at once;
- POST /_fault/plan to replace the plan and clear the record (no restart needed).

Faults (`Fault`): rate_limit (429 with Retry-After), server_error (500), reset (the TCP
connection is reset), hang (no answer for `hang_s`, beyond the client's timeout),
context_length (400, code context_length_exceeded), unauthorized (401, echoing the bearer
token as some providers do), not_found (404 unknown model), malformed (200, JSON cut off),
empty (200, no body), trickle (200 with a valid reply sent one byte every `trickle_s`), whitespace
(200, chunked, an endless stream of spaces), bad_request (400 about the request's
schema, not its length). Which request gets which fault: `script[i]` for the i-th chat request
(0-based, None = no fault), then each later request draws from `rates` with `seed`.
Requests for a model not in `models` get 404, and with `api_key` set, requests without
that bearer token get 401.

Usage (a context manager, or the pytest fixture in tests/test_backends.py):

    with FaultServer(FaultPlan(script=["rate_limit", None], delay_s=0.1)) as server:
        spec = EndpointSpec(backend="openai", base_url=server.base_url, model="mock-model")
        ...
        server.requests()          # what arrived
        server.set_plan(FaultPlan(rates={"server_error": 0.2}, seed=3))

Run alone: `python tests/support/fault_server.py --port 8000 --plan '{"delay_s": 0.1}'`.

The HTTP layer is asyncio streams with a small hand-written HTTP/1.1 reader: faults such as
a connection reset or a truncated body need the raw socket, which ASGI servers hide.
Every connection is served by its own task, so parallelism is unlimited.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import random
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Fault = Literal[
    "rate_limit", "server_error", "reset", "hang", "context_length", "unauthorized", "not_found", "malformed", "empty",
    "trickle", "whitespace", "bad_request",
]  # fmt: skip
FAULTS: tuple[Fault, ...] = (
    "rate_limit", "server_error", "reset", "hang", "context_length", "unauthorized", "not_found", "malformed", "empty",
    "trickle", "whitespace", "bad_request",
)  # fmt: skip
Reply = Literal["valid", "garbage", "empty", "hashed", "echo_auth"]
"""hashed: like valid, but drawn from a hash of the messages and schema, so a retried or reordered
request gets the same reply (a deterministic model). echo_auth: the text repeats the request's
Authorization header, as a misconfigured proxy or a debugging endpoint does."""
FAULT_SERVER = str(Path(__file__).resolve())
"""This file, to run as a server: `python FAULT_SERVER --port P [--plan JSON]`."""


class FaultPlan(BaseModel):
    """How the server answers; see the module docstring."""

    model_config = ConfigDict(extra="forbid")

    script: list[Fault | None] = []
    """The fault of the i-th chat request (0-based); None answers normally."""
    rates: dict[Fault, float] = {}
    """After the script: the probability of each fault per request, drawn with `seed`."""
    seed: int = 0
    delay_s: float = 0.0
    """Added before every chat answer (the requests still run in parallel)."""
    reply: Reply = "valid"
    retry_after_s: float = 0.05
    """The Retry-After header of a 429."""
    hang_s: float = 60.0
    trickle_s: float = 1.0
    """Seconds between the bytes of a trickled reply."""
    models: list[str] = ["mock-model"]
    api_key: str | None = None


class RecordedRequest(BaseModel):
    """One chat request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]
    body: str
    at: float
    """time.monotonic() at arrival (the same clock in the server and the tests)."""
    fault: Fault | None


# ---------------------------------------------------------------- server side


def instance(schema: dict[str, Any], rng: random.Random, root: dict[str, Any] | None = None) -> Any:
    """A small value valid for `schema` (objects, enums, anyOf, numbers within bounds, strings)."""
    root = root or schema
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return instance(target, rng, root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return instance(options[0], rng, root)
    if "allOf" in schema:
        return instance(schema["allOf"][0], rng, root)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: instance(sub, rng, root) for name, sub in props.items()}
    if kind in ("number", "integer"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", low + 100))
        if kind == "integer":
            lowest = math.ceil(low) + ("exclusiveMinimum" in schema and math.ceil(low) == low)
            highest = math.floor(high) - ("exclusiveMaximum" in schema and math.floor(high) == high)
            return rng.randint(lowest, highest)
        if "exclusiveMinimum" in schema or "exclusiveMaximum" in schema:
            return (low + high) / 2
        return min(max(round(rng.uniform(low, high), 2), low), high)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "array":
        return [instance(schema.get("items", {}), rng, root) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        text = "ok".ljust(schema.get("minLength", 0), "k")
        return text[: schema.get("maxLength", len(text))]
    return None


def requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a chat request asks its reply to follow, in any of glee's dialects."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema: dict[str, Any] = fmt["json_schema"]["schema"]
        return schema
    if fmt.get("type") == "json_object" and "schema" in fmt:
        return dict(fmt["schema"])
    structured = body.get("structured_outputs") or {}
    if "json" in structured:
        return dict(structured["json"])
    if "guided_json" in body:
        return dict(body["guided_json"])
    return None


class _Server:
    def __init__(self, plan: FaultPlan) -> None:
        self.set_plan(plan)

    def set_plan(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.count = 0
        self.rng = random.Random(plan.seed)
        self.record: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def next_fault(self) -> Fault | None:
        index = self.count
        self.count += 1
        if index < len(self.plan.script):
            return self.plan.script[index]
        draw = self.rng.random()
        for fault, rate in self.plan.rates.items():
            if draw < rate:
                return fault
            draw -= rate
        return None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines if ":" in ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                keep = await self.respond(method, path, headers, body.decode("utf-8", "replace"), writer)
                if not keep:
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def respond(
        self, method: str, path: str, headers: dict[str, str], body: str, writer: asyncio.StreamWriter
    ) -> bool:
        path = path.split("?", 1)[0]
        if method == "GET" and path.endswith("/models"):
            models = [{"id": m, "object": "model", "created": 0, "owned_by": "fault-server"} for m in self.plan.models]
            return await send(writer, 200, {"object": "list", "data": models})
        if method == "GET" and path == "/_fault/requests":
            return await send(writer, 200, [r.model_dump() for r in self.record])
        if method == "GET" and path == "/_fault/stats":
            return await send(writer, 200, {"requests": self.count, "max_in_flight": self.max_in_flight})
        if method == "POST" and path == "/_fault/plan":
            self.set_plan(FaultPlan.model_validate_json(body))
            return await send(writer, 200, {"ok": True})
        if method != "POST" or not path.endswith("/chat/completions"):
            return await send(writer, 404, {"error": {"message": f"no route {method} {path}"}})
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self.chat(headers, body, writer)
        finally:
            self.in_flight -= 1

    async def chat(self, headers: dict[str, str], raw: str, writer: asyncio.StreamWriter) -> bool:
        fault = self.next_fault()
        self.record.append(
            RecordedRequest(method="POST", path="/v1/chat/completions", headers=headers, body=raw,
                            at=time.monotonic(), fault=fault)
        )  # fmt: skip
        request = json.loads(raw)
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if fault is None and self.plan.api_key is not None and token != self.plan.api_key:
            fault = "unauthorized"
        if fault is None and request.get("model") not in self.plan.models:
            fault = "not_found"
        if self.plan.delay_s:
            await asyncio.sleep(self.plan.delay_s)
        if fault == "rate_limit":
            return await send(writer, 429, error("Rate limit reached, slow down", "rate_limit_exceeded"),
                              {"retry-after": str(self.plan.retry_after_s)})  # fmt: skip
        if fault == "server_error":
            return await send(writer, 500, error("The server had an error processing your request", None))
        if fault == "context_length":
            message = "This model's maximum context length is 2048 tokens; your messages resulted in 4096 tokens"
            return await send(writer, 400, error(message, "context_length_exceeded"))
        if fault == "bad_request":
            return await send(writer, 400, error("Invalid schema for response_format: unsupported keyword", None))
        if fault == "unauthorized":
            return await send(writer, 401, error(f"Incorrect API key provided: {token}", "invalid_api_key"))
        if fault == "not_found":
            message = f"The model {request.get('model')!r} does not exist or you do not have access to it"
            return await send(writer, 404, error(message, "model_not_found"))
        if fault == "reset":
            reset(writer)
            return False
        if fault == "hang":
            await asyncio.sleep(self.plan.hang_s)
            return False
        if fault == "malformed":
            await send_raw(writer, 200, b'{"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"ind')
            return False
        if fault == "empty":
            await send_raw(writer, 200, b"")
            return False
        if fault == "trickle":
            await trickle(writer, json.dumps(self.completion(request, headers)).encode(), self.plan.trickle_s)
            return False
        if fault == "whitespace":
            await endless_whitespace(writer)
            return False
        return await send(writer, 200, self.completion(request, headers))

    def completion(self, request: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        schema = requested_schema(request)
        if self.plan.reply == "echo_auth":
            text = f"You sent Authorization: {(headers or {}).get('authorization', '')}"
        elif self.plan.reply == "garbage":
            text = "I would rather tell you a story about the sea."
        elif self.plan.reply == "empty":
            text = ""
        elif self.plan.reply == "hashed":
            key = json.dumps([request.get("messages"), schema], sort_keys=True).encode()
            text = json.dumps(instance(schema, random.Random(hashlib.sha256(key).digest()))) if schema else "{}"
        else:
            text = json.dumps(instance(schema, self.rng)) if schema else "{}"
        prompt_tokens = max(1, len(json.dumps(request.get("messages", []))) // 4)
        return {
            "id": f"chatcmpl-{self.count}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": max(1, len(text) // 4),
                "total_tokens": prompt_tokens + max(1, len(text) // 4),
                "prompt_tokens_details": {"cached_tokens": prompt_tokens // 2},
            },
        }


def error(message: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


async def send(writer: asyncio.StreamWriter, status: int, payload: Any, extra: dict[str, str] | None = None) -> bool:
    await send_raw(writer, status, json.dumps(payload).encode(), extra, keep_alive=True)
    return True


async def send_raw(
    writer: asyncio.StreamWriter, status: int, body: bytes, extra: dict[str, str] | None = None,
    keep_alive: bool = False,
) -> None:  # fmt: skip
    headers = {
        "content-type": "application/json",
        "content-length": str(len(body)),
        "connection": "keep-alive" if keep_alive else "close",
        **(extra or {}),
    }
    head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode() + body)
    await writer.drain()


async def trickle(writer: asyncio.StreamWriter, body: bytes, every_s: float) -> None:
    """A 200 whose (valid) body arrives one byte every `every_s` seconds: each read is quick, the whole slow."""
    head = (
        f"HTTP/1.1 200 X\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    writer.write(head.encode())
    await writer.drain()
    for i in range(len(body)):
        writer.write(body[i : i + 1])
        await writer.drain()
        await asyncio.sleep(every_s)


async def endless_whitespace(writer: asyncio.StreamWriter) -> None:
    """A chunked 200 that never ends: a space every 0.1 s (JSON allows any amount of leading whitespace)."""
    head = "HTTP/1.1 200 X\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    writer.write(head.encode())
    while True:
        writer.write(b"1\r\n \r\n")
        await writer.drain()
        await asyncio.sleep(0.1)


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST instead of a FIN (SO_LINGER 0), as a crashed proxy does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def serve(port: int, plan: FaultPlan) -> None:
    server = _Server(plan)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", port, limit=2**24, backlog=1024)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    async with listener:
        await listener.serve_forever()


# ---------------------------------------------------------------- test side


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class FaultServer:
    """The fault server in a child process; a context manager that starts and stops it."""

    def __init__(self, plan: FaultPlan | None = None, startup_timeout_s: float = 30.0) -> None:
        self.plan = plan or FaultPlan()
        self.startup_timeout_s = startup_timeout_s
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (…/v1)."""
        return f"{self.url}/v1"

    def start(self) -> FaultServer:
        self.port = _free_port()
        # Tracebacks go to a file: a pipe nobody reads could fill up and stall the server.
        self._log = tempfile.NamedTemporaryFile(prefix="glee-fault-server-", suffix=".log", delete=False)  # noqa: SIM115 (closed in stop)
        command = [sys.executable, FAULT_SERVER, "--port", str(self.port), "--plan", self.plan.model_dump_json()]
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self._log, start_new_session=True,
        )  # fmt: skip
        assert self._process.stdout is not None
        line = self._process.stdout.readline().decode()
        if not line.startswith("listening"):
            self.stop()
            raise RuntimeError(f"the fault server did not start: {line}{Path(self._log.name).read_text()}")
        return self

    @property
    def pid(self) -> int:
        """The server process's id (to read its CPU time, say)."""
        assert self._process is not None, "the server is not running"
        return self._process.pid

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
            self._log.close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, path: str, data: bytes | None = None) -> Any:
        request = urllib.request.Request(self.url + path, data=data, method="POST" if data is not None else "GET")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def requests(self) -> list[RecordedRequest]:
        """Every chat request received since the plan was last set, in arrival order."""
        return [RecordedRequest.model_validate(r) for r in self._call("/_fault/requests")]

    def max_in_flight(self) -> int:
        """The most chat requests it was answering at once since the plan was last set."""
        stats: dict[str, int] = self._call("/_fault/stats")
        return stats["max_in_flight"]

    def set_plan(self, plan: FaultPlan) -> None:
        """Replace the plan and clear the record (the request count starts again at 0)."""
        self.plan = plan
        self._call("/_fault/plan", plan.model_dump_json().encode())


def main(argv: list[str]) -> None:
    """`python fault_server.py --port P [--plan JSON]`; other arguments are ignored, so that the
    file can also stand in for a managed server's launch command (`--model M --host H ...`)."""
    parser = argparse.ArgumentParser(description="glee's fault-injecting OpenAI-compatible mock server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--plan", default="{}", help="a FaultPlan as JSON")
    args, _ = parser.parse_known_args(argv)
    asyncio.run(serve(args.port, FaultPlan.model_validate_json(args.plan)))


if __name__ == "__main__":
    main(sys.argv[1:])
