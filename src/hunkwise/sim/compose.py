"""Turn a validated chat call into the reply and its token usage (protocol-neutral)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from hunkwise.catalog.loader import ModelCard
from hunkwise.sim.model import answer
from hunkwise.sim.requests import ChatCall
from hunkwise.sim.tokens import count_messages, count_tokens

# How much longer the simulated reasoning is per OpenAI reasoning_effort level: the reasoning
# text is the same, only the reported reasoning token count scales, like a real model's would.
_EFFORT_FACTOR = {"minimal": 0, "low": 1, "medium": 2, "high": 4}


@dataclass(frozen=True)
class Completion:
    content: str
    reasoning: str  # empty when thinking is off or the protocol hides reasoning text
    prompt_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    content_tokens: int
    finish_reason: str  # "stop" | "length"

    @property
    def completion_tokens(self) -> int:
        return self.reasoning_tokens + self.content_tokens


def prefix_hashes(texts: tuple[str, ...]) -> list[tuple[str, int]]:
    """Hash of every message prefix with its token count, for simulated prompt caching: a prefix
    the same key sent before counts as cached, as with Z.AI's and OpenAI's automatic caching."""
    out, h, tokens = [], hashlib.sha256(), 0
    for text in texts:
        h.update(text.encode("utf-8", "replace") + b"\x00")
        tokens += count_tokens(text) + 4
        out.append((h.hexdigest(), tokens))
    return out


def prompt_tokens(call: ChatCall) -> int:
    return count_messages(call.texts)


def thinking_enabled(call: ChatCall, card: ModelCard) -> bool:
    if card.thinking == "toggle":
        return call.thinking if call.thinking is not None else card.thinking_default != "off"
    if card.thinking == "budget":
        return bool(call.thinking)
    if card.thinking == "effort":
        return call.reasoning_effort != "minimal"
    return False


def _truncate(text: str, budget: int) -> str:
    """The longest prefix of ``text`` that fits in ``budget`` tokens."""
    if budget <= 0:
        return ""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


def compose(call: ChatCall, card: ModelCard, *, cached_tokens: int, show_reasoning: bool) -> Completion:
    reply = answer(call.prompt, json_mode=call.json_mode)
    thinking = thinking_enabled(call, card)
    reasoning = reply.reasoning if thinking else ""
    reasoning_tokens = count_tokens(reasoning)
    if thinking and card.thinking == "effort":
        reasoning_tokens *= _EFFORT_FACTOR.get(call.reasoning_effort or card.thinking_default, 2)
    content, finish = reply.content, "stop"
    limit = call.max_tokens
    if limit is not None and reasoning_tokens + count_tokens(content) > limit:
        finish = "length"
        if reasoning_tokens >= limit:
            reasoning = _truncate(reasoning, limit) if card.thinking != "effort" else reasoning
            reasoning_tokens = min(reasoning_tokens, limit)
            content = ""
        else:
            content = _truncate(content, limit - reasoning_tokens)
    return Completion(
        content=content,
        reasoning=reasoning if show_reasoning else "",
        prompt_tokens=prompt_tokens(call),
        cached_tokens=cached_tokens,
        reasoning_tokens=reasoning_tokens,
        content_tokens=count_tokens(content),
        finish_reason=finish,
    )
