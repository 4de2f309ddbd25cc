"""Garbage in -> a provider-shaped 400 naming the field; the simulator never crashes."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simkeys import ANTHROPIC_KEY, DEV_KEY, OPENAI_KEY

ZAI = "/api/paas/v4/chat/completions"
_OK = b'{"model": "glm-5.1", "messages": [{"role": "user", "content": "x"}]}'


def post(sim, path: str, content: bytes | str, key: str = DEV_KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", "x-api-key": key, "content-type": "application/json"}
    return httpx.post(sim.base_url + path, content=content, headers=headers, timeout=10)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "JSON"),
        (b"", "empty"),
        (b"[1, 2]", "JSON object"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "model"),
        (b'{"model": "glm-5.1"}', "messages"),
        (b'{"model": "glm-5.1", "messages": "hello"}', "messages"),
        (b'{"model": "glm-5.1", "messages": []}', "messages"),
        (b'{"model": 5, "messages": [{"role": "user", "content": "x"}]}', "model"),
        (b'{"model": "glm-5.1", "messages": [{"role": "robot", "content": "x"}]}', "messages[0].role"),
        (b'{"model": "glm-5.1", "messages": [{"role": "user", "content": 7}]}', "messages[0].content"),
        (
            b'{"model": "glm-5.1", "messages": [{"role": "user", "content": "x"}], "max_tokens": "9"}',
            "max_tokens",
        ),
        (b'{"model": "glm-5.1", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}', "stream"),
        (
            _OK[:-1] + b', "thinking": {"type": "on"}}',
            "thinking.type",
        ),
        (
            b'{"model": "glm-5.1", "messages": [{"role": "user", "content": "x"}], "temperature": 9}',
            "temperature",
        ),
    ],
)
def test_zai_bad_body_names_the_field(sim, body: bytes, field: str) -> None:
    r = post(sim, ZAI, body)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "1210"
    assert field in error["message"]


def test_openai_and_anthropic_bad_bodies_use_their_shapes(sim) -> None:
    r = post(sim, "/v1/chat/completions", b'{"model": "gpt-5"}', key=OPENAI_KEY)
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "messages"
    assert r.json()["error"]["type"] == "invalid_request_error"
    r = post(sim, "/v1/messages", b'{"model": "claude-haiku-4-5", "messages": []}', key=ANTHROPIC_KEY)
    assert r.status_code == 400
    assert r.json()["type"] == "error"
    assert "max_tokens" in r.json()["error"]["message"]


def test_auth_is_checked_before_the_body(sim) -> None:
    r = post(sim, ZAI, b"garbage", key="not-a-key")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "1002")
    r = httpx.post(sim.base_url + ZAI, content=b"{}")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "1001")


def test_bad_advance_and_requests_params(sim) -> None:
    assert httpx.post(sim.base_url + "/_sim/advance", json={"seconds": -1}).status_code == 400
    assert httpx.post(sim.base_url + "/_sim/advance", content=b"zzz").status_code == 400
    assert httpx.get(sim.base_url + "/_sim/requests", params={"limit": "x"}).status_code == 400
    assert httpx.get(sim.base_url + "/nope").status_code == 404


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
_fields = st.fixed_dictionaries(
    {},
    optional={
        "model": _json | st.sampled_from(["glm-5.1", "glm-4.5", "claude-haiku-4-5", "gpt-5"]),
        "messages": _json | st.just([{"role": "user", "content": "hi"}]),
        "stream": _json,
        "max_tokens": _json,
        "thinking": _json,
        "response_format": _json,
        "stream_options": _json,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_fields, path=st.sampled_from([ZAI, "/v1/chat/completions", "/v1/messages"]))
def test_random_bodies_never_crash_the_simulator(sim, body: dict, path: str) -> None:
    key = {ZAI: DEV_KEY, "/v1/chat/completions": OPENAI_KEY, "/v1/messages": ANTHROPIC_KEY}[path]
    import json

    r = post(sim, path, json.dumps(body), key=key)
    assert r.status_code in (200, 400, 404), r.text
    if r.status_code != 200:
        assert "error" in r.json()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_random_bytes_never_crash_the_simulator(sim, raw: bytes) -> None:
    r = post(sim, ZAI, raw)
    assert r.status_code in (200, 400)
