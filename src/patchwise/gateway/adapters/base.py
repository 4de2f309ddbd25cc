"""What an adapter is, and the pool of SDK clients adapters share.

An adapter translates one call for one slot: ``ChatRequest`` -> SDK call -> ``ChatResult``, and
SDK exceptions -> ``ProviderError``. It holds no policy (no retries, no limits, no failover):
that is the router's job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from patchwise.gateway.thinking import SlotProfile
from patchwise.gateway.types import ChatRequest, ChatResult, Secret, Slot, StreamEvent, Usage


class Adapter(Protocol):
    async def chat(self, slot: Slot, request: ChatRequest, profile: SlotProfile) -> ChatResult: ...

    def stream(
        self, slot: Slot, request: ChatRequest, profile: SlotProfile
    ) -> AsyncIterator[StreamEvent]: ...


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
    if reasoning_tokens is None or (reasoning_tokens == 0 and reasoning_text):
        reasoning_tokens = min(estimate_tokens(reasoning_text), output_tokens or 10**9)
    return Usage(
        calls=1,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        reasoning_tokens=reasoning_tokens,
        cached_tokens=cached_tokens,
        cost_usd=slot.cost_usd(input_tokens, output_tokens),
    )


class ClientPool:
    """SDK clients reused per (wire, base URL, key).

    Creating an SDK client builds an HTTP connection pool; doing it per call would cost a TLS
    handshake each time. Retries are off in every client: the router owns retry policy.
    """

    def __init__(self) -> None:
        # Keyed by the Secret itself (hashable, masked repr): hashing a fingerprint per call
        # would cost a SHA-256 on the hot path.
        self._clients: dict[tuple[str, str, Secret], Any] = {}

    def openai(self, slot: Slot) -> Any:
        key = ("openai", slot.base_url, slot.api_key)
        client = self._clients.get(key)
        if client is None:
            import openai

            client = openai.AsyncOpenAI(
                api_key=slot.api_key.reveal(),
                base_url=slot.base_url,
                max_retries=0,
                timeout=slot.timeout_s,
            )
            self._clients[key] = client
        return client

    def anthropic(self, slot: Slot) -> Any:
        key = ("anthropic", slot.base_url, slot.api_key)
        client = self._clients.get(key)
        if client is None:
            import anthropic

            client = anthropic.AsyncAnthropic(
                api_key=slot.api_key.reveal(),
                base_url=slot.base_url,
                max_retries=0,
                timeout=slot.timeout_s,
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
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()
