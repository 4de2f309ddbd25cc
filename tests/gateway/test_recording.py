"""Record and replay at the transport: what the key of a request is, what is stored, and what a
replay without a recording does."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx2
import pytest

from hunkwise.errors import ConfigurationError
from hunkwise.gateway.adapters import ClientPool
from hunkwise.gateway.errors import AllSlotsFailed, ErrorKind
from hunkwise.gateway.recording import Recordings, endpoint_of, request_key
from hunkwise.gateway.router import Router
from hunkwise.gateway.types import ChatRequest, Secret, Slot

KEY = "sk-recording-test-secret-0123456789"
ANSWER = {
    "id": "x",
    "object": "chat.completion",
    "created": 0,
    "model": "glm-5.1",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "recorded answer"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
}


def _slot(base_url: str, key: str = KEY, name: str = "main") -> Slot:
    return Slot(name=name, provider="zai", base_url=base_url, model="glm-5.1", api_key=Secret(key),
                plan="developer", input_price=1.0, output_price=2.0)  # fmt: skip


class Upstream:
    """The provider: answers from a handler, counting the requests that reach it."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.seen: list[httpx2.Request] = []

    def __call__(self, slot: Slot) -> httpx2.AsyncBaseTransport:
        def handle(request: httpx2.Request) -> httpx2.Response:
            self.seen.append(request)
            # An error the gateway does not retry (a 1302 would be retried with backoff: seconds).
            body = ANSWER if self.status < 400 else {"error": {"message": "the request is invalid"}}
            return httpx2.Response(self.status, json=body)

        return httpx2.MockTransport(handle)


async def _ask(recordings: Recordings, slot: Slot, inner: Upstream | None = None, prompt: str = "hi") -> str:
    pool = ClientPool(transport_factory=recordings.transport_factory(inner))
    router = Router([slot], clients=pool)
    try:
        return (await router.chat(ChatRequest.of(prompt))).content
    finally:
        await router.aclose()
        await pool.aclose()


def test_the_key_is_the_endpoint_kind_and_the_body() -> None:
    assert endpoint_of("/api/paas/v4/chat/completions") == endpoint_of("/v1/chat/completions")
    assert endpoint_of("/v1/messages") == "messages"
    body = {"model": "glm-5.1", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2}
    reordered = {"temperature": 0.2, "messages": [{"role": "user", "content": "hi"}], "model": "glm-5.1"}
    assert request_key("chat/completions", body) == request_key("chat/completions", reordered)
    assert request_key("chat/completions", body) != request_key(
        "chat/completions", {**body, "temperature": 0.3}
    )
    assert request_key("chat/completions", body) != request_key("messages", body)


def test_record_then_replay_elsewhere_without_key_or_upstream(tmp_path: Path) -> None:
    upstream = Upstream()
    recorder = Recordings(tmp_path, "record")
    assert (
        asyncio.run(_ask(recorder, _slot("https://llm-a.example.test/api/paas/v4"), upstream))
        == "recorded answer"
    )
    assert len(upstream.seen) == 1 and recorder.recorded == 1
    (file,) = tmp_path.glob("*.json")
    text = file.read_text()
    doc = json.loads(text)
    assert doc["key"] == file.stem and doc["endpoint"] == "chat/completions"
    assert doc["request"]["messages"] == [{"role": "user", "content": "hi"}]
    assert json.loads(doc["response"]["body"])["usage"]["prompt_tokens"] == 11
    assert KEY not in text and "Bearer" not in text and "llm-a.example.test" not in text

    # Another host, another key: the same request is served from the file; nothing is sent.
    replayer = Recordings(tmp_path, "replay")
    answer = asyncio.run(
        _ask(replayer, _slot("https://elsewhere.example.test/api/paas/v4", key="placeholder"))
    )
    assert answer == "recorded answer" and replayer.served == 1 and not replayer.misses
    assert len(upstream.seen) == 1


def test_errors_are_not_recorded(tmp_path: Path) -> None:
    recorder = Recordings(tmp_path, "record")
    with pytest.raises(AllSlotsFailed):
        asyncio.run(_ask(recorder, _slot("https://llm.example.test/api/paas/v4"), Upstream(status=400)))
    assert recorder.recorded == 0 and not list(tmp_path.glob("*.json"))


def test_a_missing_recording_is_a_named_bad_request_not_retried(tmp_path: Path) -> None:
    replayer = Recordings(tmp_path, "replay")
    with pytest.raises(AllSlotsFailed) as caught:
        asyncio.run(_ask(replayer, _slot("https://llm.example.test/api/paas/v4"), prompt="never recorded"))
    (error,) = caught.value.errors
    assert error.kind is ErrorKind.BAD_REQUEST and error.code == "not_recorded"
    assert "no recording of this request" in error.message and str(tmp_path) in error.message
    assert len(caught.value.attempts) == 1  # not retried: the answer will not appear
    (miss,) = replayer.misses
    assert miss.model == "glm-5.1" and miss.endpoint == "chat/completions" and miss.key[:16] in error.message


def test_directories_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such directory"):
        Recordings(tmp_path / "absent", "replay")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigurationError, match="cannot create the directory"):
        Recordings(tmp_path / "file" / "sub", "record")
