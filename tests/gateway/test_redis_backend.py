"""RedisBackend in one process against the real Redis: FIFO, the limit, cancellation, adaptive
state and circuits shared between backend instances, configuration selection and bad input.

Every test uses its own namespace, so tests never see each other's keys. Cross-process
behaviour (real OS processes, SIGKILL) lives in tests/cluster/.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis as redis_sync
from gateway_helpers import FAST, make_slot

from hunkwise.config.gateway_wiring import limits_backend
from hunkwise.config.settings import Settings
from hunkwise.errors import ConfigurationError
from hunkwise.gateway import (
    AllSlotsFailed,
    ChatRequest,
    Circuit,
    LimitsBackend,
    LocalBackend,
    RedisBackend,
    Router,
)
from hunkwise.gateway.limits import ADAPTIVE_RAISE_AFTER
from hunkwise.sim import KeyConfig
from simkeys import CODING_LITE_KEY, DEV_KEY

pytestmark = pytest.mark.redis


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    """Wait for a state another task or process is about to reach (bounded; fails otherwise)."""
    for _ in range(int(seconds / 0.01)):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the expected state was not reached in time")


async def _busy_and_queued(backend: RedisBackend, credential_id: str) -> bool:
    return await backend.in_flight(credential_id) >= 1 and await backend.queued(credential_id) >= 1


async def _at_least(count: Awaitable[int], n: int) -> bool:
    return await count >= n


@pytest.fixture
async def backend(redis_url: str, namespace: str) -> AsyncIterator[RedisBackend]:
    b = RedisBackend(redis_url, namespace=namespace)
    yield b
    await b.aclose()


async def test_is_a_limits_backend(backend: RedisBackend) -> None:
    assert isinstance(backend, LimitsBackend)
    lease = await backend.acquire("cred", None)  # no cap: nothing to wait for, nothing in Redis
    assert lease.waited_ms == 0.0
    await lease.release()


async def test_fifo_within_a_process_and_never_above_the_limit(backend: RedisBackend) -> None:
    order: list[int] = []
    running = peak = 0

    async def job(i: int) -> None:
        nonlocal running, peak
        lease = await backend.acquire("cred", 2)
        running += 1
        peak = max(peak, running)
        order.append(i)
        assert await backend.in_flight("cred") <= 2
        await asyncio.sleep(0.002 * (5 - i % 5))
        running -= 1
        await lease.release()

    tasks = []
    for i in range(24):
        tasks.append(asyncio.create_task(job(i)))
        await asyncio.sleep(0)
    await asyncio.wait_for(asyncio.gather(*tasks), 20)
    assert order == list(range(24))
    assert peak == 2
    assert await backend.in_flight("cred") == 0 and await backend.queued("cred") == 0


async def test_two_backends_share_one_limit_and_hand_over_in_arrival_order(
    redis_url: str, namespace: str
) -> None:
    """Two backend instances behave like two processes: one cluster-wide queue."""
    one = RedisBackend(redis_url, namespace=namespace)
    two = RedisBackend(redis_url, namespace=namespace)
    try:
        held = await one.acquire("cred", 1)
        order: list[str] = []

        async def wait(b: RedisBackend, name: str) -> None:
            lease = await b.acquire("cred", 1)
            order.append(name)
            await lease.release()

        first = asyncio.create_task(wait(two, "two-first"))
        await eventually(lambda: _at_least(two.queued("cred"), 1))
        second = asyncio.create_task(wait(one, "one-second"))
        await eventually(lambda: _at_least(one.queued("cred"), 2))
        assert await one.in_flight("cred") == 1
        await held.release()
        await asyncio.wait_for(asyncio.gather(first, second), 10)
        assert order == ["two-first", "one-second"]
    finally:
        await one.aclose()
        await two.aclose()


async def test_waiting_time_is_reported(backend: RedisBackend) -> None:
    first = await backend.acquire("c", 1)
    assert first.waited_ms == 0.0
    waiter = asyncio.create_task(backend.acquire("c", 1))
    await asyncio.sleep(0.1)
    await first.release()
    second = await asyncio.wait_for(waiter, 5)
    assert second.waited_ms >= 50
    await second.release()
    await second.release()  # idempotent: must not free a slot someone else holds
    assert await backend.in_flight("c") == 0


async def test_cancelled_waiters_and_holders_leak_nothing(backend: RedisBackend) -> None:
    held = await backend.acquire("c", 1)
    cancelled = asyncio.create_task(backend.acquire("c", 1))
    behind = asyncio.create_task(backend.acquire("c", 1))
    await eventually(lambda: _at_least(backend.queued("c"), 2))
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await held.release()
    lease = await asyncio.wait_for(behind, 5)
    assert await backend.in_flight("c") == 1

    async def holder() -> None:
        inner = await backend.acquire("c", 1)
        try:
            await asyncio.sleep(60)
        finally:
            await inner.release()

    holding = asyncio.create_task(holder())
    await eventually(lambda: _at_least(backend.queued("c"), 1))  # the holder waits behind ``lease``
    await lease.release()
    await eventually(lambda: _at_least(backend.in_flight("c"), 1))
    holding.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holding
    for _ in range(100):  # the shielded release finishes in the background
        if await backend.in_flight("c") == 0:
            break
        await asyncio.sleep(0.01)
    assert await backend.in_flight("c") == 0 and await backend.queued("c") == 0
    again = await asyncio.wait_for(backend.acquire("c", 1), 5)
    assert again.waited_ms == 0.0
    await again.release()


async def test_cancellation_storm_keeps_the_books_balanced(backend: RedisBackend) -> None:
    async def use() -> None:
        lease = await backend.acquire("storm", 3)
        try:
            await asyncio.sleep(0.01)
        finally:
            await lease.release()

    tasks = [asyncio.create_task(use()) for _ in range(40)]
    # The storm hits holders and waiters alike: it starts once some hold a slot and some queue.
    await eventually(lambda: _busy_and_queued(backend, "storm"))
    for task in tasks[::2]:
        task.cancel()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 20)
    for _ in range(100):
        if await backend.in_flight("storm") == 0:
            break
        await asyncio.sleep(0.01)
    assert await backend.in_flight("storm") == 0
    assert await backend.queued("storm") == 0


async def test_adaptive_limit_is_shared_and_bounded(redis_url: str, namespace: str) -> None:
    one = RedisBackend(redis_url, namespace=namespace)
    two = RedisBackend(redis_url, namespace=namespace)
    try:
        await (await one.acquire("cred", 3, adaptive=True)).release()
        for _ in range(5):  # more 1302s than the limit: never below one
            await one.report_concurrency_error("cred")
        assert one.effective_limit("cred") == 1
        assert await two.shared_effective_limit("cred") == 1
        # The other process now runs at the lowered limit: a second lease waits.
        first = await two.acquire("cred", 3, adaptive=True)
        assert two.effective_limit("cred") == 1
        blocked = asyncio.create_task(two.acquire("cred", 3, adaptive=True))
        await eventually(lambda: _at_least(two.queued("cred"), 1))
        assert not blocked.done()
        for _ in range(ADAPTIVE_RAISE_AFTER):  # successes reported by the *other* process
            await one.report_success("cred")
        second = await asyncio.wait_for(blocked, 5)  # the raise woke the waiter
        assert await one.shared_effective_limit("cred") == 2
        for _ in range(ADAPTIVE_RAISE_AFTER * 4):
            await two.report_success("cred")
        assert await one.shared_effective_limit("cred") == 3  # never above the configured max
        await first.release()
        await second.release()
    finally:
        await one.aclose()
        await two.aclose()


async def test_circuits_are_shared_listed_expire_and_close(redis_url: str, namespace: str) -> None:
    one = RedisBackend(redis_url, namespace=namespace)
    two = RedisBackend(redis_url, namespace=namespace)
    try:
        now = time.time()
        await one.open_circuit(Circuit("cred-a", "glm-5.1", now + 3600, "quota_window", "5h window spent"))
        await one.open_circuit(Circuit("cred-b", "glm-5.1", now + 1.0, "balance", "no balance"))
        seen = await two.circuit("cred-a", "glm-5.1", now)
        assert seen == Circuit("cred-a", "glm-5.1", now + 3600, "quota_window", "5h window spent")
        assert await two.circuit("cred-a", "glm-5.1", now + 3601) is None  # past its reset time
        assert await two.circuit("cred-a", "glm-4.7", now) is None
        assert sorted(c.credential_id for c in await two.circuits(now)) == ["cred-a", "cred-b"]
        # Redis drops the short one at its PEXPIREAT, a second from ``now``
        await eventually(lambda: _listed(two, ["cred-a"]))
        await two.close_circuit("cred-a", "glm-5.1")
        # ``one`` learns of the close by message (its reads are local): a moment later.
        await eventually(lambda: _is_closed(one, "cred-a"))
        assert await one.circuits(time.time()) == []
    finally:
        await one.aclose()
        await two.aclose()


async def _listed(backend: RedisBackend, credential_ids: list[str]) -> bool:
    return [c.credential_id for c in await backend.circuits(time.time())] == credential_ids


async def _is_closed(backend: RedisBackend, credential_id: str) -> bool:
    return await backend.circuit(credential_id, "glm-5.1", time.time()) is None


async def _is_open(backend: RedisBackend, credential_id: str) -> bool:
    return not await _is_closed(backend, credential_id)


def _write_circuit_like_an_old_peer(redis_url: str, namespace: str, backend: RedisBackend, cred: str) -> None:
    """Store a circuit the way a peer that does not publish would: the key and the index only."""
    key = backend._circuit_key(cred, "glm-5.1")
    until = time.time() + 600
    fields = {
        "credential_id": cred,
        "model": "glm-5.1",
        "until": until,
        "kind": "quota_window",
        "reason": "x",
    }
    value = json.dumps(fields)
    client = redis_sync.Redis.from_url(redis_url)
    try:
        client.set(key, value, pxat=int(until * 1000))
        client.sadd(f"{namespace}:circuits", key)
    finally:
        client.close()


async def test_circuit_reads_are_local_and_kept_current_by_messages_and_reloads(
    redis_url: str, namespace: str
) -> None:
    one = RedisBackend(redis_url, namespace=namespace)
    two = RedisBackend(redis_url, namespace=namespace)
    try:
        assert await _is_closed(one, "cred-a") and await _is_closed(two, "cred-a")  # both subscribed
        await one.open_circuit(Circuit("cred-a", "glm-5.1", time.time() + 600, "quota_weekly", "spent"))
        assert await _is_open(one, "cred-a")  # the opener sees its own circuit at once
        await eventually(lambda: _is_open(two, "cred-a"))  # the peer by message
        await one.close_circuit("cred-a", "glm-5.1")
        await eventually(lambda: _is_closed(two, "cred-a"))
        # A circuit stored without a message (a peer too old to publish) is not seen by a local
        # read until the mirror reloads, which every heartbeat does.
        _write_circuit_like_an_old_peer(redis_url, namespace, two, "cred-old")
        # A message sent after that write reaches ``two`` after anything the write could have
        # caused, so once ``two`` has it, a missing "cred-old" is missing for good.
        await one.open_circuit(Circuit("cred-mark", "glm-5.1", time.time() + 600, "quota_weekly", "x"))
        await eventually(lambda: _is_open(two, "cred-mark"))
        assert await _is_closed(two, "cred-old")
        await two._reload_mirror()
        assert await _is_open(two, "cred-old")
    finally:
        await one.aclose()
        await two.aclose()


async def test_circuit_mirror_reloads_after_the_subscription_drops(redis_url: str, namespace: str) -> None:
    # Named connections, so the kill below reaches this test's subscribers only, not those of a
    # test running beside it (pytest-xdist) or of another run on the same server.
    named = f"{redis_url}?client_name={namespace}"
    one = RedisBackend(named, namespace=namespace)
    two = RedisBackend(named, namespace=namespace)
    admin = redis_sync.Redis.from_url(redis_url)
    try:
        assert await _is_closed(one, "cred-a") and await _is_closed(two, "cred-b")
        ours = [c["id"] for c in admin.client_list(_type="pubsub") if c["name"] == namespace]
        assert len(ours) == 2, ours
        for client_id in ours:  # every subscriber of ours loses its connection
            admin.client_kill_filter(_id=client_id)
        # Changes made while nobody listens: one by a peer that publishes into the void, one
        # written without a message at all. Both must be seen once the subscriber is back.
        await one.open_circuit(Circuit("cred-a", "glm-5.1", time.time() + 600, "quota_window", "5h"))
        _write_circuit_like_an_old_peer(redis_url, namespace, two, "cred-b")
        await eventually(lambda: _is_open(two, "cred-a"))
        await eventually(lambda: _is_open(two, "cred-b"))
        await one.close_circuit("cred-a", "glm-5.1")  # and messages flow again afterwards
        await eventually(lambda: _is_closed(two, "cred-a"))
    finally:
        admin.close()
        await one.aclose()
        await two.aclose()


async def test_redis_keys_never_contain_the_api_key(sim_factory: Any, redis_url: str, namespace: str) -> None:
    server = sim_factory(keys=[KeyConfig(key=CODING_LITE_KEY, kind="coding", quota_5h=0)])
    slot = make_slot(server.zai_coding_url, CODING_LITE_KEY, max_concurrent=1)
    backend = RedisBackend(redis_url, namespace=namespace)
    async with Router([slot], backend=backend, policy=FAST) as router:
        with pytest.raises(AllSlotsFailed):  # quota 0: the circuit opens
            await router.chat(ChatRequest.of("hi"))
    assert len(await backend.circuits(time.time())) == 1
    await backend.aclose()
    client = redis_sync.Redis.from_url(redis_url, decode_responses=True)
    keys = list(client.scan_iter(f"{namespace}:*"))
    assert keys
    dump = " ".join(keys) + " ".join(str(client.dump(k)) for k in keys)
    client.close()
    assert CODING_LITE_KEY not in dump


def _settings(env: dict[str, str]) -> Settings:
    """The settings a process with ``env`` reads (its data directory the test's own)."""
    return Settings.from_env({"HUNKWISE_HOME": os.environ["HUNKWISE_HOME"], **env})


async def test_environment_selects_the_backend(redis_url: str, namespace: str) -> None:
    local = limits_backend(_settings({}))
    assert isinstance(local, LocalBackend)
    await local.aclose()
    chosen = limits_backend(
        _settings({"HUNKWISE_LIMITS_URL": redis_url, "HUNKWISE_LIMITS_NAMESPACE": namespace})
    )
    assert isinstance(chosen, RedisBackend) and chosen.namespace == namespace
    await chosen.aclose()
    fallback = limits_backend(_settings({"HUNKWISE_REDIS_URL": redis_url, "HUNKWISE_LIMITS_LEASE_TTL": "6"}))
    assert isinstance(fallback, RedisBackend) and fallback.namespace == "hunkwise"
    await fallback.aclose()


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"HUNKWISE_LIMITS_URL": "http://user:hunter2@cache:6379"}, "is not a Redis URL"),
        ({"HUNKWISE_LIMITS_URL": "redis://h:6379", "HUNKWISE_LIMITS_LEASE_TTL": "soon"}, "LEASE_TTL"),
        ({"HUNKWISE_LIMITS_URL": "redis://h:6379", "HUNKWISE_LIMITS_LEASE_TTL": "0"}, "between 1"),
        ({"HUNKWISE_LIMITS_URL": "redis://h:6379", "HUNKWISE_LIMITS_NAMESPACE": "a b"}, "namespace"),
    ],
)
def test_bad_settings_are_named_and_passwords_hidden(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        limits_backend(_settings(env))
    assert needle in str(info.value)
    assert "hunter2" not in str(info.value)


async def test_unreachable_redis_is_one_clear_error_without_the_password() -> None:
    backend = RedisBackend("redis://admin:hunter2@127.0.0.1:1/0")
    assert "hunter2" not in repr(backend)
    with pytest.raises(ConfigurationError) as info:
        await backend.acquire("cred", 1)
    assert "cannot reach Redis" in str(info.value) and "hunter2" not in str(info.value)
    await backend.aclose()


async def test_router_on_unreachable_redis_fails_with_the_configuration_error(sim: Any) -> None:
    """The router's first backend call is a circuit lookup: it too must say what is wrong."""
    backend = RedisBackend("redis://127.0.0.1:1/0")
    slot = make_slot(sim.zai_developer_url, DEV_KEY, max_concurrent=1)
    async with Router([slot], backend=backend, policy=FAST) as router:
        with pytest.raises(ConfigurationError, match=r"cannot reach Redis at redis://127\.0\.0\.1:1/0"):
            await router.chat(ChatRequest.of("hi"))
    await backend.aclose()
    assert sim.key_stats(DEV_KEY)["requests"] == 0


async def test_router_through_redis_serialises_a_lite_key(
    sim_factory: Any, redis_url: str, namespace: str
) -> None:
    """Many concurrent chats through one Router, limit 1: the key never sees two at once."""
    server = sim_factory(
        keys=[KeyConfig(key=CODING_LITE_KEY, kind="coding"), KeyConfig(key=DEV_KEY, kind="developer")],
        latency_ms=20,
    )
    slot = make_slot(server.zai_coding_url, CODING_LITE_KEY, max_concurrent=1)
    backend = RedisBackend(redis_url, namespace=namespace)
    async with Router([slot], backend=backend, policy=FAST) as router:
        results = await asyncio.gather(*(router.chat(ChatRequest.of(f"q{i}")) for i in range(8)))
    await backend.aclose()
    assert all(r.slot == "main" for r in results)
    stats = server.key_stats(CODING_LITE_KEY)
    assert stats["max_in_flight"] == 1 and stats["errors"] == {} and stats["ok"] == 8


async def test_aclose_does_not_hang_on_a_task_that_swallows_its_cancellation(
    redis_url: str, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    """redis-py's PubSub reader has been seen to stay "cancelling" for good after a Redis restart;
    a stopping worker must still stop: aclose() waits a bounded time, closes the connections (which
    ends a blocked read) and says what it left behind."""
    backend = RedisBackend(redis_url, namespace=namespace)
    lease = await backend.acquire("cred", 1)
    await lease.release()
    never = asyncio.Event()

    async def stubborn() -> None:
        while not never.is_set():
            try:
                await never.wait()
            except asyncio.CancelledError:
                continue  # the cancellation is lost, as in the reader

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)  # running, inside its try: a task cancelled before it starts just ends
    backend._tasks.append(task)
    caplog.set_level(logging.WARNING, logger="hunkwise.gateway.limits")
    await backend.aclose()
    assert any("1 background task(s) did not stop" in r.getMessage() for r in caplog.records)
    assert all(t.done() for t in backend._tasks if t is not task)  # the real listener and heartbeat stopped
    never.set()  # let it end (it ignores cancellation)
    await asyncio.wait_for(task, 5)
