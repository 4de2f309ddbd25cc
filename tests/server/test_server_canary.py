"""A distinctive key pushed through every flow must never appear in plaintext anywhere:
responses (incl. errors and OpenAPI), DEBUG logs, the database file, the master key file."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from srvkit import admin_headers

import simkeys
from hunkwise.sim import KeyConfig

CANARY = "sk-CANARY-7f3e9b1d-c0ffee-5eed"


def test_canary_key_never_leaks(
    make_client: Callable[..., TestClient],
    sim_factory,
    caplog,
    tmp_path: Path,
) -> None:
    sim = sim_factory(
        keys=[KeyConfig(key=CANARY, kind="developer"), KeyConfig(key=simkeys.DEV_KEY, kind="developer")]
    )
    caplog.set_level(logging.DEBUG)
    client = make_client(HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1")
    seen: list[str] = []

    def call(method: str, path: str, **kw: object) -> None:
        resp = client.request(method, path, headers=admin_headers(), **kw)  # type: ignore[arg-type]
        seen.append(f"{resp.status_code} {dict(resp.headers)} {resp.text}")

    good = {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": CANARY}
    call("PUT", "/api/orgs/acme/byok", json={"main": good})
    assert seen[-1].startswith("200"), seen[-1]
    call("GET", "/api/orgs/acme/byok")
    call("POST", "/api/orgs/acme/byok/test")
    assert '"ok":true' in seen[-1]
    # Error paths that carry the key in their input.
    call("PUT", "/api/orgs/acme/byok", json={"main": {**good, "card": "nope"}})
    call("PUT", "/api/orgs/acme/byok", json={"main": {**good, "tier": "gold"}})
    call("PUT", "/api/orgs/acme/byok", json={"main": {**good, "base_url": "https://10.0.0.1/v1"}})
    call("PUT", "/api/orgs/acme/byok", json={"main": {**good, "api_key": 12345, "temperature": CANARY}})
    call("PUT", "/api/orgs/acme/byok", json={"main": {**good, "colour": CANARY}})
    call("PUT", "/api/orgs/acme/byok", content=f'{{"main": {{"api_key": "{CANARY}"'.encode())
    call("PUT", "/api/orgs/acme/byok", json={"main": good, "fallback": {**good, "api_key_env": "X"}})
    assert all(s.split()[0] in ("422", "400") for s in seen[3:]), seen[3:]
    # A key that fails at the provider (the simulator rejects it): diagnosis, not the key.
    sim.stop()
    call("POST", "/api/orgs/acme/byok/test")
    call("GET", "/openapi.json")
    call("DELETE", "/api/orgs/acme/byok")
    call("PUT", "/api/orgs/acme/byok", json={"main": good})
    client.app.state.runtime.engine.dispose()  # type: ignore[attr-defined]

    for text in seen:
        assert CANARY not in text, text
    logs = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    assert CANARY not in logs
    needles = (CANARY.encode(), CANARY.encode("utf-16-le"))
    home = Path(os.environ["HUNKWISE_HOME"])
    files = [p for p in [*tmp_path.rglob("*"), *home.rglob("*")] if p.is_file()]
    assert any(p.name == "secret.key" for p in files)
    assert any(p.name.startswith("server.db") for p in files)
    for path in files:
        data = path.read_bytes()
        assert not any(n in data for n in needles), path
