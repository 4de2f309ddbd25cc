"""A misconfigured slot gets a short circuit, and a retried 1302 lowers the adaptive limit once.

Both against the simulator over real HTTP; each for the in-process backend and for Redis (the
cluster-wide one), since the promise is the same for one CLI run and for a cluster.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gateway_helpers import FAST, SimClock, make_slot

from hunkwise.errors import Backoff
from hunkwise.gateway import (
    SKIPPED_OPEN_CIRCUIT,
    AllSlotsFailed,
    ChatRequest,
    ErrorKind,
    LimitsBackend,
    LocalBackend,
    RedisBackend,
    Router,
    Slot,
)
from simkeys import ANTHROPIC_KEY, CODING_LITE_KEY, DEV_KEY
from waiting import eventually, sim_in_flight

POLICY = dataclasses.replace(FAST, configuration_circuit_s=60.0)


def _outcomes(attempts: list[Any]) -> list[tuple[str, str]]:
    return [(a.slot, a.outcome) for a in attempts]


def _fallback(sim: Any) -> Slot:
    return make_slot(
        sim.anthropic_url, ANTHROPIC_KEY, name="fallback", provider="anthropic", model="claude-haiku-4-5"
    )


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "configuration error" in r.getMessage()
    ]


@pytest.mark.parametrize(
    ("key", "model", "kind"),
    [
        (CODING_LITE_KEY, "glm-5.1", "auth"),  # a Coding Plan key on the Developer API: 401
        (DEV_KEY, "glm-0", "model_not_found"),
    ],
)
async def test_a_misconfigured_main_is_skipped_while_its_circuit_is_open(
    sim: Any, caplog: pytest.LogCaptureFixture, key: str, model: str, kind: str
) -> None:
    clock = SimClock(sim)
    main = make_slot(sim.zai_developer_url, key, model=model)
    with caplog.at_level(logging.WARNING, logger="hunkwise.gateway"):
        async with Router([main, _fallback(sim)], policy=POLICY, clock=clock) as router:
            first = await router.chat(ChatRequest.of("one"))
            assert _outcomes(first.attempts) == [("main", kind), ("fallback", "ok")]
            diagnosis = first.attempts[0].message
            (circuit,) = await router.open_circuits()
            assert circuit.kind == kind and circuit.model == model and circuit.reason == diagnosis
            assert abs(circuit.until - (clock() + 60.0)) < 5  # the short configured time, no 5 h default

            for prompt in ("two", "three"):
                result = await router.chat(ChatRequest.of(prompt))
                assert _outcomes(result.attempts) == [("main", SKIPPED_OPEN_CIRCUIT), ("fallback", "ok")]
            assert sim.key_stats(key)["requests"] == 1  # the main was called once in three requests
            assert sim.key_stats(ANTHROPIC_KEY)["requests"] == 3

            clock.advance(61)  # the circuit closes: the next call probes the main again
            assert await router.open_circuits() == []
            fourth = await router.chat(ChatRequest.of("four"))
            assert _outcomes(fourth.attempts) == [("main", kind), ("fallback", "ok")]
            assert sim.key_stats(key)["requests"] == 2

    warnings = _warnings(caplog)
    assert len(warnings) == 2  # once per opening, not once per call
    assert f"main: zai/{model}" in warnings[0] and f"({kind})" in warnings[0] and diagnosis in warnings[0]
    assert key not in caplog.text


async def test_only_a_misconfigured_main_fails_as_configuration_while_skipped(sim: Any) -> None:
    """With no fallback the skip still says why: the error is the configuration error, not "no slot"."""
    main = make_slot(sim.zai_developer_url, CODING_LITE_KEY)
    async with Router([main], policy=POLICY) as router:
        for _ in range(2):
            with pytest.raises(AllSlotsFailed) as info:
                await router.chat(ChatRequest.of("x"))
            assert [e.kind for e in info.value.errors] == [ErrorKind.AUTH]
            assert len(info.value.configuration_errors) == 1
    assert sim.key_stats(CODING_LITE_KEY)["requests"] == 1


@pytest.mark.redis
async def test_a_misconfigured_main_is_skipped_across_the_cluster(
    sim: Any, redis_url: str, namespace: str
) -> None:
    one, two = RedisBackend(redis_url, namespace=namespace), RedisBackend(redis_url, namespace=namespace)
    main = make_slot(sim.zai_developer_url, CODING_LITE_KEY)
    try:
        async with Router([main, _fallback(sim)], policy=POLICY, backend=one) as first:
            result = await first.chat(ChatRequest.of("one"))
            assert _outcomes(result.attempts) == [("main", "auth"), ("fallback", "ok")]
        async with Router([main, _fallback(sim)], policy=POLICY, backend=two) as second:
            (circuit,) = await eventually(second.open_circuits, "the other worker's circuit is seen")
            assert circuit.kind == "auth"
            result = await second.chat(ChatRequest.of("two"))
            assert _outcomes(result.attempts) == [("main", SKIPPED_OPEN_CIRCUIT), ("fallback", "ok")]
        assert sim.key_stats(CODING_LITE_KEY)["requests"] == 1
    finally:
        await one.aclose()
        await two.aclose()


# -- a retried 1302 lowers the adaptive limit once ----------------------------------------------------


@pytest.fixture(params=["local", "redis"])
async def limits(request: pytest.FixtureRequest) -> AsyncIterator[LimitsBackend]:
    if request.param == "local":
        backend: LimitsBackend = LocalBackend()
    else:
        request.applymarker(pytest.mark.redis)
        backend = RedisBackend(
            request.getfixturevalue("redis_url"), namespace=request.getfixturevalue("namespace")
        )
    yield backend
    await backend.aclose()


async def _effective(backend: LimitsBackend, credential_id: str) -> int | None:
    if isinstance(backend, RedisBackend):
        return await backend.shared_effective_limit(credential_id)  # what every worker uses next
    return backend.effective_limit(credential_id)


async def test_a_retried_1302_lowers_the_adaptive_limit_once(sim_factory: Any, limits: LimitsBackend) -> None:
    server = sim_factory(latency_ms=3000)  # the Lite key's one slot stays taken for 3 s
    blocker = make_slot(server.zai_coding_url, CODING_LITE_KEY)  # its own router: no shared limit
    slot = make_slot(server.zai_coding_url, CODING_LITE_KEY, max_concurrent=4, adaptive_concurrency=True)
    policy = dataclasses.replace(FAST, rate_retries=3, backoff=Backoff(base_s=0.01, max_s=0.03, jitter=0.5))
    async with (
        Router([blocker], policy=FAST) as other,
        Router([slot], policy=policy, backend=limits) as router,
    ):
        holding = asyncio.create_task(other.chat(ChatRequest.of("hold the slot")))
        await eventually(sim_in_flight(server, CODING_LITE_KEY), "the blocker holds the key's slot")
        with pytest.raises(AllSlotsFailed) as info:
            await router.chat(ChatRequest.of("refused"))
        refused = [a for a in info.value.attempts if a.outcome == "concurrency"]
        assert len(refused) == 4  # one call and three retries, every one a 1302
        assert await _effective(limits, slot.credential_id) == 3  # lowered once, not to 1
        # A second request is another caller over the limit: it lowers once more.
        with pytest.raises(AllSlotsFailed):
            await router.chat(ChatRequest.of("refused again"))
        assert await _effective(limits, slot.credential_id) == 2
        await holding
