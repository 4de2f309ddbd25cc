"""SSRF policy at save and request time, the BYOK test endpoint against the simulator, fixed mode."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from srvkit import admin_headers

import simkeys
from hunkwise.config.ssrf import SsrfPolicy


def _manual(base_url: str, key: str = "some-key-1234") -> dict[str, object]:
    return {"provider": "openai_compatible", "base_url": base_url, "model": "glm-5.1", "api_key": key}


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("https://127.0.0.1:8443/v1", "loopback"),
        ("https://[::1]/v1", "loopback"),
        ("https://localhost/v1", "internal host"),
        ("https://10.1.2.3/v1", "private"),
        ("https://192.168.0.10/v1", "private"),
        ("https://100.64.0.1/v1", "carrier-grade NAT"),
        ("https://169.254.169.254/latest", "metadata"),
        ("https://[fd00:ec2::254]/v1", "metadata"),
        ("https://[::ffff:127.0.0.1]/v1", "loopback"),
        ("https://224.0.0.1/v1", "multicast"),
        ("https://0.0.0.0/v1", "unspecified"),
        ("https://metadata.google.internal/v1", "internal host"),
        ("http://8.8.8.8/v1", "must use https"),
    ],
)
def test_private_and_plain_http_base_urls_rejected(client: TestClient, url: str, needle: str) -> None:
    resp = client.put("/api/orgs/acme/byok", json={"main": _manual(url)}, headers=admin_headers())
    assert resp.status_code == 422, resp.text
    detail = resp.json()["detail"][0]
    assert detail["loc"] == ["body", "main", "base_url"]
    assert needle in detail["msg"] and "HUNKWISE_ALLOW_PRIVATE_BASE_URLS" in detail["msg"]


def test_unresolvable_host_is_saved_with_a_warning(client: TestClient) -> None:
    resp = client.put(
        "/api/orgs/acme/byok",
        json={"main": _manual("https://llm.offline.invalid/v1")},
        headers=admin_headers(),
    )
    assert resp.status_code == 200, resp.text
    assert any("does not resolve" in w for w in resp.json()["warnings"])


def test_request_time_check_catches_a_host_that_now_resolves_privately(
    make_client: Callable[..., TestClient],
) -> None:
    answers: dict[str, list[str]] = {}

    def resolver(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("no such host")
        return answers[host]

    client = make_client(ssrf_policy=SsrfPolicy(resolver=resolver))
    body = {"main": _manual("https://llm.example.test/v1")}
    assert client.put("/api/orgs/acme/byok", json=body, headers=admin_headers()).status_code == 200
    answers["llm.example.test"] = ["10.0.0.7"]  # DNS now points inside the network
    resp = client.post("/api/orgs/acme/byok/test", headers=admin_headers())
    assert resp.status_code == 409
    assert "resolves to 10.0.0.7" in resp.json()["detail"]
    answers["llm.example.test"] = ["93.184.216.34"]
    got = client.get("/api/orgs/acme/byok", headers=admin_headers()).json()
    assert got["main"]["error"] is None and got["main"]["base_url"] == "https://llm.example.test/v1"


def test_byok_test_endpoint_against_the_simulator(make_client: Callable[..., TestClient], sim) -> None:
    client = make_client(HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1")
    body = {
        "main": {
            "card": "glm-5.1",
            "base_url": sim.zai_coding_url,
            "tier": "lite",
            "api_key": simkeys.CODING_LITE_KEY,
        },
        "fallback": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": "wrong-key-0000-0000"},
    }
    resp = client.put("/api/orgs/acme/byok", json=body, headers=admin_headers())
    assert resp.status_code == 200, resp.text
    assert resp.json()["main"]["plan"] == "coding"
    result = client.post("/api/orgs/acme/byok/test", headers=admin_headers()).json()
    assert result["ok"] is False and result["mode"] == "byok"
    main, fallback = result["diagnoses"]
    assert main["ok"] is True and main["slot"].startswith("main:")
    assert fallback["ok"] is False and fallback["kind"] == "auth"
    assert "wrong-key-0000-0000" not in str(result)


def test_allow_list_permits_plain_http_to_named_host_only(
    make_client: Callable[..., TestClient], sim
) -> None:
    client = make_client(HUNKWISE_ALLOW_PRIVATE_BASE_URLS="ollama.lan")
    resp = client.put("/api/orgs/acme/byok", json={"main": _manual(sim.openai_url)}, headers=admin_headers())
    assert resp.status_code == 422  # 127.0.0.1 is not on this allow-list
    resp = client.put(
        "/api/orgs/acme/byok", json={"main": _manual("http://ollama.lan:11434/v1")}, headers=admin_headers()
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["main"]["base_url"] == "http://ollama.lan:11434/v1"


def test_fixed_mode_is_read_only(make_client: Callable[..., TestClient], sim) -> None:
    client = make_client(
        HUNKWISE_MODEL="glm-5.1",
        ZAI_API_KEY=simkeys.DEV_KEY,
        ZAI_BASE_URL=sim.base_url,
    )
    got = client.get("/api/orgs/anyone/byok", headers=admin_headers())
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["mode"] == "fixed" and body["read_only"] is True
    assert body["main"]["model"] == "glm-5.1" and body["main"]["api_key"] == "••••0001"
    assert simkeys.DEV_KEY not in got.text
    put = client.put(
        "/api/orgs/anyone/byok",
        json={"main": {"card": "glm-5.1", "api_key": "k" * 12}},
        headers=admin_headers(),
    )
    assert put.status_code == 409 and "fixed mode" in put.json()["detail"]
    assert client.delete("/api/orgs/anyone/byok", headers=admin_headers()).status_code == 409
    assert client.get("/readyz").json()["mode"] == "fixed"
    tested = client.post("/api/orgs/anyone/byok/test", headers=admin_headers()).json()
    assert tested["mode"] == "fixed" and tested["ok"] is True
