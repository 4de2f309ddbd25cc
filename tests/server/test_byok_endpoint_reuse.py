"""A stored key is reused only for the same endpoint origin (scheme, host, port), on Save and on
Test-before-Save; catalog hosts are https only (no API key in cleartext to api.z.ai)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from srvkit import admin_headers as _admin

CARD = {"card": "glm-5.1", "plan": "coding", "tier": "lite", "api_key": "zai-key-0000-wxyz"}


def _manual(base_url: str, **extra: str) -> dict[str, str]:
    return {"provider": "openai_compatible", "base_url": base_url, "model": "glm-5.1", **extra}


def _put(client: TestClient, body: object):
    return client.put("/api/orgs/acme/byok", json=body, headers=_admin())


def _test(client: TestClient, body: object):
    return client.post("/api/orgs/acme/byok/test", json=body, headers=_admin())


def _loc(resp) -> list[str]:  # type: ignore[no-untyped-def]
    assert resp.status_code == 422, resp.text
    return resp.json()["detail"][0]["loc"]


def test_catalog_host_over_http_is_refused(client: TestClient) -> None:
    assert _put(client, {"main": CARD}).status_code == 200
    cleartext = _manual("http://api.z.ai/api/paas/v4")
    # with the stored key (omitted) and with a typed one: never in cleartext
    assert _loc(_put(client, {"main": cleartext})) == ["body", "main", "base_url"]
    assert _loc(_put(client, {"main": {**cleartext, "api_key": "typed-key-1234"}})) == [
        "body",
        "main",
        "base_url",
    ]
    assert _loc(_test(client, {"main": cleartext})) == ["body", "main", "base_url"]
    # the https form of the same endpoint keeps the stored key
    assert _put(client, {"main": _manual("https://api.z.ai/api/coding/paas/v4")}).status_code == 200


def test_stored_key_not_reused_on_another_port(client: TestClient) -> None:
    assert _put(client, {"main": CARD}).status_code == 200
    moved = _manual("https://api.z.ai:8443/api/coding/paas/v4")
    assert _loc(_put(client, {"main": moved})) == ["body", "main", "api_key"]
    assert _loc(_test(client, {"main": moved})) == ["body", "main", "api_key"]
    # the explicit default port is the same endpoint
    assert _put(client, {"main": _manual("https://api.z.ai:443/api/coding/paas/v4")}).status_code == 200
    assert client.get("/api/orgs/acme/byok", headers=_admin()).json()["main"]["api_key"] == "••••wxyz"


def test_stored_key_not_reused_when_scheme_drops_to_http(make_client: Callable[..., TestClient]) -> None:
    client = make_client(HUNKWISE_ALLOW_PRIVATE_BASE_URLS="ollama.lan")
    assert _put(client, {"main": _manual("https://ollama.lan/v1", api_key="lan-key-5555")}).status_code == 200
    downgraded = _manual("http://ollama.lan/v1")
    resp = _put(client, {"main": downgraded})
    assert _loc(resp) == ["body", "main", "api_key"] and "http://ollama.lan" in resp.text
    assert _loc(_test(client, {"main": downgraded})) == ["body", "main", "api_key"]
    # an allow-listed host may use plain http with a key typed for it
    assert _put(client, {"main": {**downgraded, "api_key": "lan-key-6666"}}).status_code == 200


def test_allow_listed_http_server_keeps_its_key_on_save_as_on_test(
    make_client: Callable[..., TestClient],
) -> None:
    """The same-endpoint rule is one rule for Save and Test: a slot on an allow-listed self-hosted
    server over plain http, sent again without its key, keeps the stored key on both. (Save had its
    own copy of the rule that re-resolved the stored endpoint without the allow-list, found it
    "changed", and asked for the key again while Test reused it.)"""
    client = make_client(HUNKWISE_ALLOW_PRIVATE_BASE_URLS="ollama.lan")
    lan = _manual("http://ollama.lan:11434/v1")
    assert _put(client, {"main": {**lan, "api_key": "lan-key-7777"}}).status_code == 200
    tested = _test(client, {"main": {**lan, "temperature": "0.2"}})
    assert tested.status_code == 200, tested.text  # the stored key was lent (the host does not resolve)
    saved = _put(client, {"main": {**lan, "temperature": "0.2"}})
    assert saved.status_code == 200, saved.text
    shown = client.get("/api/orgs/acme/byok", headers=_admin()).json()["main"]
    assert shown["api_key"] == "••••7777" and shown["config"]["temperature"] == 0.2
    # another port on the same host is another endpoint, on both
    moved = _manual("http://ollama.lan:8080/v1")
    assert _loc(_put(client, {"main": moved})) == ["body", "main", "api_key"]
    assert _loc(_test(client, {"main": moved})) == ["body", "main", "api_key"]
