"""Regression tests for reviewed router bugs: a circuit is re-read after waiting for a lease."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway_helpers import FAST, SimClock, make_slot

from hunkwise.gateway import ChatRequest, Router
from hunkwise.sim import KeyConfig
from simkeys import CODING_LITE_KEY, DEV_KEY


async def test_calls_queued_behind_a_spent_key_skip_it(sim_factory: Any) -> None:
    server = sim_factory(
        latency_ms=20,
        keys=[
            KeyConfig(key=CODING_LITE_KEY, kind="coding", quota_5h=0),
            KeyConfig(key=DEV_KEY, kind="developer"),
        ],
    )
    main = make_slot(server.zai_coding_url, CODING_LITE_KEY, max_concurrent=1)
    fallback = make_slot(server.zai_developer_url, DEV_KEY, name="fallback")
    async with Router([main, fallback], policy=FAST, clock=SimClock(server)) as router:
        results = await asyncio.gather(*(router.chat(ChatRequest.of(f"p{i}")) for i in range(8)))
    assert all(r.slot == "fallback" for r in results)
    stats = server.key_stats(CODING_LITE_KEY)
    assert stats["requests"] == 1 and stats["errors"] == {"1308": 1}
    outcomes = sorted(r.attempts[0].outcome for r in results)
    assert outcomes == ["quota_window"] + ["skipped_open_circuit"] * 7
