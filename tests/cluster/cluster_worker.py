"""A separate OS process for the cluster tests: ``python cluster_worker.py MODE JSON``.

Modes: ``chat`` (N concurrent chats through a Router on the RedisBackend, prints the outcomes),
``hold`` (takes a lease, prints HELD, then sleeps until killed), ``queue`` (waits for a lease,
appends its name to a Redis list when granted, holds briefly, releases), ``lower`` (reports
1302s). Prints one JSON line on stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from hunkwise.errors import Backoff
from hunkwise.gateway import AllSlotsFailed, ChatRequest, RedisBackend, RetryPolicy, Router, Secret, Slot

FAST = RetryPolicy(rate_retries=4, transient_retries=1, backoff=Backoff(base_s=0.01, max_s=0.05, jitter=0.5))


def _slots(cfg: dict[str, Any]) -> list[Slot]:
    return [
        Slot(
            name=s["name"],
            provider="zai",
            base_url=s["base_url"],
            model="glm-5.1",
            api_key=Secret(s["key"]),
            max_concurrent=s.get("limit"),
            timeout_s=30.0,
        )
        for s in cfg["slots"]
    ]


def _backend(cfg: dict[str, Any]) -> RedisBackend:
    ttl = float(cfg.get("lease_ttl_s", 30))
    return RedisBackend(cfg["redis_url"], namespace=cfg["namespace"], lease_ttl_s=ttl, heartbeat_s=ttl / 4)


async def chat(cfg: dict[str, Any]) -> dict[str, Any]:
    backend = _backend(cfg)
    outcomes: list[list[str]] = []
    async with Router(_slots(cfg), backend=backend, policy=FAST) as router:

        async def one(i: int) -> None:
            try:
                result = await router.chat(ChatRequest.of(f"{cfg.get('name', 'w')} call {i}"))
                attempts = result.attempts
            except AllSlotsFailed as exc:
                attempts = exc.attempts
            outcomes.append([f"{a.slot}:{a.outcome}" for a in attempts])

        await asyncio.gather(*(one(i) for i in range(int(cfg.get("calls", 1)))))
    await backend.aclose()
    return {"outcomes": outcomes}


async def hold(cfg: dict[str, Any]) -> dict[str, Any]:
    backend = _backend(cfg)
    await backend.acquire(cfg["credential"], int(cfg["limit"]))
    print("HELD", flush=True)
    await asyncio.sleep(3600)
    return {}


async def queue(cfg: dict[str, Any]) -> dict[str, Any]:
    backend = _backend(cfg)
    lease = await backend.acquire(cfg["credential"], int(cfg["limit"]))
    from redis import asyncio as aioredis

    client = aioredis.from_url(cfg["redis_url"])
    await client.rpush(f"{cfg['namespace']}:test-order", cfg["name"])
    await client.aclose()
    await asyncio.sleep(0.05)
    await lease.release()
    await backend.aclose()
    return {"waited_ms": lease.waited_ms}


async def lower(cfg: dict[str, Any]) -> dict[str, Any]:
    backend = _backend(cfg)
    await (await backend.acquire(cfg["credential"], int(cfg["limit"]), adaptive=True)).release()
    for _ in range(int(cfg["times"])):
        await backend.report_concurrency_error(cfg["credential"])
    effective = backend.effective_limit(cfg["credential"])
    await backend.aclose()
    return {"effective": effective}


MODES = {"chat": chat, "hold": hold, "queue": queue, "lower": lower}

if __name__ == "__main__":
    mode, raw = sys.argv[1], sys.argv[2]
    print(json.dumps(asyncio.run(MODES[mode](json.loads(raw)))), flush=True)
