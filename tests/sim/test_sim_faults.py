"""Injected faults: each kind looks right on the wire, and a seed makes the sequence repeatable."""

from __future__ import annotations

import httpx
import openai
import pytest

from simkeys import DEV_KEY

HELLO = [{"role": "user", "content": "Say hello."}]


def _client(sim, timeout: float = 10) -> openai.OpenAI:
    return openai.OpenAI(api_key=DEV_KEY, base_url=sim.zai_developer_url, max_retries=0, timeout=timeout)


def _outcome(client: openai.OpenAI) -> str:
    try:
        client.chat.completions.create(model="glm-5.1", messages=HELLO)
        return "ok"
    except openai.APIStatusError as exc:
        return str(exc.status_code)
    except openai.APIConnectionError:
        return "connection"
    except Exception as exc:  # a truncated body fails to parse
        return type(exc).__name__


def test_same_seed_same_fault_sequence(sim_factory) -> None:
    kinds = ("500", "502", "503", "1305", "1312", "reset", "truncated")
    a = sim_factory(fault_rate=0.5, seed=42, faults=kinds)
    b = sim_factory(fault_rate=0.5, seed=42, faults=kinds)
    c = sim_factory(fault_rate=0.5, seed=7, faults=kinds)
    clients = [_client(s) for s in (a, b, c)]
    runs = [[_outcome(cl) for _ in range(30)] for cl in clients]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert 5 < runs[0].count("ok") < 25
    assert a.key_stats(DEV_KEY)["errors"] == b.key_stats(DEV_KEY)["errors"]
    a.reset()  # a reset restarts the RNG: the same sequence again
    assert [_outcome(clients[0]) for _ in range(30)] == runs[0]


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("500", 500, "500"), ("503", 503, "503"), ("1305", 429, "1305"), ("1312", 429, "1312")],
)
def test_http_faults_have_zai_shape(sim_factory, kind: str, status: int, code: str) -> None:
    server = sim_factory(fault_rate=1.0, faults=(kind,))
    with pytest.raises(openai.APIStatusError) as info:
        _client(server).chat.completions.create(model="glm-5.1", messages=HELLO)
    assert info.value.status_code == status
    assert info.value.body["code"] == code  # type: ignore[index]
    stats = server.key_stats(DEV_KEY)
    assert stats["errors"] == {kind: 1}
    assert stats["window_5h_prompts"] == 0  # a server-side failure is refunded


def test_502_is_an_html_proxy_page(sim_factory) -> None:
    server = sim_factory(fault_rate=1.0, faults=("502",))
    r = httpx.post(
        server.zai_developer_url + "/chat/completions",
        json={"model": "glm-5.1", "messages": HELLO},
        headers={"Authorization": f"Bearer {DEV_KEY}"},
    )
    assert r.status_code == 502
    assert r.headers["content-type"].startswith("text/html")


def test_reset_closes_the_connection_without_a_response(sim_factory) -> None:
    server = sim_factory(fault_rate=1.0, faults=("reset",))
    with pytest.raises(openai.APIConnectionError):
        _client(server).chat.completions.create(model="glm-5.1", messages=HELLO)
    assert server.key_stats(DEV_KEY)["errors"] == {"reset": 1}
    assert server.key_stats(DEV_KEY)["in_flight"] == 0


def test_truncated_body_is_cut_json(sim_factory) -> None:
    server = sim_factory(fault_rate=1.0, faults=("truncated",))
    r = httpx.post(
        server.zai_developer_url + "/chat/completions",
        json={"model": "glm-5.1", "messages": HELLO},
        headers={"Authorization": f"Bearer {DEV_KEY}"},
    )
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    assert server.key_stats(DEV_KEY)["errors"] == {"truncated": 1}


def test_truncated_stream_ends_without_done(sim_factory) -> None:
    server = sim_factory(fault_rate=1.0, faults=("truncated",))
    with httpx.stream(
        "POST",
        server.zai_developer_url + "/chat/completions",
        json={"model": "glm-5.1", "messages": HELLO, "stream": True},
        headers={"Authorization": f"Bearer {DEV_KEY}"},
    ) as r:
        text = r.read().decode()
    assert text.startswith("data: ")
    assert "[DONE]" not in text
    assert not text.endswith("\n\n")


def test_hang_outlasts_the_client_timeout_and_frees_its_slot(sim_factory) -> None:
    server = sim_factory(fault_rate=1.0, faults=("hang",))
    with pytest.raises(openai.APITimeoutError):
        _client(server, timeout=0.5).chat.completions.create(model="glm-5.1", messages=HELLO)
    assert server.key_stats(DEV_KEY)["errors"] == {"hang": 1}
    # The server notices the client left and releases the slot; stop() must not wait 300 s either.
