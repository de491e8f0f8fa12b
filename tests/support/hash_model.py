"""A loopback OpenAI-compatible chat server whose reply is a pure function of the request.

This is a MOCK of a deterministic model (temperature 0, fixed weights): a real one cannot
be run here at 64 games in flight, and llama.cpp's batched decoding is not bit-stable
across batch compositions anyway. The reply fills the request's JSON schema (any of glee's
dialects) with an instance drawn from a generator seeded by a hash of the messages and the
schema, so the same prompt always gets the same reply, whatever arrives before it. Each
answer waits a hash-derived 0-20 ms, so concurrent requests finish out of order.

Run: `python tests/support/hash_model.py --port P`; it is ready when GET /v1/models answers.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.fault_server import instance, requested_schema

HASH_MODEL = str(Path(__file__).resolve())


def reply(request: dict[str, Any]) -> str:
    schema = requested_schema(request)
    key = json.dumps([request.get("messages"), schema], sort_keys=True)
    rng = random.Random(hashlib.sha256(key.encode()).digest())
    return json.dumps(instance(schema, rng)) if schema else "{}"


async def chat(request: Request) -> JSONResponse:
    body = await request.json()
    text = reply(body)
    digest = hashlib.sha256(text.encode() + json.dumps(body.get("messages")).encode()).digest()
    await asyncio.sleep(digest[0] / 255 * 0.02)
    return JSONResponse({
        "id": "chatcmpl-hash", "object": "chat.completion", "created": 0, "model": body.get("model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": len(json.dumps(body["messages"])) // 4, "completion_tokens": len(text) // 4,
                  "total_tokens": 0},
    })  # fmt: skip


async def models(_: Request) -> JSONResponse:
    return JSONResponse({"object": "list", "data": [{"id": "hash-model", "object": "model", "owned_by": "test"}]})


app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/v1/models", models)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port, log_level="warning")


if __name__ == "__main__":
    main()
