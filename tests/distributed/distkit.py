"""Helpers for the distributed tests (imported by module name, like tests/server/srvkit.py):
the cluster under test (server app in-process + ``hunkwise worker`` subprocesses)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from hunkwise.platforms.github_webhooks import sign
from platform_fakes import ServedFake

ADMIN = "admin-token-for-distributed-tests-0123456789"
SECRET = "webhook-secret-for-distributed-tests"
PAYLOAD = Path(__file__).parents[1] / "data" / "github-webhooks" / "pull_request.opened.payload.json"
PYTHON = sys.executable


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, deadline_s: float = 30) -> None:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"worker not ready:\n{self.log.read_text()}")

    def metrics(self) -> str:
        return httpx.get(f"{self.url}/metrics", timeout=5).text

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def term(self, timeout: float = 45) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


class Cluster:
    """A server app (TestClient, in-process) and worker subprocesses sharing one environment."""

    def __init__(self, tmp: Path, env: dict[str, str], github: ServedFake) -> None:
        self.tmp, self.env, self.github = tmp, env, github
        self.workers: list[Worker] = []
        self.client: TestClient | None = None

    def server(self) -> TestClient:
        from hunkwise.config.settings import Settings
        from hunkwise.server.app import create_app

        client = TestClient(create_app(Settings.from_env(self.env)))
        client.__enter__()
        self.client = client
        return client

    def worker(self, *args: str, wait: bool = True, env: dict[str, str] | None = None) -> Worker:
        """A ``hunkwise worker`` process; ``env`` adds to (or, with "", removes from) the cluster's."""
        port = free_port()
        log = self.tmp / f"worker-{len(self.workers)}.log"
        cmd = [PYTHON, "-m", "hunkwise", "worker", "--metrics-port", str(port), *args]
        merged = {k: v for k, v in {**self.env, **(env or {})}.items() if v != ""}
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, env=merged, stdout=out, stderr=subprocess.STDOUT)
        w = Worker(proc, port, log)
        self.workers.append(w)
        if wait:
            w.wait_ready()
        return w

    def deliver(self, delivery: str, *, number: int | None = None, head_sha: str | None = None) -> int:
        assert self.client is not None
        # the payload's API urls on the configured (fake) API host, or the server refuses it
        payload = json.loads(
            PAYLOAD.read_bytes().replace(b"https://api.github.com", self.github.url.encode())
        )
        if number is not None:
            payload["number"] = payload["pull_request"]["number"] = number
        if head_sha is not None:
            payload["pull_request"]["head"]["sha"] = head_sha
        body = json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sign(SECRET, body),
            "Content-Type": "application/json",
        }
        response = self.client.post("/webhooks/github", content=body, headers=headers)
        assert response.status_code == 202, response.text
        return int(response.json()["job_id"])

    def review(self, job_id: int) -> dict[str, Any]:
        assert self.client is not None
        return self.client.get(f"/api/reviews/{job_id}", headers=admin()).json()

    def wait(
        self, job_id: int, statuses: tuple[str, ...] = ("done", "failed"), deadline_s: float = 45
    ) -> dict[str, Any]:
        end = time.monotonic() + deadline_s
        got: dict[str, Any] = {}
        while time.monotonic() < end:
            got = self.review(job_id)
            if got["status"] in statuses:
                return got
            time.sleep(0.1)
        logs = "\n".join(w.log.read_text()[-3000:] for w in self.workers)
        raise AssertionError(f"job {job_id} still {got.get('status')} (wanted {statuses}):\n{logs}")

    def close(self) -> None:
        for w in self.workers:
            if w.proc.poll() is None:
                w.proc.send_signal(signal.SIGKILL)
                w.proc.wait(10)
        if self.client is not None:
            self.client.__exit__(None, None, None)
            self.client.app.state.runtime.engine.dispose()  # type: ignore[attr-defined]
