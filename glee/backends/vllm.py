"""vLLM's OpenAI-compatible server (`vllm serve`), started by glee on GPU hosts or given by URL."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from glee.backends.base import Backend, StructuredOutput, register_backend
from glee.backends.spec import EndpointSpec
from glee.errors import ConfigError


def vllm_flags(args: dict[str, Any]) -> list[str]:
    """vLLM takes `--kebab-case value`; booleans are `--flag` / `--no-flag` (argparse BooleanOptionalAction)."""
    flags: list[str] = []
    for name, value in args.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            flags.append(flag)
        elif value is False:
            flags.append("--no-" + name.replace("_", "-"))
        elif isinstance(value, list | tuple):
            flags += [flag, *(str(v) for v in value)]
        else:
            flags += [flag, json.dumps(value) if isinstance(value, dict) else str(value)]
    return flags


@register_backend
class VLLMBackend(Backend):
    """vLLM: structured output through `structured_outputs` (glee.backends.dialects), a per-request
    `seed` (SamplingParams.seed, which vLLM's OpenAI server takes in the request body), and the server
    started by glee when the spec has no base_url.

    The CPU build honours per-request seeds too; until vLLM fixed its CPU sampler (August 2026) a
    seeded request lost its seed when batched with an unseeded one, and glee sends no unseeded ones."""

    server_package = "vllm"
    version_path = "/version"
    name = "vllm"
    dialect: ClassVar[StructuredOutput] = "vllm"
    starts_server = True
    performance_args = frozenset(
        {
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

    def launch_command(self, spec: EndpointSpec, host: str, port: int) -> list[str]:
        if spec.model is None:
            raise ConfigError("endpoint.model: got None; a managed vllm endpoint needs a model (name or folder)")
        head = [*spec.launch, "--model", spec.model] if spec.launch else ["vllm", "serve", spec.model]
        return [*head, "--host", host, "--port", str(port), *vllm_flags(spec.engine_args)]
