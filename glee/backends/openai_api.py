"""The OpenAI API, and any hosted API that speaks it (give its base_url)."""

from __future__ import annotations

from typing import ClassVar

from glee.backends.base import Backend, StructuredOutput, register_backend
from glee.backends.spec import EndpointSpec


@register_backend
class OpenAIBackend(Backend):
    """A hosted chat API: never started by glee; no base_url means the OpenAI API itself, with the
    key in OPENAI_API_KEY unless the spec names another variable. The API names the output limit
    `max_completion_tokens` (its reasoning models reject `max_tokens`)."""

    name = "openai"
    dialect: ClassVar[StructuredOutput] = "json_schema"
    needs_base_url = False
    output_limit = "max_completion_tokens"

    def api_key_env(self, spec: EndpointSpec) -> str | None:
        if spec.api_key_env is None and spec.base_url is None:
            return "OPENAI_API_KEY"
        return spec.api_key_env
