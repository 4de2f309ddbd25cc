"""``GET /api/orgs/{org}/usage/windows`` and the console's windows cards, against the simulator's
quota monitor through the server's SSRF-guarded, shared monitor.

Prompts are spent on the key *outside* hunkwise (straight to the simulator), as another tool on
the same key would: the ledger cannot see them, the monitor can, and the view must say which
figure it used."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import openai
import pytest
from fastapi.testclient import TestClient
from srvkit import admin_headers, bearer
from webkit import create_org, sign_in

from hunkwise.sim import KeyConfig, SimConfig, SimulatorServer

KEY = "windows-api-coding-key-01"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimConfig(keys=[KeyConfig(key=KEY, kind="coding", tier="lite")])) as server:
        client = openai.OpenAI(api_key=KEY, base_url=server.zai_coding_url, max_retries=0, timeout=10)
        for _ in range(6):  # 6 of Lite's 120: the monitor says 5 %
            client.chat.completions.create(model="glm-5.1", messages=[{"role": "user", "content": "hi"}])
        yield server


def _configure(client: TestClient, sim: SimulatorServer) -> str:
    token = create_org(client, "acme")
    main = {
        "card": "glm-5.1",
        "plan": "coding",
        "tier": "lite",
        "base_url": sim.zai_coding_url,
        "api_key": KEY,
    }
    resp = client.put("/api/orgs/acme/byok", json={"main": main}, headers=admin_headers())
    assert resp.status_code == 200, resp.text
    return token


def test_windows_api_merges_the_monitor_for_the_orgs_key(
    make_client: Callable[..., TestClient], sim: SimulatorServer
) -> None:
    client = make_client(HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1")
    token = _configure(client, sim)
    assert client.get("/api/orgs/acme/usage/windows").status_code == 401
    other = create_org(client, "other")
    assert client.get("/api/orgs/acme/usage/windows", headers=bearer(other)).status_code == 403

    resp = client.get("/api/orgs/acme/usage/windows", headers=bearer(token))
    assert resp.status_code == 200, resp.text
    assert KEY not in resp.text
    body = resp.json()
    assert body["org"] == "acme" and body["monitor_enabled"] is True and body["note"] is None
    (w,) = body["windows"]
    assert w["tier"] == "lite" and w["model"] == "glm-5.1" and w["multiplier"] in (2, 3)
    assert w["peak_hours"] == "14:00-18:00 UTC+8"
    assert w["monitor"]["status"] == "ok" and w["monitor"]["diagnosis"] is None
    five = w["five_hour"]
    assert five["used"] == 0  # hunkwise sent nothing with this key...
    assert five["capacity"]["source"] == "monitor"  # ...but the monitor saw the other tool's 6
    assert five["capacity"]["remaining"] == 114 and w["remaining_prompts"] == 114
    assert (
        five["capacity"]["forecast"]["message"]
        == "no forecast: nothing was sent on this key in the last hour"
    )
    assert w["monitor"]["reading"]["windows"]["5h"]["percentage"] == 5

    # The second read within the minute is the cached one: no new request to the provider.
    sent = client.app.state.runtime.quota_monitor.requests_sent  # type: ignore[attr-defined]
    again = client.get("/api/orgs/acme/usage/windows", headers=bearer(token)).json()
    assert again["windows"][0]["monitor"]["cached"] is True
    assert client.app.state.runtime.quota_monitor.requests_sent == sent  # type: ignore[attr-defined]

    sign_in(client, token, "/console/usage")
    page = client.get("/console/usage").text
    assert "Coding Plan quota windows" in page and "source: monitor" in page
    assert "Multiplier now: <strong>x" in page and "Quota monitor: ok" in page and KEY not in page


def test_monitor_off_falls_back_to_the_ledger_and_says_why(
    make_client: Callable[..., TestClient], sim: SimulatorServer
) -> None:
    client = make_client(HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1", HUNKWISE_QUOTA_MONITOR="off")
    token = _configure(client, sim)
    body = client.get("/api/orgs/acme/usage/windows", headers=bearer(token)).json()
    assert body["monitor_enabled"] is False
    (w,) = body["windows"]
    assert w["monitor"]["status"] == "unavailable"
    assert "HUNKWISE_QUOTA_MONITOR=off" in w["monitor"]["diagnosis"]
    assert w["five_hour"]["capacity"]["source"] == "ledger" and w["five_hour"]["capacity"]["remaining"] == 120


def test_a_stored_endpoint_the_policy_now_refuses_is_a_note_not_an_error(
    make_client: Callable[..., TestClient], sim: SimulatorServer
) -> None:
    _configure(make_client(HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1"), sim)
    strict = make_client()  # the same store, the allow-list gone: loopback is private again
    resp = strict.get("/api/orgs/acme/usage/windows", headers=admin_headers())
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["windows"] == []  # nothing in the ledger, and the slot could not be built
    assert body["note"].startswith("the organization's models could not be loaded (")
    assert "HUNKWISE_ALLOW_PRIVATE_BASE_URLS" in body["note"] and KEY not in resp.text
