"""backends layer: model endpoints (the openai client path), managed servers, structured-output dialects,
and the registry of backend kinds (glee.backends.base), with the built-in ones imported here."""

# The built-in kinds register themselves on import; they come first, so that every spec validates.
from glee.backends import llamacpp, openai_api, vllm
from glee.backends.base import BACKENDS, Backend, backend_of, register_backend
from glee.backends.endpoint import OpenAIEndpoint, endpoint_label, served_model
from glee.backends.managed import ManagedServer
from glee.backends.pool import EndpointPool, is_managed, open_endpoint, shared_server
from glee.backends.spec import EndpointSpec

__all__ = [
    "BACKENDS",
    "Backend",
    "EndpointPool",
    "EndpointSpec",
    "ManagedServer",
    "OpenAIEndpoint",
    "backend_of",
    "endpoint_label",
    "is_managed",
    "llamacpp",
    "open_endpoint",
    "openai_api",
    "register_backend",
    "served_model",
    "shared_server",
    "vllm",
]
