"""Run the simulator on a real loopback port in a background thread.

The socket is bound before the thread starts (port 0 = a free port), and ``start`` returns
once uvicorn reports startup complete, so callers never sleep or poll. The same object works as
a sync context manager (tests, CLI self-check) and an async one (inside a running event loop,
where the blocking start is pushed to a worker thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from hunkwise.sim.app import create_app
from hunkwise.sim.config import SimConfig

START_TIMEOUT_SECONDS = 30


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)
        self.ready.set()


class SimulatorServer:
    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.config = config or SimConfig()
        self.host = host
        self.port = port
        self.app = create_app(self.config)
        self._log_level = log_level
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None

    # -- addresses -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def zai_developer_url(self) -> str:
        return self.base_url + "/api/paas/v4"

    @property
    def zai_coding_url(self) -> str:
        return self.base_url + "/api/coding/paas/v4"

    @property
    def openai_url(self) -> str:
        return self.base_url + "/v1"

    @property
    def anthropic_url(self) -> str:
        return self.base_url

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> SimulatorServer:
        if self._thread is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto
        # says TCP, and without it every response waits ~40 ms on Nagle + delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise OSError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
        sock.listen(256)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level=self._log_level,
            http="auto",
            ws="none",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = server = _Server(config)
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"hunkwise-sim-{self.port}", daemon=True
        )
        self._thread.start()  # uvicorn owns (and closes) the socket from here on
        while not server.ready.wait(0.05):
            if not self._thread.is_alive():
                raise RuntimeError("the simulator server failed to start (see the log above)")
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        if server.loop is not None and not server.loop.is_closed():
            shutdown: asyncio.Event = self.app.state.shutdown
            with contextlib.suppress(RuntimeError):  # the loop may close between check and call
                server.loop.call_soon_threadsafe(shutdown.set)  # ends simulated hangs
        thread.join(timeout=10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        if self._client is not None:
            self._client.close()
        self._server = self._thread = self._client = None

    def serve_forever(self) -> None:
        """Block until interrupted (the CLI); Ctrl-C stops the server cleanly."""
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> SimulatorServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -- sync helpers (over HTTP, like any other client) ----------------------------------------
    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(base_url=self.base_url, timeout=10)
        return self._client

    def stats(self) -> dict[str, Any]:
        return self._http().get("/_sim/stats").raise_for_status().json()

    def key_stats(self, key: str) -> dict[str, Any]:
        return self.stats()["keys"][key]

    def requests(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._http().get("/_sim/requests", params={"limit": limit}).raise_for_status().json()

    def reset(self) -> None:
        self._http().post("/_sim/reset").raise_for_status()

    def advance(self, seconds: float) -> None:
        self._http().post("/_sim/advance", json={"seconds": seconds}).raise_for_status()
