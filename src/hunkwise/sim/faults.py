"""Injected transient faults: which request gets one (seeded, reproducible) and how each is acted
out on the wire.

The draw consumes exactly two numbers from the fault RNG for every request that reaches the
model (passed auth, validation, quota and concurrency), whether or not it faults, so for a given
seed and request order the fault sequence is always the same, independent of latency settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any

from starlette.requests import Request

from hunkwise.sim.state import SimState

RAW_SEND = "hunkwise.sim.raw_send"  # scope key where the outermost ASGI ``send`` is kept


def draw(state: SimState) -> str | None:
    roll = state.fault_rng.random()
    pick = state.fault_rng.randrange(len(state.config.faults))
    return state.config.faults[pick] if roll < state.config.fault_rate else None


def reset_connection(request: Request) -> None:
    """Close the client's socket with a TCP reset and no response at all.

    Under uvicorn the outermost ``send`` is bound to the connection's request cycle, which holds
    the transport; with SO_LINGER 0 an abort sends RST. In-process (ASGI transport, no socket)
    the closest equivalent is raising ``ConnectionResetError`` into the client.
    """
    raw_send: Any = request.scope.get(RAW_SEND)
    cycle = getattr(raw_send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionResetError("simulated connection reset")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # Tell uvicorn the peer is gone now, so it does not try to answer on the dead socket.
    if hasattr(cycle, "disconnected"):
        cycle.disconnected = True


async def hang(request: Request, seconds: float, shutdown: asyncio.Event) -> None:
    """Hold the request open (and in flight) until the client gives up, the server stops, or
    ``seconds`` pass, whichever comes first."""

    async def client_gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    waiters = [asyncio.ensure_future(client_gone()), asyncio.ensure_future(shutdown.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
