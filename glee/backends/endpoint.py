"""OpenAIEndpoint: the one client path to every chat model (hosted API, vLLM, llama.cpp).

Retries are layered. The openai client itself retries what arrives as a transport or status
fault (connection errors and resets, timeouts, 408/409/429/5xx) with exponential backoff and
jitter, honouring Retry-After; glee does not re-implement that. The client does not retry a
200 reply whose body is unusable (empty, cut off, not a chat completion), so tenacity retries
those. What still fails becomes InfrastructureError; what can never work (bad key, unknown
model) becomes EndpointDown, remembered so that every later call fails at once with it.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import openai
from openai.types.chat import ChatCompletion
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from glee.backends.base import backend_of
from glee.backends.dialects import dialect, schema_kwargs
from glee.backends.spec import EndpointSpec
from glee.errors import ConfigError, EndpointDown, InfrastructureError
from glee.players.base import LLMCall, Sampling

LOCAL_API_KEY = "not-needed"
"""What a local server without authentication is sent as its key."""

_SCHEMA_CACHE_SIZE = 256
_AUTH: Any = {"security": {"bearer_auth": True}}
"""Request options that send the API key as a bearer token, as chat.completions.create() does."""


class MalformedReply(Exception):
    """A 200 reply that is no chat completion (empty or cut-off body, no choices)."""


def served_model(spec: EndpointSpec) -> str:
    """The model name requests carry (the backend kind's choice, e.g. a llamacpp GGUF path's file stem)."""
    return backend_of(spec).served_model(spec)


def endpoint_label(spec: EndpointSpec) -> str:
    """The agent label of the model behind `spec`, e.g. `SmolLM2-135M-Instruct@llamacpp`."""
    return f"{served_model(spec).rsplit('/', 1)[-1]}@{spec.backend}"


def read_api_key(spec: EndpointSpec) -> str:
    """The key from the environment variable `spec.api_key_env` names (a dummy for local servers)."""
    variable = backend_of(spec).api_key_env(spec)
    if variable is None:
        return LOCAL_API_KEY
    key = os.environ.get(variable)
    if not key:
        raise ConfigError(
            f"endpoint.api_key_env: the environment variable {variable} is not set or empty; "
            f"export the API key for {endpoint_label(spec)} as {variable}"
        )
    return key


class OpenAIEndpoint:
    """A chat model behind an OpenAI-compatible URL (implements players.base.ChatEndpoint).

    One instance per endpoint spec and run, shared by all games that use it: it holds the
    client (one connection pool) and the semaphore that caps requests in flight.
    """

    def __init__(self, spec: EndpointSpec, base_url: str | None = None) -> None:
        self.spec = spec
        self.backend = backend_of(spec)
        self.label = endpoint_label(spec)
        self.model = served_model(spec)
        url = base_url or spec.base_url
        if url is None and self.backend.needs_base_url:
            started = "let glee start it (EndpointPool)" if self.backend.starts_server else "glee cannot start it"
            raise ConfigError(
                f"endpoint.base_url: got None for an unmanaged {spec.backend} endpoint; "
                f"give the server's URL, or {started}"
            )
        self.base_url = url
        # The key lives only inside the client, which must send it; glee keeps no copy of it.
        self._client = openai.AsyncOpenAI(
            api_key=read_api_key(spec),
            base_url=url,
            timeout=spec.timeout_s,
            max_retries=spec.max_retries,
            http_client=openai.DefaultAioHttpClient() if spec.http_client == "aiohttp" else None,
        )
        self._semaphore = asyncio.Semaphore(spec.max_concurrency)
        self._dialect = dialect(spec)
        self._schema_kwargs: dict[int, tuple[dict[str, Any] | None, dict[str, Any]]] = {}
        self._sampling_kwargs: dict[Sampling, dict[str, Any]] = {}
        self._down: EndpointDown | None = None
        # Malformed bodies are retried here because the client does not (see the module docstring).
        self._retrying = AsyncRetrying(
            retry=retry_if_exception_type(MalformedReply),
            stop=stop_after_attempt(spec.max_retries + 1),
            wait=wait_random_exponential(multiplier=0.5, max=8.0),
            reraise=True,
        )

    def __repr__(self) -> str:
        return f"OpenAIEndpoint({self.label!r}, base_url={self.base_url!r})"

    def _request_kwargs(self, schema: dict[str, Any] | None, sampling: Sampling) -> dict[str, Any]:
        """The request body without messages, built once per schema object and sampling."""
        cached = self._schema_kwargs.get(id(schema))
        # Holding the schema in the cache keeps its id from being reused by another object.
        if cached is None or cached[0] is not schema:
            if len(self._schema_kwargs) >= _SCHEMA_CACHE_SIZE:
                self._schema_kwargs.clear()
            fields = {"model": self.model, **schema_kwargs(self._dialect, schema)}
            fields.update(fields.pop("extra_body", {}))  # extra_body fields go in the request body as they are
            cached = (schema, fields)
            self._schema_kwargs[id(schema)] = cached
        by_sampling = self._sampling_kwargs.get(sampling)
        if by_sampling is None:
            by_sampling = self._sampling_kwargs[sampling] = self.backend.sampling_kwargs(sampling)
        return {**cached[1], **by_sampling}

    async def complete(
        self, messages: list[dict[str, Any]], schema: dict[str, Any] | None, sampling: Sampling
    ) -> LLMCall:
        """One chat completion as an LLMCall holding the reply (the player fills in the rest); see the
        module docstring for what is retried and what is raised."""
        if self._down is not None:
            raise self._down
        kwargs = self._request_kwargs(schema, sampling)
        async with self._semaphore:
            start = time.perf_counter()
            try:
                # A copy per call: a tenacity controller keeps its state per thread, not per task.
                async for attempt in self._retrying.copy():
                    with attempt:
                        reply = await self._create(messages, kwargs)
            except MalformedReply as exc:
                raise InfrastructureError(
                    f"{self.label}: MalformedReply persisted after {self.spec.max_retries} retries: {exc}",
                    kind="malformed_reply",
                ) from None
            except openai.APIError as exc:
                raise self._translate(exc) from None
            latency_ms = (time.perf_counter() - start) * 1000.0
        choice = reply.choices[0]
        usage = reply.usage
        details = usage.prompt_tokens_details if usage is not None else None
        return LLMCall(
            response=choice.message.content or "",
            model=reply.model or self.model,
            prompt_tokens=usage.prompt_tokens if usage is not None else None,
            completion_tokens=usage.completion_tokens if usage is not None else None,
            cached_tokens=details.cached_tokens if details is not None else None,
            latency_ms=latency_ms,
            finish_reason=choice.finish_reason,
        )

    async def _create(self, messages: list[dict[str, Any]], kwargs: dict[str, Any]) -> ChatCompletion:
        try:
            # The client's own post, not chat.completions.create(): create() first runs a TypedDict
            # transform over every message (about 0.15 ms each, and a seat's chat grows every turn),
            # which glee's plain JSON messages do not need. Retries, auth and parsing are the client's.
            reply: Any = await self._client.post(
                "/chat/completions", body={**kwargs, "messages": messages}, cast_to=ChatCompletion, options=_AUTH
            )
        except ValueError as exc:  # the body was not JSON (json.JSONDecodeError)
            raise MalformedReply(f"the reply body is not JSON ({type(exc).__name__})") from None
        if not isinstance(reply, ChatCompletion):
            raise MalformedReply(f"the reply is {type(reply).__name__}, not a chat completion")
        if not getattr(reply, "choices", None) or getattr(reply.choices[0], "message", None) is None:
            raise MalformedReply("the reply has no choices")
        return reply

    def _translate(self, exc: openai.APIError) -> InfrastructureError:
        """The glee error for a client error that survived the client's retries."""
        status = getattr(exc, "status_code", None)
        detail = _redact(_server_message(exc), self._client.api_key)
        kind = type(exc).__name__
        where = f"{self.label} at {self.base_url or 'the OpenAI API'}"
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            variable = self.spec.api_key_env or "(no key variable set)"
            self._down = EndpointDown(
                f"{where}: {kind} (HTTP {status}): the endpoint refused the API key from {variable}: {detail}"
            )
            return self._down
        if isinstance(exc, openai.NotFoundError):
            self._down = EndpointDown(
                f"{where}: {kind} (HTTP 404): unknown model {self.model!r} or wrong base_url: {detail}"
            )
            return self._down
        if isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
            if _is_context_length(exc, detail):
                return InfrastructureError(
                    f"{where}: {kind} (HTTP {status}): context length exceeded: {detail}", kind="context_length"
                )
            return InfrastructureError(
                f"{where}: {kind} (HTTP {status}): request rejected: {detail}", kind="request_rejected"
            )
        if isinstance(exc, openai.APIStatusError):
            return InfrastructureError(
                f"{where}: {kind} (HTTP {status}) persisted after {self.spec.max_retries} retries: {detail}",
                kind="rate_limit" if isinstance(exc, openai.RateLimitError) else "server_error",
            )
        # APITimeoutError (a subclass of APIConnectionError), APIConnectionError and the rest.
        timeout = isinstance(exc, openai.APITimeoutError) and timed_out(exc)
        if isinstance(exc, openai.APITimeoutError) and not timeout:
            kind = "APIConnectionError"  # a connection fault the transport raised as a timeout (see timed_out)
        return InfrastructureError(
            f"{where}: {kind} persisted after {self.spec.max_retries} retries: {detail}",
            kind="timeout" if timeout else "transport",
        )

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self._client.close()


def timed_out(exc: BaseException) -> bool:
    """Whether a client timeout error comes from a timeout. The aiohttp transport (httpx-aiohttp 0.2)
    hands every aiohttp connection error, a reset or a closed connection too, to the client as
    httpx.ConnectTimeout, so the aiohttp error it was raised from decides: a connection error that
    is no TimeoutError is a transport fault."""
    cause = exc.__cause__ or exc.__context__
    seen = 0
    while cause is not None and seen < 10:
        if isinstance(cause, TimeoutError):
            return True
        if type(cause).__module__.startswith("aiohttp"):
            return False
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return True


def _redact(text: str, key: str) -> str:
    """`text` with the API key blanked out (some servers echo the key in their error messages)."""
    return text.replace(key, "***") if key and key != LOCAL_API_KEY else text


def _server_message(exc: openai.APIError) -> str:
    """The server's own error message, on one line and at most 300 characters."""
    message: Any = exc.body
    if isinstance(message, dict):
        message = message.get("error", message)
        if isinstance(message, dict):
            message = message.get("message")
    text = " ".join(str(message or exc.message or "").split())
    return text[:300] + ("…" if len(text) > 300 else "")


def _is_context_length(exc: openai.APIError, detail: str) -> bool:
    code = getattr(exc, "code", None)
    lowered = detail.lower()
    return code == "context_length_exceeded" or (
        "context" in lowered and ("length" in lowered or "window" in lowered or "exceed" in lowered)
    )
