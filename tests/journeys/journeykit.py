"""The journeys' harness: hunkwise run the way a user runs it.

Every command is the installed console script (``hunkwise`` next to ``sys.executable``) in a
subprocess with a clean environment: ``HOME`` and ``HUNKWISE_HOME`` in a temp directory and none of
the developer's provider keys, base URLs, GitHub/GitLab settings or proxies. The simulator is a
separate ``hunkwise sim --port 0`` process reached through the normal provider path (base URL +
key, never ``--offline``); the server is a real ``hunkwise serve`` on a free port, configured only
through the environment variables docs/server.md documents. GitHub is the project's fake
(tests/platform_fakes.py) served over loopback HTTP, because it is the one service we cannot run.

Readiness is polled (``/readyz``, ``/_sim/stats``), never slept for. Processes are stopped with
SIGTERM, then killed. When a test fails, the logs of every process still running are attached to
its report (tests/journeys/conftest.py), so a failure shows what the server or simulator said.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

HUNKWISE = Path(sys.executable).parent / "hunkwise"
WEBHOOKS = Path(__file__).resolve().parents[1] / "data" / "github-webhooks"
# Simulator keys the journeys configure (simulator keys open nothing but the simulator).
DEV_KEY = "journey-dev-key-0001"
CODING_KEY = "journey-coding-key-0001"
OPENAI_KEY = "journey-openai-key-0001"
WEBHOOK_SECRET = "journey-webhook-secret-0123456789"
GITHUB_TOKEN = "ghp_journey_fake_token_0001"
READY_TIMEOUT_S = 60.0
JOB_TIMEOUT_S = 60.0
CLI_TIMEOUT_S = 120.0

_FOREIGN_PREFIXES = ("HUNKWISE_", "ZAI_", "OPENAI_", "ANTHROPIC_", "GITHUB_", "GITLAB_", "CI_", "GIT_")
RUNNING: list[Service] = []  # processes whose logs a failing test report shows


def clean_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A first-time user's environment: the machine's PATH and locale, a fresh home, nothing of
    the developer's hunkwise, provider, forge or proxy settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_FOREIGN_PREFIXES) and not name.lower().endswith("_proxy")
    }
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        HUNKWISE_HOME=str(home / ".hunkwise"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        PYTHONUNBUFFERED="1",  # the simulator's "listening on" line must reach its log at once
        COLUMNS="200",
        GIT_AUTHOR_NAME="Journey Tester",
        GIT_AUTHOR_EMAIL="journey@example.com",
        GIT_COMMITTER_NAME="Journey Tester",
        GIT_COMMITTER_EMAIL="journey@example.com",
        GIT_CONFIG_NOSYSTEM="1",
    )
    env.update(extra or {})
    return env


def run_cli(
    args: Sequence[str], env: Mapping[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``hunkwise ARGS`` as a user types it; stdout and stderr captured."""
    return subprocess.run(
        [str(HUNKWISE), *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def explain(result: subprocess.CompletedProcess[str]) -> str:
    """What a failed command printed, for an assertion message."""
    return (
        f"`{' '.join(map(str, result.args))}` exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    """A long-running ``hunkwise`` subprocess (sim, serve) with its output in a log file."""

    def __init__(self, name: str, args: Sequence[str], env: Mapping[str, str], logdir: Path) -> None:
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [str(HUNKWISE), *args],
            env=dict(env),
            cwd=logdir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        RUNNING.append(self)

    def logs(self, limit: int = 20_000) -> str:
        text = self.log_path.read_text(errors="replace")
        return text if len(text) <= limit else "...\n" + text[-limit:]

    def failure(self, message: str) -> AssertionError:
        return AssertionError(f"{message}\n--- {self.name} log ({self.log_path}) ---\n{self.logs()}")

    def wait_http(self, url: str, deadline_s: float = READY_TIMEOUT_S) -> None:
        """Poll ``url`` until it answers 200; fail with the log if the process dies or never answers."""
        deadline = time.monotonic() + deadline_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise self.failure(f"{self.name} exited with {self.proc.returncode} before {url} answered")
            try:
                resp = httpx.get(url, timeout=2)
                if resp.status_code == 200:
                    return
                last = f"{resp.status_code} {resp.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.05)
        raise self.failure(f"{self.name}: {url} not ready after {deadline_s:.0f} s (last: {last})")

    def stop(self) -> None:
        """SIGTERM (a clean shutdown, as a service manager does), then kill."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()
        if self in RUNNING:
            RUNNING.remove(self)


class Simulator(Service):
    """``hunkwise sim --port 0``: it picks a free port and prints where it listens."""

    def __init__(self, env: Mapping[str, str], logdir: Path, extra: Sequence[str] = ()) -> None:
        """``extra``: more ``hunkwise sim`` flags (a smaller window, the peak multiplier)."""
        args = [
            "sim",
            "--port",
            "0",
            "--developer-key",
            DEV_KEY,
            "--coding-key",
            f"{CODING_KEY}:lite",
            "--openai-key",
            OPENAI_KEY,
            *extra,
        ]
        super().__init__("hunkwise-sim", args, env, logdir)
        try:
            self.base_url = self._announced_url()
            self.wait_http(f"{self.base_url}/_sim/stats")
        except AssertionError:
            self.stop()
            raise

    def _announced_url(self) -> str:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            found = re.search(r"listening on (http://\S+)", self.logs())
            if found:
                return found.group(1).rstrip("/")
            if self.proc.poll() is not None:
                raise self.failure(f"hunkwise sim exited with {self.proc.returncode} before listening")
            time.sleep(0.05)
        raise self.failure("hunkwise sim did not say where it listens")

    # The base URLs docs/simulator.md tells users to configure.
    @property
    def developer_url(self) -> str:
        return f"{self.base_url}/api/paas/v4"

    @property
    def coding_url(self) -> str:
        return f"{self.base_url}/api/coding/paas/v4"

    @property
    def openai_url(self) -> str:
        return f"{self.base_url}/v1"

    def requests(self, limit: int = 1000) -> list[dict[str, Any]]:
        resp = httpx.get(f"{self.base_url}/_sim/requests", params={"limit": limit}, timeout=10)
        resp.raise_for_status()
        return list(resp.json())

    def stats(self) -> dict[str, Any]:
        resp = httpx.get(f"{self.base_url}/_sim/stats", timeout=10)
        resp.raise_for_status()
        return dict(resp.json())

    def key_requests(self, key: str) -> int:
        return int(self.stats()["keys"].get(key, {}).get("requests", 0))


class Server(Service):
    """``hunkwise serve`` on a free port, configured through its environment only."""

    def __init__(
        self, env: Mapping[str, str], logdir: Path, args: Sequence[str] = (), admin_token: str | None = None
    ) -> None:
        """``args``: more ``serve`` options; ``admin_token``: when it is not in ``env`` (an env file)."""
        self.admin_token = admin_token or env["HUNKWISE_ADMIN_TOKEN"]
        for attempt in range(3):  # a free port can be taken between choosing and binding it
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            super().__init__(
                f"hunkwise-serve-{attempt}",
                ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "info", *args],
                env,
                logdir,
            )
            try:
                self.wait_http(f"{self.url}/readyz")
                return
            except AssertionError:
                port_taken = "address already in use" in self.logs().lower()
                self.stop()
                if not port_taken or attempt == 2:
                    raise

    def client(self, token: str | None = None) -> httpx.Client:
        """An API client with ``token`` (default: the admin token) as its bearer."""
        token = self.admin_token if token is None else token
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def wait_job(self, api: httpx.Client, job_id: int) -> dict[str, Any]:
        """Poll ``GET /api/reviews/{id}`` until the job is done or failed."""
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while time.monotonic() < deadline:
            resp = api.get(f"/api/reviews/{job_id}")
            if resp.status_code != 200:
                raise self.failure(f"GET /api/reviews/{job_id} answered {resp.status_code}: {resp.text}")
            job = dict(resp.json())
            if job["status"] in ("done", "failed"):
                return job
            time.sleep(0.1)
        raise self.failure(f"review job {job_id} did not finish in {JOB_TIMEOUT_S:.0f} s")


def server_env(
    home: Path, github_url: str | None = None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment docs/server.md and docs/webhooks.md tell an operator to set: a strong admin
    token, SQLite in the server's home, the simulator on loopback allowed by name
    (``HUNKWISE_ALLOW_PRIVATE_BASE_URLS``), and with ``github_url`` the GitHub webhook secret,
    token and API root (the fake's)."""
    settings = {
        "HUNKWISE_ADMIN_TOKEN": secrets.token_urlsafe(32),
        "HUNKWISE_DATABASE_URL": f"sqlite:///{home / 'server.db'}",
        "HUNKWISE_ALLOW_PRIVATE_BASE_URLS": "127.0.0.1",
    }
    if github_url is not None:
        settings |= {
            "HUNKWISE_GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "HUNKWISE_GITHUB_TOKEN": GITHUB_TOKEN,
            "HUNKWISE_GITHUB_API_URL": github_url,
        }
    return clean_env(home, settings | dict(extra or {}))


def github_event(name: str, github_url: str, **changes: Any) -> dict[str, Any]:
    """A recorded GitHub delivery from tests/data/github-webhooks, its API URLs moved to the fake
    (as a GitHub Enterprise at that root sends them)."""
    raw = (WEBHOOKS / f"{name}.payload.json").read_text()
    event = dict(json.loads(raw.replace("https://api.github.com", github_url)))
    event.update(changes)
    return event


def deliver(
    server: Server, event: dict[str, Any], *, kind: str = "pull_request", delivery: str = "journey-1"
) -> httpx.Response:
    """POST a delivery signed the way GitHub signs it (HMAC-SHA256 of the body)."""
    body = json.dumps(event).encode()
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": kind,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature,
        "Content-Type": "application/json",
    }
    return httpx.post(f"{server.url}/webhooks/github", content=body, headers=headers, timeout=30)
