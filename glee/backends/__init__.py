"""backends layer: model endpoints (the openai client path), managed servers, structured-output dialects."""

from glee.backends.endpoint import OpenAIEndpoint, endpoint_label, served_model
from glee.backends.managed import ManagedServer
from glee.backends.pool import EndpointPool, is_managed, open_endpoint, shared_server
from glee.backends.spec import EndpointSpec

__all__ = [
    "EndpointPool",
    "EndpointSpec",
    "ManagedServer",
    "OpenAIEndpoint",
    "endpoint_label",
    "is_managed",
    "open_endpoint",
    "served_model",
    "shared_server",
]
