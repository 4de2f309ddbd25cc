"""A real outbound proxy and a real TLS endpoint on loopback, for the corporate-network tests.

:class:`ProxyServer` runs proxy.py (a maintained pure-Python HTTP/HTTPS proxy, a test dependency)
as a subprocess on a free port; its access log, one line per request or tunnel, is how a test
sees what the proxy carried. :class:`TlsFront` puts TLS, with a certificate from a throwaway CA
(trustme), in front of a plain-HTTP server such as the simulator, so a ``CONNECT`` tunnel and
certificate verification through it are exercised for real.
"""

from __future__ import annotations

import contextlib
import select
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import trustme


class ProxyServer:
    """proxy.py on ``127.0.0.1:<free port>``; ``basic_auth="user:pass"`` makes it answer ``407``
    to requests without those credentials."""

    def __init__(self, workdir: Path, *, basic_auth: str | None = None) -> None:
        self.workdir = workdir
        self.basic_auth = basic_auth
        self.port_file = workdir / "proxy.port"
        self.log_file = workdir / "proxy.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ProxyServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", "0",
            "--port-file", str(self.port_file), "--num-workers", "1", "--num-acceptors", "1",
            "--log-file", str(self.log_file), "--log-level", "INFO",
        ]  # fmt: skip
        if self.basic_auth:
            command += ["--basic-auth", self.basic_auth]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.workdir
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"proxy.py exited with {self._process.returncode}; see {self.log_file}")
            text = self.port_file.read_text().strip() if self.port_file.exists() else ""
            if text.isdigit():
                self.port = int(text)
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("proxy.py did not start listening within 30 s")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
        self._process = None

    def access_log(self) -> list[str]:
        """What the proxy carried so far: ``CONNECT localhost:443 - ...``, ``GET host:port/path ...``."""
        if not self.log_file.exists():
            return []
        lines = self.log_file.read_text(errors="replace").splitlines()
        return [" - ".join(line.split(" - ")[3:]) for line in lines if "access_log" in line]

    def wait_for(self, needle: str, *, count: int = 1, timeout: float = 10.0) -> list[str]:
        """The access-log lines containing ``needle`` once there are ``count`` (a tunnel is logged
        when it closes, a moment after the client let go)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.access_log() if needle in line]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


class TlsFront:
    """TLS on ``127.0.0.1:<free port>`` for host name ``localhost``, forwarding bytes to a plain
    server on ``upstream_port``. ``ca_file``: the PEM of the CA that signed its certificate."""

    def __init__(self, upstream_port: int, workdir: Path) -> None:
        ca = trustme.CA()
        self.ca_file = workdir / "test-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
        self.handshakes = 0
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                try:
                    client = context.wrap_socket(self.request, server_side=True)
                except (ssl.SSLError, OSError):
                    return  # a client that does not trust our CA gives up here
                outer.handshakes += 1
                with client, socket.create_connection(("127.0.0.1", upstream_port)) as upstream:
                    _pipe(client, upstream)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [a, b]
    while True:
        # An SSL socket may hold decrypted bytes select() cannot see.
        ready = [a] if isinstance(a, ssl.SSLSocket) and a.pending() else select.select(sockets, [], [], 5)[0]
        if not ready:
            continue
        for sock in ready:
            try:
                data = sock.recv(65536)
            except (OSError, ssl.SSLError):
                return
            if not data:
                return
            (b if sock is a else a).sendall(data)


def free_port() -> int:
    """A port nothing listens on (bound and released): a proxy that is not there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
