"""The quota monitor client: its parser on the shapes the real service sends (and garbage), and
the client against the simulator's monitor (a real HTTP server): spending prompts moves the
percentage, a refused key is a one-line diagnosis, answers are cached and rate-limited, the SSRF
guard applies, and the key never reaches a diagnosis or a log line."""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import UTC, datetime
from typing import Any

import openai
import pytest

from hunkwise.config.ssrf import SsrfPolicy
from hunkwise.config.ssrf_connect import connect_guard
from hunkwise.gateway import MonitorError, QuotaMonitor, Secret, Slot, monitor_url, parse_quota_limits
from hunkwise.sim import KeyConfig, SimConfig, SimulatorServer

AT = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)
RESET_MS = 1_796_000_000_000
CODING_KEY = "monitor-coding-key-0001"
DEV_KEY = "monitor-dev-key-0001"


def _ok(limits: list[Any], **data: Any) -> dict[str, Any]:
    return {"code": 200, "msg": "Operation successful", "success": True, "data": {"limits": limits, **data}}


def _entry(unit: int, number: int, pct: Any, kind: str = "TOKENS_LIMIT", **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "unit": unit,
        "number": number,
        "percentage": pct,
        "nextResetTime": RESET_MS,
        **extra,
    }


# -- parser --------------------------------------------------------------------------------------
def test_real_shape_with_percentage_only() -> None:
    body = _ok(
        [_entry(3, 5, 42), _entry(6, 1, 7), _entry(5, 1, 0, kind="TIME_LIMIT")],
        level="lite",
    )
    reading = parse_quota_limits(body, fetched_at=AT)
    five, week, month = reading.windows["5h"], reading.windows["week"], reading.windows["month"]
    assert (five.percentage, week.percentage, month.percentage) == (42.0, 7.0, 0.0)
    assert five.resets_at == datetime.fromtimestamp(RESET_MS / 1000, UTC)
    assert (five.limit, five.used, five.remaining) == (None, None, None)
    assert five.used_fraction == pytest.approx(0.42)
    assert reading.level == "lite" and reading.fetched_at == AT


def test_usage_fields_are_preferred_to_the_rounded_percentage() -> None:
    body = _ok([_entry(3, 5, 3, usage=120, currentValue=4, remaining=116), _entry(6, 1, 0)])
    five = parse_quota_limits(body, fetched_at=AT).windows["5h"]
    assert (five.limit, five.used, five.remaining) == (120, 4, 116)
    assert five.used_fraction == pytest.approx(4 / 120)


@pytest.mark.parametrize("kind", ["TOKENS_LIMIT", "CREDIT_LIMIT", "SOMETHING_NEW", ""])
def test_entries_are_told_apart_by_unit_and_number_never_by_type(kind: str) -> None:
    # Weekly first and the 5-hour one second: order and type name must not matter.
    body = _ok([_entry(6, 1, 11, kind=kind), _entry(3, 5, 55, kind=kind)])
    reading = parse_quota_limits(body, fetched_at=AT)
    assert reading.windows["5h"].percentage == 55 and reading.windows["week"].percentage == 11
    assert reading.windows["5h"].kind == kind


def test_http_200_with_401_in_the_body_is_an_auth_failure() -> None:
    with pytest.raises(MonitorError, match="refused the key"):
        parse_quota_limits(
            {"code": 401, "msg": "token expired or incorrect", "success": False}, fetched_at=AT
        )


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (None, "other than a JSON object"),
        ([1, 2], "other than a JSON object"),
        ("text", "other than a JSON object"),
        ({"code": 500, "msg": "boom\n\x1b[31mred", "success": False}, "code 500: boom [31mred"),
        ({"code": 200, "success": True}, "no data.limits"),
        ({"code": 200, "success": True, "data": {"limits": "x"}}, "no data.limits"),
        (_ok([]), "no 5-hour or weekly window"),
        (_ok([_entry(5, 1, 3)]), "no 5-hour or weekly window"),  # tool time alone
        (_ok([_entry(3, 5, "40"), _entry(6, 1, None), _entry(3, 5, True)]), "no 5-hour or weekly window"),
        (_ok([{"unit": 3}, "junk", 7, _entry(9, 9, 10)]), "no 5-hour or weekly window"),
    ],
)
def test_garbage_is_a_one_line_error(body: Any, needle: str) -> None:
    with pytest.raises(MonitorError) as info:
        parse_quota_limits(body, fetched_at=AT)
    message = str(info.value)
    assert needle in message and "\n" not in message


def test_odd_values_are_clamped_or_dropped_not_fatal() -> None:
    body = _ok([_entry(3, 5, 140, nextResetTime="soon", usage="x"), _entry(6, 1, -3, nextResetTime=10**30)])
    reading = parse_quota_limits(body, fetched_at=AT)
    assert reading.windows["5h"].percentage == 100 and reading.windows["5h"].resets_at is None
    assert reading.windows["5h"].limit is None
    assert reading.windows["week"].percentage == 0 and reading.windows["week"].resets_at is None


def test_monitor_url_keeps_the_host_and_replaces_the_path() -> None:
    assert (
        monitor_url("https://api.z.ai/api/coding/paas/v4/")
        == "https://api.z.ai/api/monitor/usage/quota/limit"
    )
    assert monitor_url("http://127.0.0.1:8123/api/coding/paas/v4") == (
        "http://127.0.0.1:8123/api/monitor/usage/quota/limit"
    )


# -- the client against the simulator ----------------------------------------------------------------
def _slot(base_url: str, key: str = CODING_KEY, plan: str = "coding") -> Slot:
    return Slot(
        name="main",
        provider="zai",
        base_url=base_url,
        model="glm-5.1",
        api_key=Secret(key),
        plan=plan,  # type: ignore[arg-type]
        tier="lite" if plan == "coding" else None,
    )


def _sim(**kw: Any) -> SimulatorServer:
    keys = [KeyConfig(key=CODING_KEY, kind="coding", tier="lite"), KeyConfig(key=DEV_KEY, kind="developer")]
    return SimulatorServer(SimConfig(keys=keys, **kw))


def _spend(sim: SimulatorServer, n: int) -> None:
    client = openai.OpenAI(api_key=CODING_KEY, base_url=sim.zai_coding_url, max_retries=0, timeout=10)
    for _ in range(n):
        client.chat.completions.create(model="glm-5.1", messages=[{"role": "user", "content": "hi"}])


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_spending_prompts_moves_the_monitors_percentage_and_the_cache_holds_for_its_ttl() -> None:
    clock = _Clock()

    async def run(sim: SimulatorServer) -> None:
        monitor = QuotaMonitor(clock=clock, ttl_s=60)
        slot = _slot(sim.zai_coding_url)
        try:
            first = await monitor.read(slot)
            assert first.diagnosis is None and first.reading is not None
            assert first.reading.windows["5h"].percentage == 0 and first.reading.level == "lite"
            assert monitor.requests_sent == 1  # the bare key works: no second try
            await asyncio.to_thread(_spend, sim, 12)  # 12 of Lite's 120 prompts
            cached = await monitor.read(slot)
            assert cached.cached and cached.reading is first.reading and monitor.requests_sent == 1
            clock.t += 61
            fresh = await monitor.read(slot)
            assert not fresh.cached and fresh.reading is not None
            assert fresh.reading.windows["5h"].percentage == 10  # 12/120
            assert fresh.reading.windows["week"].percentage == 1  # 12/960, rounded by the service
            assert fresh.reading.windows["5h"].resets_at is not None
            assert monitor.requests_sent == 2
        finally:
            await monitor.aclose()

    with _sim() as sim:
        asyncio.run(run(sim))


def test_a_refused_key_is_a_one_line_diagnosis_after_trying_both_forms(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def run(sim: SimulatorServer) -> None:
        monitor = QuotaMonitor()
        try:
            # A Developer key on a coding URL: the monitor answers 200 with code 401 in the body.
            result = await monitor.read(_slot(sim.zai_coding_url, key=DEV_KEY))
            assert result.reading is None and result.diagnosis is not None
            assert "refused the key (code 401) with and without 'Bearer'" in result.diagnosis
            assert "\n" not in result.diagnosis and DEV_KEY not in result.diagnosis
            assert monitor.requests_sent == 2
            again = await monitor.read(_slot(sim.zai_coding_url, key=DEV_KEY))
            assert again.cached and monitor.requests_sent == 2  # a failure is cached too
        finally:
            await monitor.aclose()

    caplog.set_level(logging.DEBUG)
    with _sim() as sim:
        asyncio.run(run(sim))
    assert "refused the key" in caplog.text and DEV_KEY not in caplog.text


def test_unreachable_monitor_and_non_coding_slots_never_raise() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there

    async def run() -> None:
        monitor = QuotaMonitor()
        try:
            down = await monitor.read(_slot(f"http://127.0.0.1:{port}/api/coding/paas/v4"))
            assert down.reading is None and down.diagnosis is not None
            assert down.diagnosis.startswith(f"could not reach the quota monitor at 127.0.0.1:{port}")
            dev = await monitor.read(_slot("https://api.z.ai/api/paas/v4", plan="developer"))
            assert dev.reading is None and "Coding Plan keys only" in (dev.diagnosis or "")
        finally:
            await monitor.aclose()

    asyncio.run(run())


def test_turned_off_and_rate_limited_monitors_send_nothing() -> None:
    async def run(sim: SimulatorServer) -> None:
        off = QuotaMonitor(enabled=False)
        result = await off.read(_slot(sim.zai_coding_url))
        assert result.reading is None and "HUNKWISE_QUOTA_MONITOR=off" in (result.diagnosis or "")
        assert off.requests_sent == 0
        tight = QuotaMonitor(max_calls_per_minute=1)
        try:
            assert (await tight.read(_slot(sim.zai_coding_url))).reading is not None
            other = await tight.read(_slot(sim.zai_coding_url, key="another-coding-key-01"))
            assert other.reading is None and "limit of 1 requests a minute" in (other.diagnosis or "")
            assert tight.requests_sent == 1
        finally:
            await tight.aclose()

    with _sim() as sim:
        asyncio.run(run(sim))


def test_the_ssrf_guard_applies_to_the_monitor() -> None:
    async def run(sim: SimulatorServer) -> None:
        guarded = QuotaMonitor(transport_factory=connect_guard(SsrfPolicy()))
        allowed = QuotaMonitor(
            transport_factory=connect_guard(SsrfPolicy(allowed_hosts=frozenset({"127.0.0.1"})))
        )
        try:
            refused = await guarded.read(_slot(sim.zai_coding_url))
            assert refused.reading is None
            assert "SSRF policy" in (refused.diagnosis or "") and "\n" not in (refused.diagnosis or "")
            assert (await allowed.read(_slot(sim.zai_coding_url))).reading is not None
        finally:
            await guarded.aclose()
            await allowed.aclose()

    with _sim() as sim:
        asyncio.run(run(sim))


def test_a_provider_echoing_the_key_never_gets_it_into_a_diagnosis() -> None:
    """A hostile or careless provider (the outside world, faked at the transport) answers with the
    Authorization header in its message: the diagnosis shows the key masked."""
    import httpx2

    def hostile(request: httpx2.Request) -> httpx2.Response:
        echoed = request.headers["authorization"]
        # Long enough that a cut at the diagnosis's length limit would fall inside the key.
        msg = "x" * 100 + f" bad header {echoed}"
        return httpx2.Response(200, json={"code": 500, "msg": msg, "success": False})

    async def run() -> None:
        monitor = QuotaMonitor(transport_factory=lambda slot: httpx2.MockTransport(hostile))
        try:
            result = await monitor.read(_slot("https://api.z.ai/api/coding/paas/v4"))
        finally:
            await monitor.aclose()
        assert result.reading is None and result.diagnosis is not None
        # Unscrubbed, the 120-character cut would have kept the key's first 8 characters.
        assert CODING_KEY[:8] not in result.diagnosis and "\n" not in result.diagnosis
        assert (
            result.diagnosis == "the quota monitor answered code 500: " + "x" * 100 + " bad header ••••0001"
        )

    asyncio.run(run())
