"""The limiter (FIFO, never above the limit, cancellation-safe, adaptive) and circuit persistence."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hunkwise.gateway import Circuit, LocalBackend
from hunkwise.gateway.limits import ADAPTIVE_RAISE_AFTER, ConcurrencyLimiter
from waiting import eventually


async def test_waiters_are_served_in_arrival_order_and_never_above_the_limit() -> None:
    limiter = ConcurrencyLimiter()
    order: list[int] = []
    running = 0
    peak = 0

    async def job(i: int) -> None:
        nonlocal running, peak
        lease = await limiter.acquire("cred", 2)
        running += 1
        peak = max(peak, running)
        order.append(i)
        await asyncio.sleep(0.001 * (5 - i % 5))
        running -= 1
        await lease.release()

    tasks = []
    for i in range(20):
        tasks.append(asyncio.create_task(job(i)))
        await asyncio.sleep(0)  # make arrival order explicit
    await asyncio.gather(*tasks)
    assert order == list(range(20))
    assert peak == 2 and limiter.peak("cred") == 2
    assert limiter.in_flight("cred") == 0


async def test_waiting_time_is_reported() -> None:
    limiter = ConcurrencyLimiter()
    first = await limiter.acquire("c", 1)
    assert first.waited_ms == 0.0
    waiter = asyncio.create_task(limiter.acquire("c", 1))
    await asyncio.sleep(0.02)
    await first.release()
    second = await waiter
    assert second.waited_ms > 0
    await second.release()


async def test_cancelled_waiter_gives_up_its_place_and_leaks_nothing() -> None:
    limiter = ConcurrencyLimiter()
    held = await limiter.acquire("c", 1)
    cancelled = asyncio.create_task(limiter.acquire("c", 1))
    behind = asyncio.create_task(limiter.acquire("c", 1))
    await asyncio.sleep(0)
    cancelled.cancel()
    await held.release()
    lease = await asyncio.wait_for(behind, 1)
    assert cancelled.cancelled()
    assert limiter.in_flight("c") == 1
    await lease.release()
    await lease.release()  # a double release frees nothing twice
    assert limiter.in_flight("c") == 0


async def test_cancelled_right_after_being_granted_passes_the_slot_on() -> None:
    limiter = ConcurrencyLimiter()
    held = await limiter.acquire("c", 1)
    granted_then_cancelled = asyncio.create_task(limiter.acquire("c", 1))
    behind = asyncio.create_task(limiter.acquire("c", 1))
    await asyncio.sleep(0)
    await held.release()  # grants the first waiter ...
    granted_then_cancelled.cancel()  # ... which is cancelled before it runs
    lease = await asyncio.wait_for(behind, 1)
    assert limiter.in_flight("c") == 1
    await lease.release()
    assert limiter.in_flight("c") == 0


async def test_no_limit_never_waits() -> None:
    limiter = ConcurrencyLimiter()
    leases = [await limiter.acquire("c", None) for _ in range(100)]
    assert all(lease.waited_ms == 0 for lease in leases)


async def test_adaptive_lowers_on_1302_not_below_one_and_recovers_slowly() -> None:
    limiter = ConcurrencyLimiter()
    lease = await limiter.acquire("c", 3, adaptive=True)
    await lease.release()
    for _ in range(5):
        limiter.lower("c")
    assert limiter.effective_limit("c") == 1
    for _ in range(ADAPTIVE_RAISE_AFTER - 1):
        limiter.success("c")
    assert limiter.effective_limit("c") == 1
    limiter.success("c")
    assert limiter.effective_limit("c") == 2
    for _ in range(ADAPTIVE_RAISE_AFTER * 10):
        limiter.success("c")
    assert limiter.effective_limit("c") == 3  # never above the configured maximum


async def test_lowered_limit_is_enforced_for_new_acquirers() -> None:
    limiter = ConcurrencyLimiter()
    a = await limiter.acquire("c", 2)
    limiter.lower("c")
    pending = asyncio.create_task(limiter.acquire("c", 2))
    await eventually(lambda: limiter.queued("c") == 1, "the acquirer waiting")
    assert not pending.done()  # effective limit is 1 and one is in flight
    await a.release()
    b = await asyncio.wait_for(pending, 1)
    await b.release()


async def test_circuits_persist_across_backends_sharing_a_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    one, two = LocalBackend(path), LocalBackend(path)
    assert await two.circuit("cred", "glm-5.1", 1000.0) is None
    await one.open_circuit(Circuit("cred", "glm-5.1", 2000.0, "quota_window", "5-hour window used up"))
    seen = await two.circuit("cred", "glm-5.1", 1000.0)  # another connection sees it at once
    assert seen is not None and seen.kind == "quota_window" and seen.until == 2000.0
    assert await two.circuit("cred", "glm-5.1", 2000.0) is None  # closed once the reset time passes
    assert await two.circuit("cred", "glm-5", 1000.0) is None  # per model
    await one.aclose()
    three = LocalBackend(path)  # a later run
    assert [c.model for c in await three.circuits(1500.0)] == ["glm-5.1"]
    await three.close_circuit("cred", "glm-5.1")
    assert await two.circuit("cred", "glm-5.1", 1000.0) is None
    await two.aclose()
    await three.aclose()


async def test_memory_only_backend_keeps_circuits_in_process() -> None:
    backend = LocalBackend()
    await backend.open_circuit(Circuit("c", "m", 50.0, "balance", "top up"))
    assert (await backend.circuit("c", "m", 10.0)) is not None
    assert await LocalBackend().circuit("c", "m", 10.0) is None
