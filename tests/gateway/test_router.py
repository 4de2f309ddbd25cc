"""Router policy against the simulator over real HTTP: failover, circuits, waiting, streaming."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from gateway_helpers import FAST, SimClock, make_slot

from hunkwise.errors import Backoff
from hunkwise.gateway import (
    AllSlotsFailed,
    ChatRequest,
    ErrorKind,
    LocalBackend,
    Router,
    RouterEvent,
)
from hunkwise.sim import KeyConfig
from simkeys import ANTHROPIC_KEY, CODING_LITE_KEY, CODING_MAX_KEY, DEV_KEY, OPENAI_KEY
from waiting import eventually, sim_in_flight


def _outcomes(attempts: list[Any]) -> list[tuple[str, str]]:
    return [(a.slot, a.outcome) for a in attempts]


async def test_answer_carries_attempts_usage_and_cost(sim: Any) -> None:
    async with Router([make_slot(sim.zai_developer_url, DEV_KEY)], policy=FAST) as router:
        result = await router.chat(ChatRequest.of("hello"))
    assert result.slot == "main" and result.model == "glm-5.1" and result.provider == "zai"
    assert _outcomes(result.attempts) == [("main", "ok")]
    assert result.usage.calls == 1 and result.usage.input_tokens > 0 and result.usage.cost_usd > 0


async def test_1308_fails_over_then_main_returns_after_reset(sim_factory: Any, tmp_path: Path) -> None:
    server = sim_factory(
        keys=[
            KeyConfig(key=CODING_LITE_KEY, kind="coding", quota_5h=1),
            KeyConfig(key=OPENAI_KEY, kind="openai"),
        ]
    )
    clock = SimClock(server)
    main = make_slot(server.zai_coding_url, CODING_LITE_KEY)
    fallback = make_slot(
        server.openai_url, OPENAI_KEY, name="fallback", provider="openai", model="gpt-5-mini"
    )
    events: list[RouterEvent] = []
    backend = LocalBackend(tmp_path / "state.db")
    router = Router([main, fallback], backend=backend, policy=FAST, clock=clock, on_event=events.append)
    first = await router.chat(ChatRequest.of("one"))  # uses the only prompt of the window
    assert first.slot == "main"
    second = await router.chat(ChatRequest.of("two"))
    assert second.slot == "fallback" and second.model == "gpt-5-mini"
    assert _outcomes(second.attempts) == [("main", "quota_window"), ("fallback", "ok")]
    assert second.attempts[0].code == "1308"
    assert [e.type for e in events] == ["circuit_open", "failover"]
    third = await router.chat(ChatRequest.of("three"))  # main skipped without calling it
    assert _outcomes(third.attempts) == [("main", "skipped_open_circuit"), ("fallback", "ok")]
    assert third.failovers == 1
    assert server.key_stats(CODING_LITE_KEY)["requests"] == 2
    clock.advance(5 * 3600 + 5)
    fourth = await router.chat(ChatRequest.of("four"))
    assert fourth.slot == "main" and _outcomes(fourth.attempts) == [("main", "ok")]
    await router.aclose()
    await backend.aclose()


async def test_circuit_is_shared_by_routers_on_one_state_file(sim_factory: Any, tmp_path: Path) -> None:
    server = sim_factory(
        keys=[
            KeyConfig(key=CODING_LITE_KEY, kind="coding", quota_5h=0),
            KeyConfig(key=DEV_KEY, kind="developer"),
        ]
    )
    main = make_slot(server.zai_coding_url, CODING_LITE_KEY)
    fallback = make_slot(server.zai_developer_url, DEV_KEY, name="fallback")
    clock = SimClock(server)
    one_backend = LocalBackend(tmp_path / "state.db")
    async with Router([main, fallback], backend=one_backend, policy=FAST, clock=clock) as one:
        assert (await one.chat(ChatRequest.of("a"))).slot == "fallback"
    await one_backend.aclose()
    two_backend = LocalBackend(tmp_path / "state.db")  # a separate CLI run
    async with Router([main, fallback], backend=two_backend, policy=FAST, clock=clock) as two:
        result = await two.chat(ChatRequest.of("b"))
        assert _outcomes(result.attempts) == [("main", "skipped_open_circuit"), ("fallback", "ok")]
        assert [c.kind for c in await two.open_circuits()] == ["quota_window"]
    await two_backend.aclose()
    assert server.key_stats(CODING_LITE_KEY)["requests"] == 1


async def test_balance_without_reset_uses_the_default_cooldown(sim_factory: Any) -> None:
    server = sim_factory(balance=0)
    clock = SimClock(server)
    main = make_slot(server.zai_developer_url, DEV_KEY)
    fallback = make_slot(server.zai_coding_url, CODING_MAX_KEY, name="fallback")
    async with Router([main, fallback], policy=FAST, clock=clock) as router:
        await router.chat(ChatRequest.of("a"))
        (circuit,) = await router.open_circuits()
        assert circuit.kind == "balance"
        assert abs(circuit.until - (clock() + FAST.balance_default_s)) < 5


async def test_1302_waits_and_retries_without_exceeding_the_limit(sim_factory: Any) -> None:
    server = sim_factory(latency_ms=20)
    # max_concurrent unset: the router does not queue, so the provider refuses some calls (1302)
    # and the router backs off and retries them on the same slot until they fit.
    slot = make_slot(server.zai_coding_url, CODING_LITE_KEY)
    policy = FAST.__class__(rate_retries=40, backoff=Backoff(base_s=0.01, max_s=0.03, jitter=0.5))
    async with Router([slot], policy=policy) as router:
        results = await asyncio.gather(*(router.chat(ChatRequest.of(f"p{i}")) for i in range(5)))
    assert all(r.slot == "main" for r in results)
    assert any(a.outcome == "concurrency" for r in results for a in r.attempts)
    assert server.key_stats(CODING_LITE_KEY)["max_in_flight"] == 1


async def test_limiter_queues_so_the_provider_never_refuses(sim_factory: Any) -> None:
    server = sim_factory(latency_ms=20)
    slot = make_slot(server.zai_coding_url, CODING_LITE_KEY, max_concurrent=1)
    async with Router([slot], policy=FAST) as router:
        results = await asyncio.gather(*(router.chat(ChatRequest.of(f"p{i}")) for i in range(6)))
    stats = server.key_stats(CODING_LITE_KEY)
    assert stats["errors"] == {} and stats["ok"] == 6 and stats["max_in_flight"] == 1
    assert sum(1 for r in results if r.attempts[0].waited_ms > 0) >= 4


async def test_adaptive_mode_learns_the_real_limit(sim_factory: Any) -> None:
    server = sim_factory(latency_ms=20)
    slot = make_slot(server.zai_coding_url, CODING_LITE_KEY, max_concurrent=4, adaptive_concurrency=True)
    policy = FAST.__class__(rate_retries=40, backoff=Backoff(base_s=0.01, max_s=8.0, jitter=0.5))
    async with Router([slot], policy=policy) as router:
        await asyncio.gather(*(router.chat(ChatRequest.of(f"p{i}")) for i in range(8)))
        assert router.backend.effective_limit(slot.credential_id) < 4


async def test_transient_faults_retry_then_fail_over(sim_factory: Any) -> None:
    broken = sim_factory(fault_rate=1.0, faults=("500",))
    healthy = sim_factory()
    main = make_slot(broken.zai_developer_url, DEV_KEY)
    fallback = make_slot(healthy.zai_developer_url, DEV_KEY, name="fallback")
    async with Router([main, fallback], policy=FAST) as router:
        result = await router.chat(ChatRequest.of("x"))
    assert _outcomes(result.attempts) == [("main", "transient"), ("main", "transient"), ("fallback", "ok")]


async def test_auth_fails_over_and_is_logged_without_the_key(
    sim: Any, caplog: pytest.LogCaptureFixture
) -> None:
    main = make_slot(sim.zai_developer_url, CODING_LITE_KEY)  # a Coding Plan key on the Developer API
    fallback = make_slot(
        sim.anthropic_url, ANTHROPIC_KEY, name="fallback", provider="anthropic", model="claude-haiku-4-5"
    )
    with caplog.at_level(logging.WARNING, logger="hunkwise.gateway"):
        async with Router([main, fallback], policy=FAST) as router:
            result = await router.chat(ChatRequest.of("x"))
    assert _outcomes(result.attempts) == [("main", "auth"), ("fallback", "ok")]
    assert "main: zai/glm-5.1" in caplog.text and "configuration error (auth)" in caplog.text
    assert CODING_LITE_KEY not in caplog.text


async def test_context_overflow_goes_only_to_a_larger_window(sim: Any) -> None:
    small = make_slot(sim.zai_developer_url, DEV_KEY, model="glm-4.5")
    same = make_slot(sim.zai_developer_url, DEV_KEY, name="fallback", model="glm-4.5-air")
    big = make_slot(sim.openai_url, OPENAI_KEY, name="fallback2", provider="openai", model="gpt-4.1")
    prompt = ChatRequest.of("word " * 150_000)
    async with Router([small, same, big], policy=FAST) as router:
        result = await router.chat(prompt)
    assert result.slot == "fallback2"
    assert _outcomes(result.attempts) == [
        ("main", "context_overflow"),
        ("fallback", "skipped_smaller_context"),
        ("fallback2", "ok"),
    ]
    async with Router([small, same], policy=FAST) as router:
        with pytest.raises(AllSlotsFailed) as info:
            await router.chat(prompt)
    assert [e.kind for e in info.value.errors] == [ErrorKind.CONTEXT_OVERFLOW]
    assert sim.key_stats(DEV_KEY)["requests"] == 2  # glm-4.5-air was never called


async def test_all_failing_raises_with_every_error_and_attempt(sim: Any) -> None:
    main = make_slot(sim.zai_developer_url, "bad-key")
    fallback = make_slot(sim.zai_developer_url, DEV_KEY, name="fallback", model="glm-0")
    async with Router([main, fallback], policy=FAST) as router:
        with pytest.raises(AllSlotsFailed) as info:
            await router.chat(ChatRequest.of("x"))
    assert [e.kind for e in info.value.errors] == [ErrorKind.AUTH, ErrorKind.MODEL_NOT_FOUND]
    assert len(info.value.configuration_errors) == 2
    assert _outcomes(info.value.attempts) == [("main", "auth"), ("fallback", "model_not_found")]
    assert "bad-key" not in str(info.value)


async def test_streaming_through_the_router_with_failover(sim: Any) -> None:
    main = make_slot(sim.zai_developer_url, CODING_LITE_KEY)  # 401: fails before any text
    fallback = make_slot(sim.zai_developer_url, DEV_KEY, name="fallback", thinking="high")
    async with Router([main, fallback], policy=FAST) as router:
        events = [e async for e in router.stream(ChatRequest.of("stream please"))]
    kinds = [e.kind for e in events]
    assert kinds[-1] == "done" and "content" in kinds and "reasoning" in kinds
    assert kinds.index("reasoning") < kinds.index("content")
    result = events[-1].result
    assert result is not None and result.slot == "fallback"
    assert result.content == "".join(e.text for e in events if e.kind == "content")
    assert result.usage.output_tokens > 0 and result.usage.reasoning_tokens > 0
    assert _outcomes(result.attempts) == [("main", "auth"), ("fallback", "ok")]
    body = sim.requests()[-1]["body"]
    assert body["stream"] is True


async def test_anthropic_streaming(sim: Any) -> None:
    slot = make_slot(
        sim.anthropic_url, ANTHROPIC_KEY, provider="anthropic", model="claude-haiku-4-5", thinking="low"
    )
    async with Router([slot], policy=FAST) as router:
        events = [e async for e in router.stream(ChatRequest.of("hi"))]
    result = events[-1].result
    assert result is not None and result.content and result.usage.input_tokens > 0


async def test_cancelled_call_releases_its_slot(sim_factory: Any) -> None:
    server = sim_factory(fault_rate=1.0, faults=("hang",), hang_seconds=30)
    slot = make_slot(server.zai_coding_url, CODING_LITE_KEY, max_concurrent=1, timeout_s=30)
    router = Router([slot], policy=FAST)
    first = asyncio.create_task(router.chat(ChatRequest.of("a")))
    queued = asyncio.create_task(router.chat(ChatRequest.of("b")))
    await eventually(sim_in_flight(server, CODING_LITE_KEY), "the first call at the simulator")
    await eventually(lambda: router.backend.limiter.queued(slot.credential_id) == 1, "the second queued")
    first.cancel()
    queued.cancel()
    await asyncio.gather(first, queued, return_exceptions=True)
    lease = await asyncio.wait_for(router.backend.acquire(slot.credential_id, 1), 1)  # nothing leaked
    await lease.release()
    await router.aclose()


async def test_clients_are_reused_across_calls(sim: Any) -> None:
    from hunkwise.gateway import ClientPool

    pool = ClientPool()
    main = make_slot(sim.zai_developer_url, DEV_KEY)
    async with Router(
        [main, make_slot(sim.zai_developer_url, DEV_KEY, name="fallback", model="glm-5")], clients=pool
    ) as router:
        for _ in range(3):
            await router.chat(ChatRequest.of("x"))
    assert len(pool) == 1
    await pool.aclose()


class _CountsHoldersAtReport(LocalBackend):
    """The real local backend, noting how many leases are held when a success is counted."""

    def __init__(self) -> None:
        super().__init__()
        self.held_at_report: list[int] = []

    async def report_success(self, credential_id: str) -> None:
        self.held_at_report.append(self.limiter.in_flight(credential_id))
        await super().report_success(credential_id)


async def test_an_adaptive_success_is_counted_after_the_lease_is_released(sim: Any) -> None:
    """With a Redis backend the count is a round trip; inside the lease it would delay the next
    waiter, so both entry points count it once the slot is free again."""
    backend = _CountsHoldersAtReport()
    slot = make_slot(sim.zai_coding_url, CODING_LITE_KEY, max_concurrent=1, adaptive_concurrency=True)
    async with Router([slot], backend=backend) as router:
        answer = await router.chat(ChatRequest.of("hello"))
        events = [event async for event in router.stream(ChatRequest.of("hello"))]
    assert answer.content and events[-1].kind == "done"
    assert backend.held_at_report == [0, 0]
