"""Spread mode (``Router(spread=True)``, the ``to-finish-faster`` spill policy): concurrent calls
take whichever slot has a free concurrency lease, Main first when both do, and every key's cap
holds (the simulator answers 1302 the moment a key goes over its own)."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway_helpers import FAST, make_slot

from hunkwise.gateway import ChatRequest, Router
from hunkwise.gateway.limits.local import LocalBackend
from hunkwise.sim import KeyConfig
from simkeys import CODING_LITE_KEY, DEV_KEY


def _slots(server: Any) -> list[Any]:
    main = make_slot(server.zai_coding_url, CODING_LITE_KEY, plan="coding", tier="lite", max_concurrent=1)
    fallback = make_slot(
        server.zai_developer_url, DEV_KEY, name="fallback", plan="developer", max_concurrent=2
    )
    return [main, fallback]


def _keys() -> list[KeyConfig]:
    return [
        KeyConfig(key=CODING_LITE_KEY, kind="coding", tier="lite", concurrency=1),
        KeyConfig(key=DEV_KEY, kind="developer", concurrency=2),
    ]


async def test_spread_calls_share_main_and_fallback_within_each_cap(sim_factory: Any) -> None:
    server = sim_factory(keys=_keys(), latency_ms=40)
    backend = LocalBackend()
    async with Router(_slots(server), policy=FAST, backend=backend, spread=True) as router:
        results = await asyncio.gather(*(router.chat(ChatRequest.of(f"chunk {i}")) for i in range(9)))
    used = [r.attempts[-1].slot for r in results]
    assert used.count("main") >= 1 and used.count("fallback") >= 1, used
    assert all(len(r.attempts) == 1 for r in results), "no call was refused: the caps held"
    lite, dev = server.key_stats(CODING_LITE_KEY), server.key_stats(DEV_KEY)
    assert lite["ok"] + dev["ok"] == 9 and lite["errors"] == dev["errors"] == {}
    assert lite["max_in_flight"] == 1 and dev["max_in_flight"] <= 2


async def test_without_spread_every_call_waits_for_main(sim_factory: Any) -> None:
    server = sim_factory(keys=_keys(), latency_ms=5)
    async with Router(_slots(server), policy=FAST, backend=LocalBackend()) as router:
        results = await asyncio.gather(*(router.chat(ChatRequest.of(f"chunk {i}")) for i in range(4)))
    assert {r.attempts[-1].slot for r in results} == {"main"}
    assert server.key_stats(DEV_KEY)["ok"] == 0


async def test_a_lone_call_in_spread_mode_takes_main_when_it_is_free(sim_factory: Any) -> None:
    server = sim_factory(keys=_keys())
    async with Router(_slots(server), policy=FAST, backend=LocalBackend(), spread=True) as router:
        first = await router.chat(ChatRequest.of("one"))
        second = await router.chat(ChatRequest.of("two"))
    assert [first.attempts[-1].slot, second.attempts[-1].slot] == ["main", "main"]
    assert not first.attempts[-1].failover


async def test_spread_still_fails_over_when_main_is_spent(sim_factory: Any) -> None:
    keys = [
        KeyConfig(key=CODING_LITE_KEY, kind="coding", tier="lite", quota_5h=0),
        KeyConfig(key=DEV_KEY, kind="developer"),
    ]
    server = sim_factory(keys=keys)
    async with Router(_slots(server), policy=FAST, backend=LocalBackend(), spread=True) as router:
        result = await router.chat(ChatRequest.of("one"))
    assert [a.slot for a in result.attempts] == ["main", "fallback"]
    assert result.attempts[0].code == "1308" and result.attempts[-1].outcome == "ok"
