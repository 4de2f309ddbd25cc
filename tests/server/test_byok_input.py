"""BYOK input over HTTP: what can never work is refused at save with a 422 naming the field (and
never echoing the key); rows stored before a rule existed fail as configuration errors; provider-side
failures (DNS, refused, TLS, reset, timeout, 5xx, malformed body) are diagnoses, never a 500."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from srvkit import admin_headers
from webkit import create_org, page_csrf, sign_in

from hunkwise.store.tables import ByokSlot, Organization
from simkeys import DEV_KEY

SMART_KEY = "zai-key\u201d0000-wxyz"  # a key pasted from a word processor: a smart quote inside
KEY = "some-key-0000-wxyz"
UNRESOLVABLE = "https://llm.hunkwise-test.invalid/v1"  # .invalid never resolves (RFC 6761)


def _manual(**changes: Any) -> dict[str, Any]:
    spec = {"provider": "openai_compatible", "base_url": "https://8.8.8.8/v1", "model": "m", "api_key": KEY}
    spec.update(changes)
    return spec


def _card(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"card": "glm-5.1", "api_key": KEY}
    spec.update(changes)
    return spec


@pytest.fixture
def local(make_client: Callable[..., TestClient]) -> TestClient:
    """A server that may call 127.0.0.1 (the simulator, the fake portal, a closed port)."""
    return make_client(HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1")


def _put(client: TestClient, body: dict[str, Any], org: str = "acme") -> Any:
    return client.put(f"/api/orgs/{org}/byok", json=body, headers=admin_headers())


def _test(client: TestClient, body: dict[str, Any] | None = None, org: str = "acme") -> Any:
    return client.post(f"/api/orgs/{org}/byok/test", json=body, headers=admin_headers())


# --- refused at save ----------------------------------------------------------------------------


def test_a_key_with_a_smart_quote_is_refused_at_save_and_at_test(client: TestClient) -> None:
    for resp in (
        _put(client, {"main": _card(api_key=SMART_KEY)}),
        _test(client, {"main": _manual(api_key=SMART_KEY)}),
    ):
        assert resp.status_code == 422, resp.text
        detail = resp.json()["detail"][0]
        assert detail["loc"] == ["body", "main", "api_key"]
        assert "U+201D" in detail["msg"] and "printable ASCII" in detail["msg"]
        assert not detail["msg"].startswith("Value error")
        assert SMART_KEY not in resp.text and "0000-wxyz" not in resp.text
    assert client.get("/api/orgs/acme/byok", headers=admin_headers()).status_code == 404  # nothing saved


OVERRIDE_100KB = json.dumps({"thinking": {"type": "enabled", "note": "x" * 100_000}})
DEEP_OVERRIDE = json.dumps({"thinking": {"a": [[[[[[[[[[[1]]]]]]]]]]]}})


@pytest.mark.parametrize(
    ("spec", "field", "needle"),
    [
        (_card(api_key="zai-key\x01abcd"), "api_key", "invisible character (U+0001)"),
        (_card(api_key="zai-key\x7fabcd"), "api_key", "U+007F"),
        (_card(api_key="zai-key 0000-wxyz"), "api_key", "a space at character 8"),
        (_card(api_key="first-key\nsecond-key"), "api_key", "line break"),
        (_card(api_key="Bearer zai-key-0000"), "api_key", "Bearer"),
        (_card(api_key="k" * 5000), "api_key", "at most 4,096"),
        (_manual(base_url="https://8.8.8.8/v1\r\nX-Injected: 1"), "base_url", "line break (CR)"),
        (_manual(base_url="https://8.8.8.8/v1 beta"), "base_url", "a space"),
        (_manual(base_url="https://8.8.8.8/v1\u200b"), "base_url", "U+200B"),
        (_manual(base_url="https://8.8.8.8/" + "a" * 2100), "base_url", "at most 2,048"),
        (_manual(base_url="https://[::1/v1"), "base_url", "not a valid URL"),
        (_manual(base_url="https://llm.example.com:99999/v1"), "base_url", "invalid port"),
        (_manual(base_url="https://\u0661\u0662.example/v1"), "base_url", "Invalid IDNA hostname"),
        (_manual(max_concurrent_requests=10**9), "max_concurrent_requests", "1000"),
        (_manual(max_concurrent_requests=10**30), "max_concurrent_requests", "1000"),
        (_manual(max_output_tokens=10**12), "max_output_tokens", "1000000"),
        (_card(max_output_tokens=100_000), "max_output_tokens", "GLM 5.1's maximum output of 32,768"),
        (_manual(context_window=10**12), "context_window", "10000000"),
        (_card(thinking=OVERRIDE_100KB), "thinking", "at most 16,384"),
        (_card(thinking={"thinking": {"note": "x" * 100_000}}), "thinking", "at most 16,384"),
        (_card(thinking=DEEP_OVERRIDE), "thinking", "more than 10 levels deep"),
        (_card(thinking='{"a": ' + "[" * 5000 + "]" * 5000 + "}"), "thinking", "more than 10 levels deep"),
        (_card(thinking='{"model": "glm-4.5-air"}'), "thinking", '"model"'),
        (_card(thinking='{"messages": []}'), "thinking", '"messages"'),
        (_card(thinking='{"stream": true}'), "thinking", '"stream"'),
        (_card(thinking='{"stream_options": {"include_usage": false}}'), "thinking", '"stream_options"'),
        (_card(thinking='{"n": 5}'), "thinking", '"n"'),
        (_card(thinking={"openaiCompatible": {"model": "other", "tools": []}}), "thinking", '"tools"'),
        (_card(thinking='{"max_tokens": 1000000000000}'), "thinking", "max_tokens"),
    ],
)
def test_input_that_can_never_work_is_422_naming_the_field(
    client: TestClient, spec: dict[str, Any], field: str, needle: str
) -> None:
    create_org(client)  # so "test before save" reaches the slot's rules
    for resp in (_put(client, {"main": spec}), _test(client, {"main": spec})):
        assert resp.status_code == 422, resp.text
        detail = resp.json()["detail"][0]
        assert detail["loc"] == ["body", "main", field], detail
        assert needle in detail["msg"], detail["msg"]
        assert "input" not in detail
        key = str(spec["api_key"])
        assert key not in resp.text and key[-6:] not in resp.text
    assert client.get("/api/orgs/acme/byok", headers=admin_headers()).json()["main"] is None  # nothing saved


def test_the_edges_of_the_rules_are_accepted(client: TestClient) -> None:
    pasted = _card(
        api_key="  zai-key-0000-wxyz\n",  # a paste's surrounding whitespace is stripped, kindly
        max_concurrent_requests=1000,
        max_output_tokens=32_768,  # exactly the card's maximum
        thinking={
            "openaiCompatible": {"thinking": {"type": "enabled"}, "max_tokens": 32_768, "temperature": 0.2}
        },
    )
    resp = _put(client, {"main": pasted, "fallback": _manual(base_url="https://8.8.8.8/" + "a" * 2000)})
    assert resp.status_code == 200, resp.text
    main = resp.json()["main"]
    assert main["api_key"] == "••••wxyz" and main["max_concurrent"] == 1000
    preview = client.post("/api/orgs/acme/byok/preview", json=pasted, headers=admin_headers())
    assert preview.status_code == 200, preview.text
    assert preview.json()["body"]["max_tokens"] == 32_768 and preview.json()["body"]["model"] == "glm-5.1"


def test_the_console_form_gets_the_same_422s(local: TestClient) -> None:
    sign_in(local, create_org(local))
    headers = {"X-CSRF-Token": page_csrf(local)}
    resp = local.put("/console/api/byok", json={"main": _card(api_key=SMART_KEY)}, headers=headers)
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "main", "api_key"]
    assert SMART_KEY not in resp.text
    owned = _card(thinking='{"openaiCompatible": {"stream": true}}')
    resp = local.post("/console/api/byok/preview?role=main", json=owned, headers=headers)
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "main", "thinking"]
    assert '"stream"' in resp.json()["detail"][0]["msg"]


# --- rows stored before the rules existed ---------------------------------------------------------


def _store_raw(client: TestClient, *, spec: dict[str, Any] | None = None, key: str | None = None) -> None:
    """Overwrite the saved main slot the way an older version could have stored it."""
    engine, box = client.app.state.runtime.engine, client.app.state.runtime.box  # type: ignore[attr-defined]
    with engine.begin() as conn:
        org_id = conn.scalar(select(Organization.id).where(Organization.slug == "acme"))
        values: dict[str, Any] = {}
        if spec is not None:
            values["spec"] = spec
        if key is not None:
            values["key_ciphertext"] = box.encrypt(key, org_id=org_id, role="main")
            values["key_last4"] = key[-4:]
        conn.execute(
            update(ByokSlot).where(ByokSlot.org_id == org_id, ByokSlot.role == "main").values(**values)
        )


@pytest.mark.parametrize(
    ("spec_change", "key", "needle"),
    [
        ({}, SMART_KEY, "main.api_key = (hidden) is not valid: the API key contains"),
        ({"max_concurrent_requests": 10**9}, None, "main.max_concurrent_requests = 1000000000"),
        ({"base_url_suffix": "\r\nX: 1"}, None, "main.base_url"),
        ({"thinking": '{"model": "glm-4.5-air"}'}, None, 'may not set "model"'),
        ({"max_output_tokens": 10**12}, None, "main.max_output_tokens"),
    ],
)
def test_a_stored_row_that_breaks_a_rule_is_a_configuration_error_not_a_500(
    local: TestClient, sim: Any, spec_change: dict[str, Any], key: str | None, needle: str
) -> None:
    good = {
        "provider": "openai_compatible",
        "base_url": sim.zai_developer_url,
        "model": "glm-5.1",
        "api_key": DEV_KEY,
    }
    assert _put(local, {"main": good}).status_code == 200
    stored = {k: v for k, v in good.items() if k != "api_key"}
    suffix = spec_change.pop("base_url_suffix", "")
    stored.update(spec_change, base_url=stored["base_url"] + suffix)
    _store_raw(local, spec=stored, key=key)
    tested = _test(local)
    assert tested.status_code == 409, tested.text
    assert needle in tested.json()["detail"]
    assert SMART_KEY not in tested.text
    shown = local.get("/api/orgs/acme/byok", headers=admin_headers())
    assert shown.status_code == 200, shown.text
    if key is None:  # the key is not decrypted for display: only the settings are re-checked there
        assert needle in shown.json()["main"]["error"]


# --- provider-side failures are diagnoses ---------------------------------------------------------


def test_a_host_that_does_not_resolve_is_diagnosed_as_dns(client: TestClient) -> None:
    """README's walkthrough: save a base URL, then POST /byok/test. It used to answer 500 with
    socket.gaierror escaping the SSRF-guarded connection."""
    saved = _put(client, {"main": _manual(base_url=UNRESOLVABLE)})
    assert saved.status_code == 200, saved.text
    for resp in (_test(client), _test(client, {"main": _manual(base_url=UNRESOLVABLE)})):
        assert resp.status_code == 200, resp.text
        (diagnosis,) = resp.json()["diagnoses"]
        assert diagnosis["ok"] is False and diagnosis["kind"] == "network"
        assert diagnosis["provider_message"].startswith("DNS lookup failed for llm.hunkwise-test.invalid")
        assert "DNS lookup failed for llm.hunkwise-test.invalid" in diagnosis["summary"]


class _Portal(BaseHTTPRequestHandler):
    """A 200 that is not a chat completion (a captive portal)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = b"<html><body>Please sign in to the Wi-Fi</body></html>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def portal() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Portal)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("case", "kind", "needle"),
    [
        ("refused", "network", "connection refused"),
        ("tls", "network", "TLS"),
        ("reset", "network", ""),
        ("truncated", "transient", ""),
        ("500", "transient", ""),
        ("hang", "timeout", "no answer within 1 s"),
        ("portal", "transient", "malformed body"),
    ],
)
def test_provider_side_failures_are_diagnosed_never_a_500(
    local: TestClient,
    sim: Any,
    sim_factory: Callable[..., Any],
    portal: str,
    case: str,
    kind: str,
    needle: str,
) -> None:
    spec: dict[str, Any] = {
        "provider": "openai_compatible",
        "model": "glm-5.1",
        "api_key": DEV_KEY,
        "timeout": 1,
    }
    if case == "refused":
        spec["base_url"] = f"http://127.0.0.1:{_closed_port()}/v1"
    elif case == "tls":
        spec["base_url"] = sim.zai_developer_url.replace("http://", "https://")  # TLS to a plain-HTTP server
    elif case == "portal":
        spec["base_url"] = portal
    else:
        faulty = sim_factory(fault_rate=1.0, faults=(case,), hang_seconds=30)
        spec["base_url"] = faulty.zai_developer_url
    create_org(local)
    resp = _test(local, {"main": spec})
    assert resp.status_code == 200, resp.text
    (diagnosis,) = resp.json()["diagnoses"]
    assert diagnosis["ok"] is False and diagnosis["kind"] == kind, diagnosis
    assert needle in diagnosis["provider_message"], diagnosis
