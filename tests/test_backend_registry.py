"""Backend kinds are registered, not enumerated: a kind defined here, in a test module, is usable
from a config like the built-in ones, and the built-in kinds hold what differs between them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from glee.backends import BACKENDS, EndpointSpec, backend_of, is_managed, register_backend
from glee.backends.base import StructuredOutput
from glee.backends.dialects import dialect
from glee.backends.openai_api import OpenAIBackend
from glee.config import validate
from glee.engine.scheduler import run
from glee.errors import ConfigError
from glee.players.base import Sampling
from glee.store import open_store
from tests.support.fault_server import FaultPlan, FaultServer


@register_backend
class ToyBackend(OpenAIBackend):
    """A toy kind: OpenAI's wire format (a thin subclass), said to be a server of its own. Its server
    is the loopback fault server (a mock). It asks for json_object output and spells the output limit
    `max_tokens`, so that a test can see that its own choices, not openai's, reach the requests."""

    name = "toy"
    dialect: ClassVar[StructuredOutput] = "json_object"
    needs_base_url = True
    output_limit = "max_tokens"
    sends_seed = False
    performance_args = frozenset({"toy_threads"})


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer(FaultPlan(models=["toy-model"])) as running:
        yield running


def test_a_kind_registered_in_a_test_module_plays_through_a_config(tmp_path: Path, server: FaultServer) -> None:
    overrides = [
        "experiment=single",
        "n_games=1",
        "game=bargaining",
        "player@player_1=gpt-4o-mini",
        "player@player_2=spe",
        "player_1.endpoint.backend=toy",
        f"player_1.endpoint.base_url={server.base_url}",
        "player_1.endpoint.model=toy-model",
        "player_1.endpoint.api_key_env=null",
        "player_1.sampling.seed=5",
        "+player_1.endpoint.engine_args.toy_threads=4",
        "progress=false",
        f"db={tmp_path / 'toy.duckdb'}",
    ]
    config = validate(overrides)
    summary = run(config)
    assert summary.failed == 0 and summary.completed + summary.forfeit == summary.planned >= 1
    with open_store(config.db, read_only=True) as store:
        labels = store.con.execute("SELECT DISTINCT player_1 FROM games").fetchall()
        calls = store.con.execute("SELECT count(*) FROM llm_calls WHERE model = 'toy-model'").fetchone()
    assert labels == [("toy-model@toy",)]
    assert calls is not None and calls[0] >= 1
    bodies = [json.loads(r.body) for r in server.requests()]
    assert bodies and all(b["response_format"]["type"] == "json_object" for b in bodies)
    assert all("max_tokens" in b and "max_completion_tokens" not in b and "seed" not in b for b in bodies)
    # The kind's own performance arguments stay out of game ids: another thread count, the same games.
    more = [o.replace("toy_threads=4", "toy_threads=64") for o in overrides]
    again = validate(more)
    assert again != config
    assert [s.game_id for s in _plan(again)] == [s.game_id for s in _plan(config)]


def _plan(config: Any) -> list[Any]:
    from glee.engine.plan import plan

    return plan(config)


def test_an_unknown_kind_is_one_line_naming_the_registered_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        validate(["player@player_1=gpt-4o-mini", "player_1.endpoint.backend=tpu"])
    message = str(caught.value)
    assert "backend" in message and "'tpu'" in message
    assert all(name in message for name in ("openai", "vllm", "llamacpp", "toy"))


@pytest.mark.parametrize(
    ("backend", "kind_dialect", "limit", "seed", "managed"),
    [
        ("openai", "json_schema", "max_completion_tokens", True, False),
        ("vllm", "vllm", "max_tokens", True, True),
        ("llamacpp", "json_object", "max_tokens", True, True),
        ("toy", "json_object", "max_tokens", False, False),
    ],
)
def test_each_kind_holds_its_dialect_sampling_and_whether_glee_starts_it(
    backend: str, kind_dialect: str, limit: str, seed: bool, managed: bool
) -> None:
    spec = EndpointSpec(backend=backend, model="m")
    kind = backend_of(spec)
    assert BACKENDS[backend] is kind and kind.name == backend
    assert dialect(spec) == kind_dialect
    sent = kind.sampling_kwargs(Sampling(max_tokens=77, seed=3))
    assert sent[limit] == 77 and ("seed" in sent) == seed
    assert is_managed(spec) == managed
    assert is_managed(spec.model_copy(update={"base_url": "http://127.0.0.1:1/v1"})) is False
    if not managed:
        with pytest.raises(ConfigError, match=r"endpoint\.base_url: got None"):
            kind.launch_command(spec, "127.0.0.1", 1)


def test_hardware_arguments_are_each_kinds_own() -> None:
    """A kind leaves only its own performance arguments out of game ids."""
    args = {"n_threads": 8, "tensor_parallel_size": 2, "dtype": "float16"}
    llamacpp = EndpointSpec(backend="llamacpp", engine_args=args).model_engine_args()
    vllm = EndpointSpec(backend="vllm", model="m", engine_args=args).model_engine_args()
    assert llamacpp == {"tensor_parallel_size": 2, "dtype": "float16"}
    assert vllm == {"n_threads": 8, "dtype": "float16"}
