"""Anthropic Messages responses: one JSON message or the SSE event sequence of the streaming
protocol (message_start, content_block_start/delta/stop per block, message_delta, message_stop),
which the official ``anthropic`` SDK consumes unmodified.

Named like :mod:`hunkwise.gateway.adapters.anthropic_wire` on purpose: the simulator's server side
of the wire here, the gateway's client side there.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

from hunkwise.sim.compose import Completion

STREAM_PIECE_CHARS = 24
_STOP = {"stop": "end_turn", "length": "max_tokens"}


def _signature(text: str) -> str:
    return "sim-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _blocks(c: Completion) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if c.reasoning:
        blocks.append({"type": "thinking", "thinking": c.reasoning, "signature": _signature(c.reasoning)})
    blocks.append({"type": "text", "text": c.content})
    return blocks


def _usage(c: Completion) -> dict[str, Any]:
    return {
        "input_tokens": c.prompt_tokens - c.cached_tokens,
        "cache_read_input_tokens": c.cached_tokens,
        "cache_creation_input_tokens": 0,
        "output_tokens": c.completion_tokens,
    }


def message_body(c: Completion, model: str) -> dict[str, Any]:
    return {
        "id": "msg_sim" + uuid.uuid4().hex[:20],
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _blocks(c),
        "stop_reason": _STOP[c.finish_reason],
        "stop_sequence": None,
        "usage": _usage(c),
    }


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def stream_events(c: Completion, model: str) -> Iterator[bytes]:
    start = message_body(c, model)
    start.update(content=[], stop_reason=None)
    start["usage"] = {**_usage(c), "output_tokens": 1}
    yield _event("message_start", {"type": "message_start", "message": start})
    for index, block in enumerate(_blocks(c)):
        if block["type"] == "thinking":
            yield _event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "thinking", "thinking": ""},
                },
            )
            for i in range(0, len(block["thinking"]), STREAM_PIECE_CHARS):
                delta = {"type": "thinking_delta", "thinking": block["thinking"][i : i + STREAM_PIECE_CHARS]}
                yield _event(
                    "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
                )
            delta = {"type": "signature_delta", "signature": block["signature"]}
            yield _event(
                "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
            )
        else:
            yield _event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            for i in range(0, len(block["text"]), STREAM_PIECE_CHARS):
                delta = {"type": "text_delta", "text": block["text"][i : i + STREAM_PIECE_CHARS]}
                yield _event(
                    "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
                )
        yield _event("content_block_stop", {"type": "content_block_stop", "index": index})
    yield _event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": _STOP[c.finish_reason], "stop_sequence": None},
            "usage": {"output_tokens": c.completion_tokens},
        },
    )
    yield _event("message_stop", {"type": "message_stop"})
