"""What an adapter is, and the pool of SDK clients adapters share.

An adapter translates one call for one slot: ``ChatRequest`` -> SDK call -> ``ChatResult``, and
SDK exceptions -> ``ProviderError``. It holds no policy (no retries, no limits, no failover):
that is the router's job.

Named like :mod:`hunkwise.gateway.limits.base` on purpose: ``base`` is the interface of its
subpackage (adapters here, limits backends there).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from hunkwise.gateway.thinking import SlotProfile
from hunkwise.gateway.types import ChatRequest, ChatResult, Secret, Slot, StreamEvent, Usage


class Adapter(Protocol):
    """The one interface the router calls, so adding a wire never touches retry, limit or failover code."""

    async def chat(self, slot: Slot, request: ChatRequest, profile: SlotProfile) -> ChatResult:
        """One call to one slot, no policy: retries and failover are the router's."""

    def stream(self, slot: Slot, request: ChatRequest, profile: SlotProfile) -> AsyncIterator[StreamEvent]:
        """The same call streamed, for ``hunkwise chat`` to print as the answer arrives."""


def estimate_tokens(text: str | None) -> int:
    """A provider-neutral estimate (~4 characters per token) for when a count is not reported.

    GLM has its own tokenizer and tiktoken needs the internet, so a cheap heuristic is the honest
    option; it is only used for reasoning tokens a provider folds into its output count.
    """
    return (len(text) + 3) // 4 if text else 0


def make_usage(
    slot: Slot,
    *,
    input_tokens: int,
    output_tokens: int,
    reasoning_tokens: int | None,
    cached_tokens: int,
    reasoning_text: str | None,
) -> Usage:
    """Usage for one call, estimating reasoning tokens from the reasoning text when the provider
    reports none, so thinking is never counted as free.
    """
    if reasoning_tokens is None or (reasoning_tokens == 0 and reasoning_text):
        reasoning_tokens = min(estimate_tokens(reasoning_text), output_tokens or 10**9)
    return Usage(
        calls=1,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        reasoning_tokens=reasoning_tokens,
        cached_tokens=cached_tokens,
        cost_usd=slot.cost_usd(input_tokens, output_tokens, cached_tokens),
    )


TransportFactory = Callable[[Slot], Any]
"""``factory(slot)`` -> an ``httpx2.AsyncBaseTransport`` for that slot's client, or ``None`` for the
SDK's default. Both SDKs in this venv (openai 3.x, anthropic 2.x) speak ``httpx2``."""


def answer(
    slot: Slot,
    *,
    content: str,
    model: str | None,
    usage: Usage,
    reasoning: str | None,
    finish_reason: str | None,
) -> ChatResult:
    """The result both wires build, answered by ``slot``; the router fills ``attempts``."""
    return ChatResult(
        content=content,
        model=model or slot.model,
        provider=slot.provider,
        slot=slot.name,
        usage=usage,
        attempts=[],
        reasoning=reasoning,
        finish_reason=finish_reason,
    )


class ClientPool:
    """SDK clients reused per (wire, base URL, key).

    Creating an SDK client builds an HTTP connection pool; doing it per call would cost a TLS
    handshake each time. Retries are off in every client: the router owns retry policy.

    ``transport_factory`` lets a caller decide how each slot's client connects (the server's
    connect-time SSRF guard, :func:`hunkwise.config.ssrf_connect.connect_guard`) without the
    gateway knowing about organizations or policies.
    """

    def __init__(self, transport_factory: TransportFactory | None = None) -> None:
        # Keyed by the Secret itself (hashable, masked repr): hashing a fingerprint per call
        # would cost a SHA-256 on the hot path.
        self._clients: dict[tuple[str, str, Secret], Any] = {}
        self._transport_factory = transport_factory

    def openai(self, slot: Slot) -> Any:
        """The shared OpenAI SDK client for this slot's endpoint and key, so
        connections are reused across calls.
        """
        return self._client("openai", slot)

    def anthropic(self, slot: Slot) -> Any:
        """The shared Anthropic SDK client for this slot's endpoint and key, so
        connections are reused across calls.
        """
        return self._client("anthropic", slot)

    def _client(self, wire: str, slot: Slot) -> Any:
        key = (wire, slot.base_url, slot.api_key)
        client = self._clients.get(key)
        if client is None:
            import importlib

            sdk = importlib.import_module(wire)
            cls = sdk.AsyncOpenAI if wire == "openai" else sdk.AsyncAnthropic
            extra: dict[str, Any] = {}
            transport = self._transport_factory(slot) if self._transport_factory else None
            if transport is not None:
                # The SDK's own client class keeps its defaults (timeouts, limits, redirects).
                extra["http_client"] = sdk.DefaultAsyncHttpxClient(transport=transport)
            client = cls(
                api_key=slot.api_key.reveal(),
                base_url=slot.base_url,
                max_retries=0,
                timeout=slot.timeout_s,
                **extra,
            )
            self._clients[key] = client
        return client

    def warm(self, wire: str, slot: Slot) -> None:
        """Create the slot's client now (importing its SDK, ~1 s the first time), so that cost
        is paid once up front and never shows up in a call's measured latency."""
        getattr(self, wire)(slot)

    def __len__(self) -> int:
        return len(self._clients)

    async def aclose(self) -> None:
        """Close every client the pool made, so a finished job or test leaves no open sockets behind."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()
