"""The guarded transport as an httpx2 transport: streamed bodies arrive as they are sent, errors
are httpx2's (what the SDKs catch), a refused address never gets a connection, and closing the
transport closes its connections.

The server is a few lines of asyncio on 127.0.0.1 speaking HTTP/1.1 by hand, so each test
decides exactly when bytes are sent and sees exactly what arrived; the policy allow-lists the
test's own host name, which the injected resolver maps to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx2
import pytest

from hunkwise.config.ssrf import SsrfPolicy
from hunkwise.config.ssrf_connect import GuardedTransport
from hunkwise.gateway import ConnectBlocked

HOST = "stream.example.test"


@dataclass
class Server:
    """Answers ``/stream`` in two chunks (the second only once ``gate`` is set), ``/cut`` with a
    body shorter than announced, anything else with ``ok``; records what it received."""

    port: int = 0
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    closed_by_client: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                body = await reader.readexactly(length) if length else b""
                self.requests.append(head + body)
                path = head.split(b" ", 2)[1]
                if path == b"/stream":
                    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
                    await writer.drain()
                    await self.gate.wait()
                    writer.write(b"6\r\nsecond\r\n0\r\n\r\n")
                elif path == b"/cut":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
                    await writer.drain()
                    return
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                self.closed_by_client += 1  # EOF between requests: the client closed it
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()
    srv = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = srv.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        srv.close()
        await srv.wait_closed()


def _policy(*allowed: str) -> SsrfPolicy:
    return SsrfPolicy(allowed_hosts=frozenset(allowed), resolver=lambda host, port: ["127.0.0.1"])


async def test_a_streamed_body_arrives_chunk_by_chunk(server: Server) -> None:
    transport = GuardedTransport(_policy(HOST))
    async with httpx2.AsyncClient(transport=transport) as client:
        url = f"http://{HOST}:{server.port}/stream"
        async with client.stream("POST", url, content=b"hello", headers={"X-Probe": "1"}) as response:
            assert response.status_code == 200
            chunks = response.aiter_raw()
            first = await asyncio.wait_for(chunks.__anext__(), 5)
            # the server holds the rest back until we say so: the first chunk was not buffered
            assert first == b"first" and not server.gate.is_set()
            server.gate.set()
            rest = [chunk async for chunk in chunks]
        assert rest == [b"second"]
        # the connection went back to the pool: the next request reuses it
        assert (await client.get(f"http://{HOST}:{server.port}/")).text == "ok"
    assert server.connections == 1
    sent = server.requests[0]
    assert sent.startswith(b"POST /stream HTTP/1.1\r\n")
    assert f"Host: {HOST}:{server.port}".encode() in sent and b"X-Probe: 1" in sent
    assert sent.endswith(b"\r\n\r\nhello")


async def test_errors_are_httpx2_errors(server: Server) -> None:
    async with httpx2.AsyncClient(transport=GuardedTransport(_policy(HOST))) as client:
        with pytest.raises(httpx2.RemoteProtocolError):  # the body ends before its length
            await client.get(f"http://{HOST}:{server.port}/cut")
        closed = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = closed.sockets[0].getsockname()[1]
        closed.close()
        await closed.wait_closed()
        with pytest.raises(httpx2.ConnectError):  # nothing listens there any more
            await client.get(f"http://{HOST}:{port}/")


async def test_a_refused_address_never_gets_a_connection(server: Server) -> None:
    async with httpx2.AsyncClient(transport=GuardedTransport(_policy())) as client:
        with pytest.raises(ConnectBlocked, match=re.escape("resolves to 127.0.0.1, a loopback address")):
            await client.get(f"http://{HOST}:{server.port}/")
    assert server.connections == 0


async def test_closing_the_transport_closes_its_connections(server: Server) -> None:
    transport = GuardedTransport(_policy(HOST))
    client = httpx2.AsyncClient(transport=transport)
    assert (await client.get(f"http://{HOST}:{server.port}/")).text == "ok"  # kept alive
    assert server.closed_by_client == 0
    await client.aclose()  # closes the transport
    for _ in range(100):
        if server.closed_by_client:
            break
        await asyncio.sleep(0.01)
    assert server.closed_by_client == 1
