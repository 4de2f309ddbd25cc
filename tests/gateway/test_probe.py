"""`hunkwise test` diagnoses, exactly as the CLI and the web console print them."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from gateway_helpers import SimClock, make_slot

from hunkwise.gateway import probe_slot, probe_slots
from hunkwise.sim import KeyConfig
from simkeys import CODING_LITE_KEY, CODING_PRO_KEY, DEV_KEY, OPENAI_KEY
from waiting import eventually, sim_in_flight


async def test_healthy_slot(sim: Any) -> None:
    d = await probe_slot(make_slot(sim.zai_developer_url, DEV_KEY))
    assert d.ok and d.kind is None and d.detected_plan == "developer"
    assert d.summary.startswith("main: zai/glm-5.1: OK, glm-5.1 answered in ")
    body = sim.requests()[-1]["body"]
    assert body["max_tokens"] == 16 and body["thinking"] == {"type": "disabled"}
    json.dumps(d.as_dict())  # JSON-able for `hunkwise test --json`


async def test_coding_key_on_developer_endpoint_says_which_plan(sim: Any) -> None:
    d = await probe_slot(make_slot(sim.zai_developer_url, CODING_LITE_KEY))
    assert not d.ok and d.kind == "auth" and d.status == 401
    assert d.detected_plan == "coding"
    assert "this is a Coding Plan key: choose the Coding Plan" in d.summary
    assert d.advice[0].startswith("Set HUNKWISE_PLAN=coding")
    assert CODING_LITE_KEY not in json.dumps(d.as_dict())


async def test_developer_key_on_coding_endpoint(sim: Any) -> None:
    d = await probe_slot(make_slot(sim.zai_coding_url, DEV_KEY, name="fallback"))
    assert "this is a Developer API key: choose the Developer API" in d.summary
    assert d.advice[0].startswith("Set HUNKWISE_FALLBACK_PLAN=developer")


async def test_key_rejected_by_both_endpoints(sim: Any) -> None:
    d = await probe_slot(make_slot(sim.zai_developer_url, "sk-nonsense"))
    assert d.kind == "auth" and d.detected_plan == "developer"
    assert "both the Developer API and the Coding Plan endpoints reject this key" in d.summary


async def test_1302_names_the_tier_concurrency(sim_factory: Any) -> None:
    server = sim_factory(latency_ms=1500)
    slot = make_slot(server.zai_coding_url, CODING_PRO_KEY, tier="pro")
    busy = asyncio.create_task(probe_slot(slot))  # holds the Pro tier's single slot
    await eventually(sim_in_flight(server, CODING_PRO_KEY), "the first probe at the simulator")
    d = await probe_slot(slot)
    await busy
    assert d.kind == "concurrency" and d.code == "1302"
    assert "the Coding Plan Pro tier allows 1 at a time; set max concurrent requests to 1" in d.summary
    assert d.advice[0].startswith("Set HUNKWISE_MAX_CONCURRENT=1")


async def test_1308_says_when_it_resets_and_who_serves(sim_factory: Any) -> None:
    server = sim_factory(
        keys=[
            KeyConfig(key=CODING_LITE_KEY, kind="coding", quota_5h=0),
            KeyConfig(key=OPENAI_KEY, kind="openai"),
        ]
    )
    main = make_slot(server.zai_coding_url, CODING_LITE_KEY, tier="lite")
    fallback = make_slot(
        server.openai_url, OPENAI_KEY, name="fallback", provider="openai", model="gpt-5-mini"
    )
    d_main, d_fallback = await probe_slots([main, fallback], clock=SimClock(server))
    assert d_fallback.ok
    assert d_main.kind == "quota_window" and d_main.code == "1308" and d_main.reset_at
    assert "quota exhausted: the 5-hour usage window is used up (1308); it resets at " in d_main.summary
    assert "(in 5 h)" in d_main.summary
    assert d_main.advice == ["The fallback (fallback: openai/gpt-5-mini) will serve until then."]


async def test_1310_without_fallback(sim_factory: Any) -> None:
    server = sim_factory(quota_week=0)
    (d,) = await probe_slots([make_slot(server.zai_coding_url, CODING_LITE_KEY)])
    assert "the weekly usage window is used up (1310)" in d.summary
    assert d.advice[0].startswith("No fallback is configured, so reviews fail until then")


async def test_1211_suggests_the_nearest_catalog_ids(sim: Any) -> None:
    d = await probe_slot(make_slot(sim.zai_developer_url, DEV_KEY, model="glm-5.2"))
    assert d.kind == "model_not_found" and d.code == "1211"
    assert d.suggestions[:2] == ["glm-5.1", "glm-5"] or "glm-5.1" in d.suggestions
    assert "model 'glm-5.2' not found (1211); nearest catalog ids: glm-5.1" in d.summary


async def test_connection_refused_is_reported_exactly() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = await probe_slot(make_slot(f"http://127.0.0.1:{port}/api/paas/v4", DEV_KEY))
    assert d.kind == "network"
    assert (
        f"cannot reach http://127.0.0.1:{port}/api/paas/v4: connection refused by 127.0.0.1:{port}"
        in d.summary
    )


async def test_dns_failure_is_reported_exactly() -> None:
    d = await probe_slot(make_slot("https://api.z-ai.invalid/api/paas/v4", DEV_KEY))
    assert d.kind == "network" and "DNS lookup failed for api.z-ai.invalid" in d.summary


async def test_hang_is_a_timeout_within_the_probe_budget(sim_factory: Any) -> None:
    server = sim_factory(fault_rate=1.0, faults=("hang",), hang_seconds=30)
    d = await probe_slot(make_slot(server.zai_developer_url, DEV_KEY), timeout_s=0.5)
    assert d.kind == "timeout" and "no answer within 0.5 s" in d.summary


async def test_invalid_override_is_diagnosed_without_a_request(sim: Any) -> None:
    d = await probe_slot(make_slot(sim.zai_developer_url, DEV_KEY, thinking="{oops"))
    assert d.kind == "configuration" and "line 1, column 2" in d.summary
    assert sim.requests() == []
