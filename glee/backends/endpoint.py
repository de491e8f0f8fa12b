"""OpenAIEndpoint: the one client path to every chat model (hosted API, vLLM, llama.cpp).

Every request has a wall-clock deadline (`timeout_s`: connecting, waiting and reading the whole
body, however slowly it trickles in); the client's own timeout is per read, so a server sending
a byte a second would never trip it. Retries are tenacity's, not the openai client's (which is
built with max_retries=0), because glee needs to see each attempt: to give each its own
deadline, to count consecutive transport failures (after `down_after` of them the endpoint is
marked down, and its calls in flight and every later one fail at once with one EndpointDown),
and to refuse a Retry-After longer than `retry_after_max_s` with a message that says so instead
of a count of retries never made. Retried as the client would: connection errors and resets,
timeouts, 408/409/429/5xx (honouring Retry-After and x-should-retry), and 200 replies whose
body is unusable (empty, cut off, not a chat completion). What still fails becomes
InfrastructureError; what can never work (bad key, unknown model) becomes EndpointDown,
remembered so that every later call fails at once with it.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from typing import Any

import openai
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from glee.api_keys import redact
from glee.backends.base import backend_of
from glee.backends.dialects import dialect, schema_kwargs
from glee.backends.spec import EndpointSpec
from glee.errors import ConfigError, EndpointDown, ErrorKind, InfrastructureError
from glee.players.base import LLMCall, Sampling

LOCAL_API_KEY = "not-needed"
"""What a local server without authentication is sent as its key."""

_SCHEMA_CACHE_SIZE = 256
_AUTH: Any = {"security": {"bearer_auth": True}}
"""Request options that send the API key as a bearer token, as chat.completions.create() does."""


class MalformedReply(Exception):
    """A 200 reply that is no chat completion (empty or cut-off body, no choices)."""


class _Message(BaseModel):
    content: str | None = None


class _Choice(BaseModel):
    message: _Message
    finish_reason: str | None = None


class _PromptDetails(BaseModel):
    cached_tokens: int | None = None


class _Usage(BaseModel):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: _PromptDetails | None = None


class ChatReply(BaseModel):
    """The fields of a chat completion that glee reads, validated from the reply body in one step.

    Not the client's ChatCompletion: building that model (the client's recursive, non-validating
    `construct`) took 184 µs per reply here against 4 µs for this one, about 6% of a model call's
    CPU, and glee reads five of its fields. Everything else in the body is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    model: str | None = None
    choices: list[_Choice] = Field(min_length=1)
    usage: _Usage | None = None


class CallTimeout(Exception):
    """A request that did not finish within its wall-clock deadline (`timeout_s`)."""


_RETRIED_STATUS = {408, 409, 429}
_TRANSPORT = (openai.APIConnectionError, CallTimeout)
"""Failures of the connection itself (the openai timeout error is a connection error too)."""


def retry_after_s(exc: BaseException) -> float | None:
    """The delay a 429/503 reply asks for (Retry-After-Ms or Retry-After, in seconds), if any."""
    response = getattr(exc, "response", None)
    if not isinstance(exc, openai.APIStatusError) or response is None:
        return None
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = response.headers.get(header)
        if value is not None:
            try:
                return max(0.0, float(value) / divisor)
            except ValueError:
                continue
    return None


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, MalformedReply | CallTimeout | openai.APIConnectionError):
        return True
    if isinstance(exc, openai.APIStatusError):
        should = exc.response.headers.get("x-should-retry")
        if should in ("true", "false"):
            return should == "true"
        return exc.status_code in _RETRIED_STATUS or exc.status_code >= 500
    return False


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
            max_retries=0,  # glee retries itself (tenacity, below), so that each try is bounded and seen
            http_client=openai.DefaultAioHttpClient() if spec.http_client == "aiohttp" else None,
        )
        self._semaphore = asyncio.Semaphore(spec.max_concurrency)
        self._dialect = dialect(spec)
        self._schema_kwargs: dict[int, tuple[dict[str, Any] | None, dict[str, Any]]] = {}
        self._sampling_kwargs: dict[Sampling, dict[str, Any]] = {}
        self._down: EndpointDown | None = None
        self.transport_failures = 0
        """Consecutive requests that ended in a transport failure (reset by any reply)."""
        self._calls: set[asyncio.Task[Any]] = set()
        """The tasks inside complete(), to fail at once when the endpoint is marked down."""
        self._tripped: set[asyncio.Task[Any]] = set()
        self._backoff = wait_random_exponential(multiplier=0.5, max=8.0)
        self._retrying = AsyncRetrying(
            retry=retry_if_exception(self._retry_this),
            stop=stop_after_attempt(spec.max_retries + 1),
            wait=self._wait,
            reraise=True,
        )

    def _retry_this(self, exc: BaseException) -> bool:
        """Whether to try again: a retryable fault, unless its Retry-After exceeds retry_after_max_s."""
        if self._down is not None or not _retryable(exc):
            return False
        after = retry_after_s(exc)
        return after is None or after <= self.spec.retry_after_max_s

    def _wait(self, state: RetryCallState) -> float:
        """Retry-After when the server gave one (within the cap), else jittered exponential backoff."""
        exc = state.outcome.exception() if state.outcome is not None else None
        after = retry_after_s(exc) if exc is not None else None
        return after if after is not None else float(self._backoff(state))

    def _count(self, exc: BaseException | None) -> None:
        """Count one request's transport failure (or reset the count); mark the endpoint down at down_after."""
        if exc is None or not isinstance(exc, _TRANSPORT):
            self.transport_failures = 0
            return
        self.transport_failures += 1
        if self.transport_failures >= self.spec.down_after and self._down is None:
            where = f"{self.label} at {redact(self.base_url) if self.base_url else 'the OpenAI API'}"
            self._down = EndpointDown(
                f"{where}: marked down after {self.transport_failures} consecutive transport failures "
                f"(endpoint.down_after={self.spec.down_after}; the last: {_describe(exc, self.spec.timeout_s)}); "
                f"its games in flight failed at once and no more are sent"
            )
            self._tripped = self._calls - {asyncio.current_task()}  # this call raises it itself
            for task in self._tripped:
                task.cancel()

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
        # Cached without the seed, which differs on every call (glee.players.base.call_seed).
        shared = sampling if sampling.seed is None else sampling.model_copy(update={"seed": None})
        by_sampling = self._sampling_kwargs.get(shared)
        if by_sampling is None:
            by_sampling = self._sampling_kwargs[shared] = self.backend.sampling_kwargs(shared)
        seed = {} if sampling.seed is None else self.backend.seed_kwargs(sampling.seed)
        return {**cached[1], **by_sampling, **seed}

    async def complete(
        self, messages: list[dict[str, Any]], schema: dict[str, Any] | None, sampling: Sampling
    ) -> LLMCall:
        """One chat completion as an LLMCall holding the reply (the player fills in the rest); see the
        module docstring for what is retried and what is raised."""
        if self._down is not None:
            raise self._down
        kwargs = self._request_kwargs(schema, sampling)
        async with self._semaphore:
            if self._down is not None:  # marked down while this call waited for its turn
                raise self._down
            task = asyncio.current_task()
            assert task is not None
            self._calls.add(task)
            start = time.perf_counter()
            retries = 0
            try:
                # A copy per call: a tenacity controller keeps its state per thread, not per task.
                async for attempt in self._retrying.copy():
                    with attempt:
                        retries = attempt.retry_state.attempt_number - 1
                        reply = await self._attempt(messages, kwargs)
            except asyncio.CancelledError:
                if task in self._tripped and self._down is not None:  # cancelled by the breaker, not by the run
                    self._tripped.discard(task)
                    task.uncancel()
                    raise self._down from None
                raise
            except (MalformedReply, CallTimeout, openai.APIError) as exc:
                if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError | openai.NotFoundError):
                    raise self._translate(exc, retries) from None
                if self._down is not None and isinstance(exc, _TRANSPORT):
                    raise self._down from None
                raise self._translate(exc, retries) from None
            finally:
                self._calls.discard(task)
            latency_ms = (time.perf_counter() - start) * 1000.0
        choice = reply.choices[0]
        usage = reply.usage
        details = usage.prompt_tokens_details if usage is not None else None
        return LLMCall(
            response=_redact(choice.message.content or "", self._client.api_key),
            model=reply.model or self.model,
            prompt_tokens=usage.prompt_tokens if usage is not None else None,
            completion_tokens=usage.completion_tokens if usage is not None else None,
            cached_tokens=details.cached_tokens if details is not None else None,
            latency_ms=latency_ms,
            finish_reason=choice.finish_reason,
        )

    async def _attempt(self, messages: list[dict[str, Any]], kwargs: dict[str, Any]) -> ChatReply:
        """One request within its wall-clock deadline, counted for the breaker."""
        try:
            async with asyncio.timeout(self.spec.timeout_s):
                reply = await self._create(messages, kwargs)
        except TimeoutError:
            exc = CallTimeout(f"no complete reply within timeout_s={self.spec.timeout_s:g} s")
            self._count(exc)
            raise exc from None
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError):
                self._count(exc)
            raise
        self._count(None)
        return reply

    async def _create(self, messages: list[dict[str, Any]], kwargs: dict[str, Any]) -> ChatReply:
        # The client's own post, not chat.completions.create(): create() first runs a TypedDict
        # transform over every message (about 0.15 ms each, and a seat's chat grows every turn),
        # which glee's plain JSON messages do not need. Auth, status errors and the transport are the
        # client's; the body comes back as bytes and is read by ChatReply (see there why).
        body: bytes = await self._client.post(
            "/chat/completions", body={**kwargs, "messages": messages}, cast_to=bytes, options=_AUTH
        )
        return read_reply(body)

    def _translate(self, exc: BaseException, retries: int) -> InfrastructureError:
        """The glee error for what still failed after `retries` retries."""
        where = f"{self.label} at {redact(self.base_url) if self.base_url else 'the OpenAI API'}"
        tries = f"persisted after {retries} retries"
        if isinstance(exc, MalformedReply):
            return InfrastructureError(f"{self.label}: MalformedReply {tries}: {exc}", kind="malformed_reply")
        if isinstance(exc, CallTimeout):
            return InfrastructureError(f"{where}: CallTimeout {tries}: {exc}", kind="timeout")
        assert isinstance(exc, openai.APIError)
        status = getattr(exc, "status_code", None)
        detail = _redact(_server_message(exc), self._client.api_key)
        kind = type(exc).__name__
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
                    f"{where}: {kind} (HTTP {status}): context length exceeded: {detail}",
                    kind="context_length",
                    prompt_tokens=_prompt_tokens(exc, detail),
                )
            return InfrastructureError(
                f"{where}: {kind} (HTTP {status}): request rejected: {detail}", kind="request_rejected"
            )
        if isinstance(exc, openai.APIStatusError):
            after = retry_after_s(exc)
            limit: ErrorKind = "rate_limit" if isinstance(exc, openai.RateLimitError) else "server_error"
            if after is not None and after > self.spec.retry_after_max_s:
                return InfrastructureError(
                    f"{where}: {kind} (HTTP {status}): the server asked to retry after {after:g} s (Retry-After), "
                    f"longer than endpoint.retry_after_max_s={self.spec.retry_after_max_s:g}; not waiting "
                    f"(after {retries} retries): {detail}",
                    kind=limit,
                )
            return InfrastructureError(f"{where}: {kind} (HTTP {status}) {tries}: {detail}", kind=limit)
        # APITimeoutError (a subclass of APIConnectionError), APIConnectionError and the rest.
        timeout = isinstance(exc, openai.APITimeoutError) and timed_out(exc)
        if isinstance(exc, openai.APITimeoutError) and not timeout:
            kind = "APIConnectionError"  # a connection fault the transport raised as a timeout (see timed_out)
        return InfrastructureError(
            f"{where}: {kind} {tries}: {detail}",
            kind="timeout" if timeout else "transport",
        )

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self._client.close()


def read_reply(body: bytes) -> ChatReply:
    """A 200 reply's body as a ChatReply, or MalformedReply saying what is wrong with it."""
    if not body.strip():
        raise MalformedReply("the reply body is empty")
    try:
        return ChatReply.model_validate_json(body)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        if error["type"].startswith("json"):
            raise MalformedReply(f"the reply body is not JSON ({error['msg']})") from None
        where = ".".join(str(part) for part in error["loc"]) or "the body"
        raise MalformedReply(f"the reply is not a chat completion: {where}: {error['msg']}") from None


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
    """`text` with the API key blanked out (some servers echo the key in their error messages, a
    misconfigured proxy in a 200 reply), and any other key-like text and URL password."""
    return redact(text, key) if key and key != LOCAL_API_KEY else redact(text)


def _describe(exc: BaseException, timeout_s: float) -> str:
    """A transport failure in a few words (for the breaker's message)."""
    if isinstance(exc, CallTimeout | openai.APITimeoutError):
        return f"no complete reply within {timeout_s:g} s"
    return type(exc).__name__


def _server_message(exc: openai.APIError) -> str:
    """The server's own error message, on one line and at most 300 characters."""
    message: Any = exc.body
    if isinstance(message, dict):
        message = message.get("error", message)
        if isinstance(message, dict):
            message = message.get("message")
    text = " ".join(str(message or exc.message or "").split())
    return text[:300] + ("…" if len(text) > 300 else "")


_PROMPT_TOKENS = (
    re.compile(r"(\d+) (?:tokens )?in the messages"),  # vLLM: "you requested 4096 tokens (3000 in the messages, ...)"
    re.compile(r"(?:messages|prompt|input)[^.;]*? (?:resulted in|has|have|of|contains?) (\d+) tokens"),  # OpenAI
)


def _prompt_tokens(exc: openai.APIError, detail: str) -> int | None:
    """The prompt's length in tokens as a context-overflow reply states it (llama.cpp's server says
    `n_prompt_tokens` in the body; vLLM and OpenAI in the message), or None."""
    body: Any = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        found = inner.get("n_prompt_tokens") if isinstance(inner, dict) else None
        if isinstance(found, int):
            return found
    for pattern in _PROMPT_TOKENS:
        match = pattern.search(detail)
        if match:
            return int(match.group(1))
    return None


def _is_context_length(exc: openai.APIError, detail: str) -> bool:
    code = getattr(exc, "code", None)
    lowered = detail.lower()
    return code == "context_length_exceeded" or (
        "context" in lowered and ("length" in lowered or "window" in lowered or "exceed" in lowered)
    )
