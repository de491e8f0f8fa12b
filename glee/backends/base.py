"""Backend: one kind of OpenAI-compatible model server, and the registry of kinds.

A kind says how glee talks to its servers: the structured-output dialect it understands,
how sampling arguments are spelled, which model a spec without one serves, whether glee
starts the server itself (and with which command), and which server arguments only spend
hardware differently (left out of game ids). The engine and the endpoint ask the kind;
nothing else branches on a backend's name.

Adding a backend is one module: subclass Backend (or a kind it resembles), set `name`,
decorate it with @register_backend, and import the module before configs are validated
(glee.backends imports the built-in ones: openai_api, vllm, llamacpp).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from glee.errors import ConfigError
from glee.players.base import Sampling

if TYPE_CHECKING:
    from glee.backends.spec import EndpointSpec

StructuredOutput = Literal["json_schema", "json_object", "vllm", "none"]
"""How to ask for structured output: OpenAI `response_format` json_schema; llama.cpp
server's `{"type": "json_object", "schema": ...}`; vLLM's `extra_body.structured_outputs`;
or none (plain text, parsed). See glee.backends.dialects."""


class Backend:
    """One kind of model server behind an OpenAI-compatible URL (see the module docstring)."""

    name: ClassVar[str]
    """What `endpoint.backend` says in a config, and the part after `@` in agent labels."""
    dialect: ClassVar[StructuredOutput] = "json_schema"
    """The structured-output dialect used when the spec names none."""
    starts_server: ClassVar[bool] = False
    """Whether glee starts the server itself when the spec has no base_url (see launch_command)."""
    needs_base_url: ClassVar[bool] = True
    """Whether a spec without a base_url (and a server glee does not start) is an error."""
    output_limit: ClassVar[str] = "max_tokens"
    """The request field that caps the reply's length."""
    sends_seed: ClassVar[bool] = True
    """Whether the kind's servers take a per-request sampling seed (then every call sends its own)."""
    default_model: ClassVar[str | None] = None
    """The model a spec without one serves; None: a spec must name its model."""
    server_package: ClassVar[str | None] = None
    """The distribution of the server glee starts, whose version runs.versions records."""
    version_path: ClassVar[str | None] = None
    """A GET path where a running server says its own version (None: ask its Python for the package's)."""
    performance_args: ClassVar[frozenset[str]] = frozenset()
    """Server arguments (engine_args) that change speed and memory, not what a model replies:
    changing them must not change game ids, so a sweep can move to another machine and resume."""

    def served_model(self, spec: EndpointSpec) -> str:
        """The model name requests carry."""
        if spec.model is not None:
            return spec.model
        if self.default_model is None:
            raise ConfigError(f"endpoint.model: got None; a {self.name} endpoint needs a model name")
        return self.default_model

    def api_key_env(self, spec: EndpointSpec) -> str | None:
        """The environment variable holding the key (None: the server needs none)."""
        return spec.api_key_env

    def sampling_kwargs(self, sampling: Sampling) -> dict[str, Any]:
        """The request fields for `sampling`."""
        kwargs: dict[str, Any] = {
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            self.output_limit: sampling.max_tokens,
        }
        if sampling.seed is not None:
            kwargs.update(self.seed_kwargs(sampling.seed))
        return kwargs

    def seed_kwargs(self, seed: int) -> dict[str, Any]:
        """The request fields that carry a call's sampling seed (none where the kind takes none)."""
        return {"seed": seed} if self.sends_seed else {}

    def launch_command(self, spec: EndpointSpec, host: str, port: int) -> list[str]:
        """The argv that starts a server for `spec` on host:port (kinds that glee starts)."""
        raise ConfigError(
            f"endpoint.base_url: got None with backend {self.name!r}; glee starts servers only for the backends "
            f"{', '.join(b for b, k in BACKENDS.items() if k.starts_server)}; give this one's base_url"
        )


BACKENDS: dict[str, Backend] = {}
"""Every registered backend kind by name."""

B = TypeVar("B", bound=type[Backend])


def register_backend(kind: B) -> B:
    """Class decorator: make `kind` usable as `endpoint.backend: <kind.name>` (a later one replaces it)."""
    BACKENDS[kind.name] = kind()
    return kind


def backend_of(spec: EndpointSpec) -> Backend:
    """The kind of `spec.backend` (EndpointSpec validates the name, so it is registered)."""
    return BACKENDS[spec.backend]
