"""``hunkwise serve`` over real HTTP (uvicorn on a free port) and ``hunkwise secrets rotate``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from srvkit import ADMIN, admin_headers
from typer.testing import CliRunner

from hunkwise.cli.app import app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_over_real_http(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "HUNKWISE_ADMIN_TOKEN": ADMIN,
        "HUNKWISE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
    }
    cmd = [sys.executable, "-m", "hunkwise", "serve", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):  # wait for the port (not a timing assertion: just readiness)
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        body = {
            "main": {"card": "glm-5.1", "plan": "coding", "tier": "lite", "api_key": "serve-key-0000-abcd"}
        }
        assert httpx.put(f"{base}/api/orgs/acme/byok", json=body, headers=admin_headers()).status_code == 200
        got = httpx.get(f"{base}/api/orgs/acme/byok", headers=admin_headers()).json()
        assert got["main"]["api_key"] == "••••abcd"
        assert httpx.get(f"{base}/readyz").json()["database"] == "sqlite"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert b"serve-key-0000-abcd" not in err
    start = next(line for line in err.decode().splitlines() if line.startswith("hunkwise server on"))
    assert "mode: BYOK (each organization's models and keys, from the database)" in start
    assert "jobs: run here, 2 at once (limits per process)" in start


def test_serve_refuses_weak_admin_token(tmp_path: Path) -> None:
    env = {**os.environ, "HUNKWISE_ADMIN_TOKEN": "short"}
    proc = subprocess.run(
        [sys.executable, "-m", "hunkwise", "serve", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "HUNKWISE_ADMIN_TOKEN is too weak" in proc.stderr and "Traceback" not in proc.stderr


def test_secrets_rotate_cli(tmp_path: Path) -> None:
    from hunkwise.config.settings import Settings
    from hunkwise.config.spec import SlotEntry, SlotSpec
    from hunkwise.config.ssrf import SsrfPolicy
    from hunkwise.gateway.types import Secret
    from hunkwise.jobs.resolver import SlotResolver
    from hunkwise.store.byok_slots import save_byok
    from hunkwise.store.db import database_url, open_store
    from hunkwise.store.secrets import load_secret_box

    engine = open_store(database_url(Settings.from_env()))
    box = load_secret_box(Settings.from_env(), create=True)
    spec = SlotEntry(SlotSpec(card="glm-5.1"), Secret("rotate-cli-key-0000"))
    save_byok(engine, "acme", {"main": spec}, box=box, policy=SsrfPolicy())
    result = CliRunner().invoke(app, ["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 1 stored key(s)" in result.output
    new = load_secret_box(Settings.from_env())
    assert new.primary.key_id != box.primary.key_id
    resolver = SlotResolver(engine, box=new, policy=SsrfPolicy(), fixed=None)
    assert resolver.slots_for("acme")[0].api_key.reveal() == "rotate-cli-key-0000"
    engine.dispose()
