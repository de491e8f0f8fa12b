"""llamacpp_harness_efficiency: tokens/s of LLM players through the harness over tokens/s of
plain client calls sending the same requests, against one real llama.cpp server with SmolLM2.

Both run one request at a time (llama-cpp-python's server decodes one at a time) and in the
same order, so the server's prompt cache helps both alike. Tokens are the server's own count
(prompt + completion) per request. The sweep runs twice (greedy decoding plays the same
games) around the plain pass, and the two harness rates are averaged, so that a change in the
shared machine's load during the measurement weighs on both sides alike.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import openai

from glee.backends import ManagedServer, served_model
from glee.engine.players import player_factory
from glee.engine.scheduler import run_async
from glee.engine.specs import GameSet, PlayerSpec, RunConfig
from glee.players.base import Sampling
from tests.bench.figures import Figure, emit
from tests.bench.llm import RecordingEndpoint
from tests.support.llamacpp import SMOLLM2


async def plain(base_url: str, sent: list[tuple[list[dict[str, Any]], dict[str, Any]]]) -> tuple[int, float]:
    """The same requests through a bare AsyncOpenAI client, one at a time: tokens and seconds."""
    client = openai.AsyncOpenAI(api_key="not-needed", base_url=base_url, timeout=300)
    tokens = 0
    start = time.perf_counter()
    for messages, kwargs in sent:
        reply = await client.chat.completions.create(messages=messages, **kwargs)  # type: ignore[arg-type]
        assert reply.usage is not None
        tokens += reply.usage.prompt_tokens + reply.usage.completion_tokens
    seconds = time.perf_counter() - start
    await client.close()
    return tokens, seconds


async def measure(server: ManagedServer, db: Path) -> tuple[float, float, int, int]:
    spec = server.spec.model_copy(update={"base_url": server.base_url, "max_concurrency": 1})
    llm = PlayerSpec(kind="llm", endpoint=spec, sampling=Sampling(temperature=0.0, max_tokens=64, seed=0))
    config = RunConfig(
        games=[
            GameSet(family="bargaining", fixed={"max_rounds": 3, "money": 100}),
            GameSet(family="negotiation", fixed={"max_rounds": 2, "price_scale": 100}),
        ],
        pairs=[(llm, PlayerSpec(strategy="spe")), (PlayerSpec(strategy="spe"), llm)],
        n_games=1,
        db=db,
        max_games_in_flight=1,
        progress=False,
    )
    rates = []
    sent: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []
    hello = [{"role": "user", "content": "Hello"}]
    await plain(server.base_url, [(hello, {"model": served_model(spec), "max_tokens": 4})])  # loads the model
    for i in range(2):
        endpoint = RecordingEndpoint(spec)
        db_i = db.with_name(f"{db.stem}{i}.duckdb")
        summary = await run_async(config.model_copy(update={"db": db_i}), make_player=player_factory({spec: endpoint}))
        await endpoint.aclose()
        rates.append((summary.prompt_tokens + summary.completion_tokens) / summary.wall_s)
        if i == 0:
            sent = endpoint.sent
            plain_tokens, plain_s = await plain(server.base_url, sent)
    return sum(rates) / len(rates), plain_tokens / plain_s, len(sent), summary.played


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = ManagedServer(SMOLLM2, log_dir=Path(tmp))
        asyncio.run(server.start())
        try:
            harness, bare, calls, games = asyncio.run(measure(server, Path(tmp) / "smol.duckdb"))
        finally:
            server.stop_now()
    emit(
        Figure(
            name="llamacpp_harness_efficiency",
            value=harness / bare,
            unit="ratio",
            target=0.9,
            note=f"SmolLM2-135M-Instruct on llama.cpp: {games} games (SmolLM2 against the spe baseline, "
            f"in either seat), {calls} calls per pass; "
            f"{harness:.0f} tokens/s through the harness (rules, prompts, parsing, database included) over "
            f"{bare:.0f} tokens/s of the same requests sent by a bare AsyncOpenAI client",
        )
    )


if __name__ == "__main__":
    main()
