"""The Anthropic Messages wire (Anthropic itself, or Z.AI's Anthropic-compatible endpoint).

Like the OpenAI wire, the SDK gets only its required typed arguments; everything else is the
body :func:`hunkwise.gateway.thinking.build_body` computed, as ``extra_body``.

Named like :mod:`hunkwise.sim.anthropic_wire` on purpose: the client side of the wire here, the
simulator's server side there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from hunkwise.gateway.adapters.base import ClientPool, answer, estimate_tokens, make_usage
from hunkwise.gateway.adapters.translate import malformed_body, translate
from hunkwise.gateway.errors import ProviderError
from hunkwise.gateway.thinking import SlotProfile, build_body, messages_for
from hunkwise.gateway.types import ChatRequest, ChatResult, Slot, StreamEvent, Usage


def _call_args(slot: Slot, request: ChatRequest, profile: SlotProfile) -> dict[str, Any]:
    messages, system = messages_for("anthropic", request)
    body = build_body(slot, request, profile)
    if system is not None:
        body["system"] = system
    extra = {k: v for k, v in body.items() if k != "max_tokens"}
    return {
        "model": slot.model,
        "messages": messages,
        "max_tokens": body["max_tokens"],
        "extra_body": extra,
        "timeout": slot.timeout_s,
    }


def _usage(slot: Slot, input_tokens: int, output_tokens: int, cached: int, reasoning: str | None) -> Usage:
    # Anthropic folds thinking into output_tokens and never reports it apart: estimate it.
    # Its input_tokens leave cache reads out; ours include them (as OpenAI's prompt_tokens do), so
    # one pricing rule bills the cached part at the cached price whatever the wire.
    return make_usage(
        slot,
        input_tokens=input_tokens + cached,
        output_tokens=output_tokens,
        reasoning_tokens=None,
        cached_tokens=cached,
        reasoning_text=reasoning,
    )


class AnthropicWire:
    """The adapter for Anthropic's Messages API (Anthropic itself, Z.AI's compatible endpoint), so slots on
    that wire get the same ``ChatResult`` as any other.
    """

    def __init__(self, clients: ClientPool) -> None:
        self._clients = clients

    async def chat(self, slot: Slot, request: ChatRequest, profile: SlotProfile) -> ChatResult:
        """One non-streaming call; SDK errors and malformed bodies become ``ProviderError`` here, the
        only place that knows this SDK's exceptions.
        """
        client = self._clients.anthropic(slot)
        args = _call_args(slot, request, profile)
        try:
            message = await client.messages.create(**args)
            blocks = None if isinstance(message, (str, bytes)) else getattr(message, "content", None)
            if not isinstance(blocks, list):
                raise malformed_body(slot, message, "not a Messages answer")
            texts: list[str] = []
            thoughts: list[str] = []
            for block in blocks:
                kind = getattr(block, "type", None)
                if kind == "text":
                    texts.append(block.text)
                elif kind == "thinking":
                    thoughts.append(block.thinking)
            usage = getattr(message, "usage", None)
            reasoning = "".join(thoughts) or None
            result_usage = _usage(
                slot,
                int(getattr(usage, "input_tokens", 0) or 0),
                int(getattr(usage, "output_tokens", 0) or 0),
                int(getattr(usage, "cache_read_input_tokens", 0) or 0),
                reasoning,
            )
            model = getattr(message, "model", None)
            stop_reason = getattr(message, "stop_reason", None)
        except Exception as exc:
            raise translate(exc, slot) from exc
        return answer(
            slot,
            content="".join(texts),
            model=model if isinstance(model, str) else None,
            usage=result_usage,
            reasoning=reasoning,
            finish_reason=stop_reason,
        )

    async def stream(
        self, slot: Slot, request: ChatRequest, profile: SlotProfile
    ) -> AsyncIterator[StreamEvent]:
        """One streaming call as ``StreamEvent``s, ending with the usage the stream reported, so streamed
        calls are billed and recorded like plain ones.
        """
        client = self._clients.anthropic(slot)
        args = _call_args(slot, request, profile)
        content: list[str] = []
        reasoning: list[str] = []
        input_tokens = output_tokens = cached = 0
        model = slot.model
        finish: str | None = None
        try:
            stream = await client.messages.create(stream=True, **args)
            async with stream:
                async for event in stream:
                    if event.type == "message_start":
                        model = event.message.model or model
                        input_tokens = int(event.message.usage.input_tokens or 0)
                        cached = int(getattr(event.message.usage, "cache_read_input_tokens", 0) or 0)
                    elif event.type == "content_block_delta":
                        delta = event.delta
                        if delta.type == "text_delta":
                            content.append(delta.text)
                            yield StreamEvent("content", delta.text)
                        elif delta.type == "thinking_delta":
                            reasoning.append(delta.thinking)
                            yield StreamEvent("reasoning", delta.thinking)
                    elif event.type == "message_delta":
                        output_tokens = int(event.usage.output_tokens or 0)
                        finish = event.delta.stop_reason or finish
        except ProviderError:
            raise
        except Exception as exc:
            raise translate(exc, slot) from exc
        if finish is None and not content and not reasoning:
            # A real stream always ends with a finish/stop reason; none and no text means the body
            # was not an event stream at all (a proxy's HTML page): fail over, never answer "".
            raise malformed_body(slot, "", "the stream carried no events")
        text = "".join(content)
        reasoning_text = "".join(reasoning) or None
        if not output_tokens:
            output_tokens = estimate_tokens(text) + estimate_tokens(reasoning_text)
        yield StreamEvent(
            "done",
            result=answer(
                slot,
                content=text,
                model=model,
                usage=_usage(slot, input_tokens, output_tokens, cached, reasoning_text),
                reasoning=reasoning_text,
                finish_reason=finish,
            ),
        )
