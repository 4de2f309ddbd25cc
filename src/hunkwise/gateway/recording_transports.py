"""The ``httpx2`` transports of :class:`~hunkwise.gateway.recording.Recordings`: one writes every
successful answer, one serves recorded answers back.

Apart from :mod:`hunkwise.gateway.recording` because every command imports that module with the
gateway, and most never record or replay: they do not load ``httpx2`` (~25 ms of imports) for it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx2

from hunkwise.gateway.recording import endpoint_of

if TYPE_CHECKING:
    from hunkwise.gateway.recording import Recordings


def parse_body(content: bytes) -> Any:
    """A request's JSON body (its raw text when it is not JSON), as the recording key reads it."""
    try:
        return json.loads(content) if content else None
    except (ValueError, UnicodeDecodeError):
        return content.decode("utf-8", "replace")


class RecordingTransport(httpx2.AsyncBaseTransport):
    """Wraps the transport a call would have used and writes each successful answer, so a later
    ``--replay`` serves exactly what the model said."""

    def __init__(self, recordings: Recordings, inner: httpx2.AsyncBaseTransport) -> None:
        self._recordings = recordings
        self._inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send through the inner transport; a success is recorded and served from memory."""
        content = await request.aread()
        response = await self._inner.handle_async_request(request)
        if response.status_code >= 400:
            return response
        raw = await response.aread()  # the whole answer (a stream too), then served from memory
        await response.aclose()
        self._recordings.write(endpoint_of(request.url.path), parse_body(content), response, raw)
        # aread() decoded any content-encoding: only the content type travels on.
        headers = {"content-type": response.headers.get("content-type", "application/json")}
        return httpx2.Response(response.status_code, headers=headers, content=raw, request=request)

    async def aclose(self) -> None:
        """Close the wrapped transport: the client closes only the transport it was given."""
        await self._inner.aclose()


class ReplayTransport(httpx2.AsyncBaseTransport):
    """Serves recorded answers and never opens a socket: a replay needs no network and no key."""

    def __init__(self, recordings: Recordings) -> None:
        self._recordings = recordings

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """The recorded answer to ``request``; an unrecorded one raises ``NotRecorded``."""
        content = await request.aread()
        stored = self._recordings.read(endpoint_of(request.url.path), parse_body(content))
        return httpx2.Response(
            int(stored.get("status", 200)),
            headers={"content-type": str(stored.get("content_type") or "application/json")},
            content=stored["body"].encode("utf-8"),
            request=request,
        )


__all__ = ["RecordingTransport", "ReplayTransport", "parse_body"]
