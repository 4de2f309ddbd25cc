"""A 200 that is not a chat completion (captive portal HTML, ``[]``, a null message) is a
transient provider error: retried, failed over, diagnosed; never an AttributeError."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from gateway_helpers import FAST, make_slot

from hunkwise.gateway import ChatRequest, ErrorKind, ProviderError, Router, probe_slot
from hunkwise.gateway.adapters import AnthropicWire, ClientPool, OpenAIWire
from hunkwise.gateway.thinking import profile_for
from simkeys import DEV_KEY

# What a 200 that is not a chat completion can look like: a captive portal, an empty list, a
# completion whose message is null.
BODIES: dict[str, tuple[str, bytes]] = {
    "html": ("text/html", b"<html><body>Please log in to the hotel Wi-Fi</body></html>"),
    "list": ("application/json", b"[]"),
    "null-message": (
        "application/json",
        json.dumps({"id": "x", "model": "glm-5.1", "choices": [{"index": 0, "message": None}]}).encode(),
    ),
    "null-content": ("application/json", json.dumps({"id": "x", "model": "m", "content": None}).encode()),
}


class _Handler(BaseHTTPRequestHandler):
    kind = "html"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        ctype, body = BODIES[self.server.kind]  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def portal() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.kind = "html"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server: ThreadingHTTPServer, path: str = "/v1") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


async def test_html_200_fails_over_to_the_fallback(portal: ThreadingHTTPServer, sim: Any) -> None:
    main = make_slot(_url(portal), DEV_KEY)
    fallback = make_slot(sim.zai_developer_url, DEV_KEY, name="fallback")
    async with Router([main, fallback], policy=FAST) as router:
        result = await router.chat(ChatRequest.of("hello"))
    assert result.slot == "fallback"
    assert [a.outcome for a in result.attempts if a.slot == "main"] == ["transient", "transient"]
    assert "malformed body" in (result.attempts[0].message or "")


@pytest.mark.parametrize("kind", ["html", "list", "null-message"])
async def test_openai_wire_raises_transient_on_a_malformed_200(
    portal: ThreadingHTTPServer, kind: str
) -> None:
    portal.kind = kind  # type: ignore[attr-defined]
    slot = make_slot(_url(portal), DEV_KEY)
    pool = ClientPool()
    try:
        with pytest.raises(ProviderError) as info:
            await OpenAIWire(pool).chat(slot, ChatRequest.of("hi"), profile_for(slot))
    finally:
        await pool.aclose()
    assert info.value.kind is ErrorKind.TRANSIENT
    assert "the provider returned a malformed body" in info.value.message


@pytest.mark.parametrize("kind", ["html", "list", "null-content"])
async def test_anthropic_wire_raises_transient_on_a_malformed_200(
    portal: ThreadingHTTPServer, kind: str
) -> None:
    portal.kind = kind  # type: ignore[attr-defined]
    slot = make_slot(_url(portal, ""), DEV_KEY, provider="anthropic", model="claude-sonnet-4-6")
    pool = ClientPool()
    try:
        with pytest.raises(ProviderError) as info:
            await AnthropicWire(pool).chat(slot, ChatRequest.of("hi"), profile_for(slot))
    finally:
        await pool.aclose()
    assert info.value.kind is ErrorKind.TRANSIENT
    assert "the provider returned a malformed body" in info.value.message


async def test_probe_of_an_html_200_is_a_diagnosis(portal: ThreadingHTTPServer) -> None:
    d = await probe_slot(make_slot(_url(portal), DEV_KEY))
    assert not d.ok and d.kind == "transient"
    assert "malformed body" in d.summary


async def test_a_stream_that_is_not_an_event_stream_fails_over(portal: ThreadingHTTPServer, sim: Any) -> None:
    """An HTML page where an SSE stream should be must not be taken for an empty answer."""
    main = make_slot(_url(portal), DEV_KEY)
    fallback = make_slot(sim.zai_developer_url, DEV_KEY, name="fallback")
    async with Router([main, fallback], policy=FAST) as router:
        events = [e async for e in router.stream(ChatRequest.of("hello"))]
    done = events[-1]
    assert done.kind == "done" and done.result is not None
    assert done.result.slot == "fallback" and done.result.content
    assert {a.outcome for a in done.result.attempts if a.slot == "main"} == {"transient"}


@pytest.mark.parametrize("kind", ["html", "list"])
async def test_anthropic_stream_of_a_non_event_body_is_transient(
    portal: ThreadingHTTPServer, kind: str
) -> None:
    portal.kind = kind  # type: ignore[attr-defined]
    slot = make_slot(_url(portal, ""), DEV_KEY, provider="anthropic", model="claude-sonnet-4-6")
    pool = ClientPool()
    try:
        with pytest.raises(ProviderError) as info:
            _ = [e async for e in AnthropicWire(pool).stream(slot, ChatRequest.of("hi"), profile_for(slot))]
    finally:
        await pool.aclose()
    assert info.value.kind is ErrorKind.TRANSIENT
    assert "no events" in info.value.message
