"""How an endpoint is asked for structured output, as `chat.completions.create` kwargs (sampling
arguments are each backend kind's own: glee.backends.base.Backend.sampling_kwargs).

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

from glee.backends.base import StructuredOutput, backend_of
from glee.backends.spec import EndpointSpec

LLAMACPP_MAX_STRING = 500
"""The longest maxLength sent to llama.cpp's grammar converter (1000 works, 2000 crashes it)."""


def dialect(spec: EndpointSpec) -> StructuredOutput:
    """The structured-output dialect `spec` uses (its own, or its backend's default)."""
    return spec.structured_output or backend_of(spec).dialect


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
