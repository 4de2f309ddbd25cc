"""Per-key concurrency (instant 1302, never queued) and rolling quota windows on the sim clock."""

from __future__ import annotations

import asyncio
import time

import httpx2
import openai
import pytest

from hunkwise.sim import KeyConfig, SimConfig, SimulatorServer
from simkeys import CODING_LITE_KEY, CODING_MAX_KEY

HELLO = [{"role": "user", "content": "Say hello."}]


def async_client(key: str, url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=key, base_url=url, max_retries=0, timeout=10, http_client=httpx2.AsyncClient(timeout=10)
    )


async def _burst(key: str, url: str, n: int) -> list[object]:
    client = async_client(key, url)
    calls = [client.chat.completions.create(model="glm-5.1", messages=HELLO) for _ in range(n)]
    return await asyncio.gather(*calls, return_exceptions=True)


async def test_parallel_requests_on_a_lite_key_one_succeeds_rest_get_1302() -> None:
    cfg = SimConfig(keys=[KeyConfig(key=CODING_LITE_KEY, kind="coding", tier="lite")], latency_ms=300)
    async with SimulatorServer(cfg) as sim:
        results = await _burst(CODING_LITE_KEY, sim.zai_coding_url, 8)
        ok = [r for r in results if not isinstance(r, Exception)]
        rejected = [r for r in results if isinstance(r, openai.RateLimitError)]
        assert len(ok) + len(rejected) == 8
        assert len(ok) >= 1
        assert all(r.body["code"] == "1302" for r in rejected)  # type: ignore[index]
        stats = sim.key_stats(CODING_LITE_KEY)
        assert stats["max_in_flight"] == 1
        assert stats["in_flight"] == 0
        assert stats["errors"] == {"1302": len(rejected)}
        assert stats["ok"] == len(ok)
        assert stats["window_5h_prompts"] == len(ok)  # a rejected request costs no quota


async def test_max_tier_serves_many_at_once_without_exceeding_its_limit() -> None:
    cfg = SimConfig(
        keys=[KeyConfig(key=CODING_MAX_KEY, kind="coding", tier="max", concurrency=4)], latency_ms=200
    )
    async with SimulatorServer(cfg) as sim:
        results = await _burst(CODING_MAX_KEY, sim.zai_coding_url, 12)
        rejected = [r for r in results if isinstance(r, openai.RateLimitError)]
        stats = sim.key_stats(CODING_MAX_KEY)
        assert 1 <= stats["max_in_flight"] <= 4
        assert stats["ok"] + len(rejected) == 12
        assert stats["errors"].get("1302", 0) == len(rejected)


def test_stream_holds_its_slot_until_consumed(sim) -> None:
    client = openai.OpenAI(api_key=CODING_LITE_KEY, base_url=sim.zai_coding_url, max_retries=0, timeout=10)
    stream = client.chat.completions.create(model="glm-5.1", messages=HELLO, stream=True)
    for _ in stream:
        pass
    assert sim.key_stats(CODING_LITE_KEY)["in_flight"] == 0
    client.chat.completions.create(model="glm-5.1", messages=HELLO)  # the slot was given back


def _lite(quota_5h: int, quota_week: int) -> SimConfig:
    key = KeyConfig(key="lite-q", kind="coding", quota_5h=quota_5h, quota_week=quota_week)
    return SimConfig(keys=[key])


def test_5h_window_exhausts_with_1308_and_recovers_after_advance() -> None:
    with SimulatorServer(_lite(quota_5h=3, quota_week=100)) as sim:
        client = openai.OpenAI(api_key="lite-q", base_url=sim.zai_coding_url, max_retries=0, timeout=10)
        before = time.time()
        for _ in range(3):
            client.chat.completions.create(model="glm-5.1", messages=HELLO)
        with pytest.raises(openai.RateLimitError) as info:
            client.chat.completions.create(model="glm-5.1", messages=HELLO)
        error = info.value.body
        assert isinstance(error, dict) and error["code"] == "1308"
        flush = error["next_flush_time"] / 1000
        assert before + 5 * 3600 - 1 <= flush <= time.time() + 5 * 3600 + 1
        assert "will reset at" in error["message"]
        assert sim.key_stats("lite-q")["window_5h_prompts"] == 3
        sim.advance(4 * 3600)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="glm-5.1", messages=HELLO)
        sim.advance(3600 + 5)
        client.chat.completions.create(model="glm-5.1", messages=HELLO)
        stats = sim.key_stats("lite-q")
        assert (stats["window_5h_prompts"], stats["week_prompts"]) == (1, 4)
        assert stats["errors"] == {"1308": 2}


def test_weekly_window_outlasts_the_5h_window() -> None:
    with SimulatorServer(_lite(quota_5h=10, quota_week=2)) as sim:
        client = openai.OpenAI(api_key="lite-q", base_url=sim.zai_coding_url, max_retries=0, timeout=10)
        for _ in range(2):
            client.chat.completions.create(model="glm-5.1", messages=HELLO)
        sim.advance(6 * 3600)
        with pytest.raises(openai.RateLimitError) as info:
            client.chat.completions.create(model="glm-5.1", messages=HELLO)
        assert info.value.body["code"] == "1310"  # type: ignore[index]
        assert info.value.body["next_flush_time"] > 0  # type: ignore[index]
        sim.advance(7 * 24 * 3600)
        client.chat.completions.create(model="glm-5.1", messages=HELLO)


def test_reset_clears_windows_and_clock(sim) -> None:
    sim.advance(3600)
    assert sim.stats()["offset_seconds"] == 3600
    sim.reset()
    assert sim.stats()["offset_seconds"] == 0
