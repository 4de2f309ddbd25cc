"""Every attempt carries the router's clock at the moment its call started."""

from __future__ import annotations

from typing import Any

from gateway_helpers import FAST, make_slot

from hunkwise.gateway import ChatRequest, Router
from simkeys import DEV_KEY


class StepClock:
    """A clock that moves one minute per reading, so each attempt gets a distinct, known time."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 60.0
        return self.now


async def test_attempts_are_dated_by_the_router_clock(sim: Any) -> None:
    main = make_slot(sim.zai_developer_url, "bad-key")  # 401: fails over
    fallback = make_slot(sim.zai_developer_url, DEV_KEY, name="fallback")
    clock = StepClock(1_700_000_000.0)
    async with Router([main, fallback], policy=FAST, clock=clock) as router:
        result = await router.chat(ChatRequest.of("hello"))
        streamed = [e async for e in router.stream(ChatRequest.of("again"))][-1].result
    times = [a.at for a in result.attempts]
    assert len(times) == 2 and all(1_700_000_000.0 < t <= clock.now for t in times)
    assert times[0] < times[1]  # the fallback call started after the main one
    assert result.attempts[0].as_dict()["at"] == times[0]
    assert streamed is not None
    assert all(times[1] < a.at <= clock.now for a in streamed.attempts)
