"""The cluster promises, with real OS processes sharing one Redis and one simulator:
the per-key limit holds under contention, FIFO order across processes, a SIGKILLed holder's
slot frees by lease expiry, a circuit opened by one process is honoured by another, and the
adaptive limit is shared.
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import pytest
import redis as redis_sync
from cluster_helpers import result

from hunkwise.gateway import RedisBackend
from hunkwise.sim import KeyConfig
from simkeys import CODING_LITE_KEY, DEV_KEY

pytestmark = pytest.mark.redis


def _cfg(redis_url: str, namespace: str, **extra: Any) -> dict[str, Any]:
    return {"redis_url": redis_url, "namespace": namespace, **extra}


async def test_limit_holds_across_processes_without_a_single_1302(
    sim_factory: Any, redis_url: str, namespace: str, spawn: Any
) -> None:
    server = sim_factory(keys=[KeyConfig(key=CODING_LITE_KEY, kind="coding")], latency_ms=150)
    slot = {"name": "main", "base_url": server.zai_coding_url, "key": CODING_LITE_KEY, "limit": 1}
    procs = [spawn("chat", _cfg(redis_url, namespace, slots=[slot], calls=4, name=f"w{i}")) for i in range(3)]
    outcomes = [o for p in procs for o in (await asyncio.to_thread(result, p, 120))["outcomes"]]
    assert outcomes == [["main:ok"]] * 12  # no retries: nobody was ever refused
    stats = server.key_stats(CODING_LITE_KEY)
    assert stats["max_in_flight"] == 1
    assert stats["errors"] == {}
    assert stats["ok"] == 12 and stats["requests"] == 12


async def test_grants_follow_arrival_order_across_processes(
    redis_url: str, namespace: str, spawn: Any
) -> None:
    holder = RedisBackend(redis_url, namespace=namespace)
    lease = await holder.acquire("cred", 1)
    names = [f"p{i}" for i in range(4)]
    procs = []
    for i, name in enumerate(names):  # each process queues only after the previous one did
        procs.append(spawn("queue", _cfg(redis_url, namespace, credential="cred", limit=1, name=name)))
        for _ in range(1000):
            if await holder.queued("cred") == i + 1:
                break
            await asyncio.sleep(0.01)
        assert await holder.queued("cred") == i + 1
    await lease.release()
    waits = [(await asyncio.to_thread(result, p, 60))["waited_ms"] for p in procs]
    client = redis_sync.Redis.from_url(redis_url, decode_responses=True)
    order = client.lrange(f"{namespace}:test-order", 0, -1)
    client.close()
    assert order == names
    assert all(w > 0 for w in waits)
    assert await holder.in_flight("cred") == 0 and await holder.queued("cred") == 0
    await holder.aclose()


async def test_a_killed_holders_slot_frees_when_its_lease_expires(
    redis_url: str, namespace: str, spawn: Any
) -> None:
    ttl = 1.2  # short, so the test is; still four heartbeats (ttl / 4) to renew each lease
    proc = spawn("hold", _cfg(redis_url, namespace, credential="cred", limit=1, lease_ttl_s=ttl))
    line = await asyncio.to_thread(proc.stdout.readline)
    assert line.strip() == "HELD"
    backend = RedisBackend(redis_url, namespace=namespace, lease_ttl_s=ttl, heartbeat_s=ttl / 4)
    await asyncio.sleep(ttl * 1.5)  # past one TTL: the heartbeat keeps a live holder's lease
    assert await backend.in_flight("cred") == 1
    proc.send_signal(signal.SIGKILL)
    await asyncio.to_thread(proc.wait, 10)
    assert await backend.in_flight("cred") == 1  # nobody released it: only expiry can free it
    lease = await asyncio.wait_for(backend.acquire("cred", 1), ttl * 5)
    assert lease.waited_ms > 0
    assert await backend.in_flight("cred") == 1
    await lease.release()
    await backend.aclose()


async def test_a_circuit_opened_by_one_process_is_skipped_by_another(
    sim_factory: Any, redis_url: str, namespace: str, spawn: Any
) -> None:
    server = sim_factory(
        keys=[
            KeyConfig(key=CODING_LITE_KEY, kind="coding", quota_5h=0),
            KeyConfig(key=DEV_KEY, kind="developer"),
        ]
    )
    slots = [
        {"name": "main", "base_url": server.zai_coding_url, "key": CODING_LITE_KEY, "limit": 1},
        {"name": "fallback", "base_url": server.zai_developer_url, "key": DEV_KEY},
    ]
    first = result(spawn("chat", _cfg(redis_url, namespace, slots=slots)), 60)
    assert first["outcomes"] == [["main:quota_window", "fallback:ok"]]
    second = result(spawn("chat", _cfg(redis_url, namespace, slots=slots, calls=2)), 60)
    assert second["outcomes"] == [["main:skipped_open_circuit", "fallback:ok"]] * 2
    assert server.key_stats(CODING_LITE_KEY)["requests"] == 1  # only the first process called it
    backend = RedisBackend(redis_url, namespace=namespace)
    circuits = await backend.circuits(time.time())
    assert [(c.model, c.kind) for c in circuits] == [("glm-5.1", "quota_window")]
    await backend.aclose()


async def test_adaptive_limit_lowered_by_one_process_binds_the_others(
    redis_url: str, namespace: str, spawn: Any
) -> None:
    out = result(spawn("lower", _cfg(redis_url, namespace, credential="cred", limit=4, times=2)), 60)
    assert out["effective"] == 2
    backend = RedisBackend(redis_url, namespace=namespace)
    held = [await backend.acquire("cred", 4, adaptive=True) for _ in range(2)]
    assert backend.effective_limit("cred") == 2
    third = asyncio.create_task(backend.acquire("cred", 4, adaptive=True))
    for _ in range(1000):  # until it waits in the cluster-wide queue
        if await backend.queued("cred") >= 1:
            break
        await asyncio.sleep(0.01)
    assert not third.done()  # two in flight is the cluster's limit now, not four
    await held[0].release()
    lease = await asyncio.wait_for(third, 5)
    for item in (lease, held[1]):
        await item.release()
    await backend.aclose()
