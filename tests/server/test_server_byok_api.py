"""The BYOK API over HTTP: create, show masked, keep keys, validation (400/413/422/404), delete."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from srvkit import admin_headers as _admin

CARD = {"card": "glm-5.1", "plan": "coding", "tier": "lite", "api_key": "zai-key-0000-wxyz"}


def _put(client: TestClient, org: str, body: object, headers: dict[str, str] | None = None):
    return client.put(f"/api/orgs/{org}/byok", json=body, headers=headers or _admin())


def test_health_ready_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready == {"status": "ready", "database": "sqlite", "mode": "byok"}
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/orgs/{org}/byok", "/api/orgs/{org}/byok/test", "/api/orgs"} <= set(paths)


def test_put_creates_org_and_get_masks_key(client: TestClient) -> None:
    resp = _put(client, "Acme", {"main": CARD})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["mode"] == "byok"
    main = body["main"]
    assert main["api_key"] == "••••wxyz"
    assert main["base_url"] == "https://api.z.ai/api/coding/paas/v4"
    assert (main["plan"], main["tier"], main["max_concurrent"]) == ("coding", "lite", 1)
    assert body["fallback"] is None
    got = client.get("/api/orgs/acme/byok", headers=_admin()).json()
    assert got["main"]["api_key"] == "••••wxyz"
    assert got["main"]["config"] == {"card": "glm-5.1", "plan": "coding", "tier": "lite"}
    assert "zai-key-0000-wxyz" not in client.get("/api/orgs/acme/byok", headers=_admin()).text


def test_manual_fallback_and_key_kept_when_omitted(client: TestClient) -> None:
    fallback = {
        "provider": "openai_compatible",
        "base_url": "https://api.z.ai/api/paas/v4",
        "model": "glm-5.1",
        "api_key": "fallback-key-9876",
        "max_concurrent_requests": 5,
        "thinking": "medium",
    }
    assert _put(client, "acme", {"main": CARD, "fallback": fallback}).status_code == 200
    # Save again without keys, changing the tier: both keys are kept.
    edited = {**CARD, "tier": "pro"}
    edited.pop("api_key")
    fb = {k: v for k, v in fallback.items() if k != "api_key"}
    resp = _put(client, "acme", {"main": edited, "fallback": fb})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["main"]["api_key"] == "••••wxyz" and body["main"]["tier"] == "pro"
    assert body["main"]["max_concurrent"] == 1  # the catalog's Pro tier
    assert body["fallback"]["api_key"] == "••••9876"
    assert body["fallback"]["max_concurrent"] == 5


def test_omitting_key_for_a_new_endpoint_is_refused(client: TestClient) -> None:
    assert _put(client, "acme", {"main": CARD}).status_code == 200
    moved = {"provider": "openai_compatible", "base_url": "https://8.8.8.8/v1", "model": "m"}
    resp = _put(client, "acme", {"main": moved})
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "main", "api_key"]
    # nothing changed
    assert client.get("/api/orgs/acme/byok", headers=_admin()).json()["main"]["config"]["card"] == "glm-5.1"


def test_invalid_config_is_422_naming_the_field(client: TestClient) -> None:
    cases = [
        ({"main": {**CARD, "card": "glm-9000"}}, ["body", "main", "card"]),
        ({"main": {**CARD, "tier": "gold"}}, ["body", "main", "tier"]),
        ({"main": {**CARD, "thinking": "[not json"}}, ["body", "main", "thinking"]),
        (
            {
                "main": CARD,
                "fallback": {"provider": "openai_compatible", "base_url": "ftp://x", "model": "m"},
            },
            ["body", "fallback", "base_url"],
        ),
        ({"main": {**CARD, "api_key_env": "DATABASE_PASSWORD"}}, ["body", "main", "api_key_env"]),
        ({"main": {**CARD, "colour": "blue"}}, ["body", "main", "colour"]),
        ({"fallback": CARD}, ["body", "main"]),
    ]
    for body, loc in cases:
        resp = _put(client, "acme", body)
        assert resp.status_code == 422, (body, resp.text)
        detail = resp.json()["detail"]
        assert detail[0]["loc"] == loc, (body, detail)
        assert "input" not in detail[0]
    # Nothing was written by any failed PUT: the organization does not even exist.
    assert client.get("/api/orgs/acme/byok", headers=_admin()).status_code == 404


def test_failed_fallback_leaves_previous_config_untouched(client: TestClient) -> None:
    assert _put(client, "acme", {"main": CARD}).status_code == 200
    bad = {"main": {**CARD, "api_key": "another-key-1111"}, "fallback": {**CARD, "card": "nope"}}
    assert _put(client, "acme", bad).status_code == 422
    assert client.get("/api/orgs/acme/byok", headers=_admin()).json()["main"]["api_key"] == "••••wxyz"


def test_malformed_json_is_400_and_big_body_413(make_client: Callable[..., TestClient]) -> None:
    client = make_client(HUNKWISE_MAX_BODY_BYTES="2048")
    headers = {**_admin(), "Content-Type": "application/json"}
    resp = client.put("/api/orgs/acme/byok", content=b'{"main": {', headers=headers)
    assert resp.status_code == 400 and "not valid JSON" in resp.json()["detail"]
    big = b'{"main": {"card": "' + b"x" * 4000 + b'"}}'
    resp = client.put("/api/orgs/acme/byok", content=big, headers=headers)
    assert resp.status_code == 413 and "HUNKWISE_MAX_BODY_BYTES" in resp.json()["detail"]

    def chunks():
        for _ in range(10):
            yield b" " * 500

    resp = client.put("/api/orgs/acme/byok", content=chunks(), headers=headers)
    assert resp.status_code == 413


def test_unknown_org_is_404_and_delete(client: TestClient) -> None:
    assert client.get("/api/orgs/ghost/byok", headers=_admin()).status_code == 404
    assert client.delete("/api/orgs/ghost/byok", headers=_admin()).status_code == 404
    assert client.post("/api/orgs/ghost/byok/test", headers=_admin()).status_code == 404
    assert _put(client, "acme", {"main": CARD}).status_code == 200
    assert client.delete("/api/orgs/acme/byok", headers=_admin()).status_code == 204
    got = client.get("/api/orgs/acme/byok", headers=_admin()).json()
    assert got["main"] is None and "no models configured" in got["message"]
    assert client.post("/api/orgs/acme/byok/test", headers=_admin()).status_code == 409


def test_weak_admin_token_refused_outside_dev() -> None:
    import pytest

    from hunkwise.config.settings import Settings
    from hunkwise.errors import ConfigurationError
    from hunkwise.server.app import check_admin_token

    # The server's start-up check (create_app and `hunkwise serve` run it): the CLI's commands
    # read the same settings without serving anyone's keys.
    with pytest.raises(ConfigurationError, match="HUNKWISE_ADMIN_TOKEN is too weak"):
        check_admin_token(Settings.from_env({"HUNKWISE_ADMIN_TOKEN": "secret"}))
    dev = Settings.from_env({"HUNKWISE_ADMIN_TOKEN": "secret", "HUNKWISE_DEV": "1"})
    check_admin_token(dev)
    assert dev.dev
    with pytest.raises(ConfigurationError, match="HUNKWISE_MAX_BODY_BYTES"):
        Settings.from_env({"HUNKWISE_MAX_BODY_BYTES": "lots"})
