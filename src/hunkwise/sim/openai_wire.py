"""OpenAI-shaped responses (Z.AI and OpenAI endpoints): one JSON body or an SSE stream.

Z.AI differences, as modelled: the reasoning text travels in ``message.reasoning_content`` /
``delta.reasoning_content`` and the last stream chunk always carries ``usage``. OpenAI never
returns reasoning text, reports ``completion_tokens_details.reasoning_tokens``, and streams usage
only when ``stream_options.include_usage`` is true (in an extra chunk with empty ``choices``).

Named like :mod:`hunkwise.gateway.adapters.openai_wire` on purpose: the simulator's server side of
the wire here, the gateway's client side there.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from hunkwise.sim.compose import Completion

STREAM_PIECE_CHARS = 24  # characters per content delta: several chunks even for short answers


def new_id(dialect: str) -> str:
    return ("chatcmpl-" if dialect == "openai" else "") + "sim" + uuid.uuid4().hex[:24]


def usage(c: Completion, dialect: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
        "total_tokens": c.prompt_tokens + c.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": c.cached_tokens},
    }
    if dialect == "openai":
        out["completion_tokens_details"] = {"reasoning_tokens": c.reasoning_tokens}
    return out


def completion_body(c: Completion, model: str, dialect: str) -> dict[str, Any]:
    rid = new_id(dialect)
    message: dict[str, Any] = {"role": "assistant", "content": c.content}
    if c.reasoning:
        message["reasoning_content"] = c.reasoning
    body: dict[str, Any] = {
        "id": rid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": c.finish_reason}],
        "usage": usage(c, dialect),
    }
    if dialect == "zai":
        body["request_id"] = rid
    return body


def _pieces(text: str) -> Iterator[str]:
    for i in range(0, len(text), STREAM_PIECE_CHARS):
        yield text[i : i + STREAM_PIECE_CHARS]


def sse(data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()


def stream_chunks(c: Completion, model: str, dialect: str, include_usage: bool) -> Iterator[bytes]:
    """Every SSE event of a streamed completion, ``data: [DONE]`` included."""
    rid, created = new_id(dialect), int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return sse(
            {
                "id": rid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [choice],
                **extra,
            }
        )

    yield chunk({"role": "assistant", "content": ""} if dialect == "openai" else {"role": "assistant"})
    for piece in _pieces(c.reasoning):
        yield chunk({"reasoning_content": piece})
    for piece in _pieces(c.content):
        yield chunk({"content": piece})
    if dialect == "zai":
        yield chunk({}, c.finish_reason, usage=usage(c, dialect))
    else:
        yield chunk({}, c.finish_reason)
        if include_usage:
            yield sse(
                {
                    "id": rid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": usage(c, dialect),
                }
            )
    yield sse("[DONE]")
