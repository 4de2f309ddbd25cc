"""The OpenAI chat-completions wire: Z.AI (both plans), any OpenAI-compatible server, OpenAI.

Only ``model`` and ``messages`` go through the SDK's typed arguments; every other parameter is
the body :func:`hunkwise.gateway.thinking.build_body` computed, sent as ``extra_body`` so the
request on the wire is exactly what :func:`preview_request_body` shows.

Named like :mod:`hunkwise.sim.openai_wire` on purpose: the client side of the wire here, the
simulator's server side there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from hunkwise.gateway.adapters.base import ClientPool, answer, estimate_tokens, make_usage
from hunkwise.gateway.adapters.translate import malformed_body, translate
from hunkwise.gateway.errors import ErrorKind, ProviderError
from hunkwise.gateway.thinking import SlotProfile, build_body, messages_for
from hunkwise.gateway.types import ChatRequest, ChatResult, Slot, StreamEvent, Usage


def _extra(obj: Any, name: str) -> Any:
    """A field the SDK's models do not declare (Z.AI's ``reasoning_content``)."""
    value = getattr(obj, name, None)
    if value is None:
        extra = getattr(obj, "model_extra", None) or {}
        value = extra.get(name)
    return value


def _usage(slot: Slot, usage: Any, reasoning_text: str | None, content: str) -> Usage:
    if usage is None:  # some compatible servers omit usage: estimate rather than report zero
        out = estimate_tokens(content) + estimate_tokens(reasoning_text)
        return make_usage(
            slot,
            input_tokens=0,
            output_tokens=out,
            reasoning_tokens=None,
            cached_tokens=0,
            reasoning_text=reasoning_text,
        )
    details = getattr(usage, "completion_tokens_details", None)
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    return make_usage(
        slot,
        input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        reasoning_tokens=getattr(details, "reasoning_tokens", None) if details else None,
        cached_tokens=int(getattr(prompt_details, "cached_tokens", 0) or 0) if prompt_details else 0,
        reasoning_text=reasoning_text,
    )


class OpenAIWire:
    """The adapter for the OpenAI chat-completions wire, which Z.AI, OpenAI
    and self-hosted servers all speak.
    """

    def __init__(self, clients: ClientPool) -> None:
        self._clients = clients

    async def chat(self, slot: Slot, request: ChatRequest, profile: SlotProfile) -> ChatResult:
        """One non-streaming call; SDK errors, Z.AI business codes and malformed
        bodies become ``ProviderError`` here, once.
        """
        client = self._clients.openai(slot)
        messages, _ = messages_for("openai", request)
        body = build_body(slot, request, profile)
        try:
            response = await client.chat.completions.create(
                model=slot.model, messages=messages, extra_body=body, timeout=slot.timeout_s
            )
            choices = False if isinstance(response, (str, bytes)) else getattr(response, "choices", False)
            if choices is False or (choices is not None and not isinstance(choices, list)):
                raise malformed_body(slot, response, "not a chat completion")
            if not choices:
                raise ProviderError(
                    ErrorKind.TRANSIENT,
                    "the provider answered without any choice",
                    provider=slot.provider,
                    model=slot.model,
                    slot=slot.name,
                )
            choice = choices[0]
            message = getattr(choice, "message", None)
            if message is None:
                raise malformed_body(slot, response, "a choice without a message")
            content = getattr(message, "content", None) or ""
            if not isinstance(content, str):
                raise malformed_body(slot, response, "a message whose content is not text")
            reasoning = _extra(message, "reasoning_content") or None
            usage = _usage(slot, getattr(response, "usage", None), reasoning, content)
            model = getattr(response, "model", None)
            finish_reason = getattr(choice, "finish_reason", None)
        except Exception as exc:
            raise translate(exc, slot) from exc
        return answer(
            slot,
            content=content,
            model=model if isinstance(model, str) else None,
            usage=usage,
            reasoning=reasoning,
            finish_reason=finish_reason,
        )

    async def stream(
        self, slot: Slot, request: ChatRequest, profile: SlotProfile
    ) -> AsyncIterator[StreamEvent]:
        """One streaming call as ``StreamEvent``s, asking for usage in the stream where the provider
        needs asking, so streamed calls are billed too.
        """
        client = self._clients.openai(slot)
        messages, _ = messages_for("openai", request)
        body = build_body(slot, request, profile)
        content: list[str] = []
        reasoning: list[str] = []
        usage_obj: Any = None
        model = slot.model
        finish: str | None = None
        try:
            stream = await client.chat.completions.create(
                model=slot.model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
                extra_body=body,
                timeout=slot.timeout_s,
            )
            async with stream:
                async for chunk in stream:
                    model = chunk.model or model
                    if chunk.usage is not None:
                        usage_obj = chunk.usage
                    for choice in chunk.choices:
                        delta = choice.delta
                        think = _extra(delta, "reasoning_content")
                        if think:
                            reasoning.append(think)
                            yield StreamEvent("reasoning", think)
                        if delta.content:
                            content.append(delta.content)
                            yield StreamEvent("content", delta.content)
                        finish = choice.finish_reason or finish
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
        result = answer(
            slot,
            content=text,
            model=model,
            usage=_usage(slot, usage_obj, reasoning_text, text),
            reasoning=reasoning_text,
            finish_reason=finish,
        )
        yield StreamEvent("done", result=result)
