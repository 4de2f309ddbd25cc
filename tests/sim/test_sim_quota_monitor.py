"""The quota monitor in the real service's shape, the peak-hour multiplier on the sim clock, the
Beijing-time 1308 message, and the Coding Plan codes a key can be told to answer with."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import openai
import pytest

from hunkwise.sim import KeyConfig, SimConfig, SimulatorServer
from hunkwise.sim.config import SimConfigError, build_config

HELLO = [{"role": "user", "content": "Say hello."}]
MONITOR = "/api/monitor/usage/quota/limit"
BEIJING = timezone(timedelta(hours=8))


def _config(**kwargs: Any) -> SimConfig:
    keys = [
        KeyConfig(key="lite-m", kind="coding", quota_5h=100, quota_week=1000),
        KeyConfig(key="dev-m", kind="developer"),
    ]
    return SimConfig(keys=keys, **kwargs)


def _monitor(sim: SimulatorServer, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return httpx.get(sim.base_url + MONITOR, headers=headers, timeout=10)


def _limits(sim: SimulatorServer, key: str = "lite-m") -> dict[tuple[int, int], dict[str, Any]]:
    """Parsed by unit and number, as a client must (never by ``type``)."""
    r = _monitor(sim, key)
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == 200 and body["success"] is True and isinstance(body["msg"], str)
    assert body["data"]["level"] == "lite"
    return {(w["unit"], w["number"]): w for w in body["data"]["limits"]}


def _prompts(sim: SimulatorServer, n: int, model: str = "glm-5.1") -> None:
    client = openai.OpenAI(api_key="lite-m", base_url=sim.zai_coding_url, max_retries=0, timeout=10)
    for _ in range(n):
        client.chat.completions.create(model=model, messages=HELLO)


def _advance_to_beijing_hour(sim: SimulatorServer, hour: int) -> None:
    """Move the sim clock forward to the next ``hour``:00 Beijing time (plus a minute)."""
    now = datetime.fromtimestamp(sim.stats()["clock"], BEIJING)
    target = now.replace(hour=hour, minute=1, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    sim.advance((target - now).total_seconds())


def test_monitor_shape_and_percentage_after_prompts() -> None:
    with SimulatorServer(_config()) as sim:
        _prompts(sim, 3)
        limits = _limits(sim)
        five_h, week, tool_time = limits[(3, 5)], limits[(6, 1)], limits[(5, 1)]
        assert (five_h["type"], week["type"], tool_time["type"]) == ("TOKENS_LIMIT",) * 2 + ("TIME_LIMIT",)
        assert five_h["percentage"] == 3  # 3 of 100 prompts, the multiplier off (a promotion)
        assert week["percentage"] == 0  # 3 of 1000 rounds to 0 %
        assert tool_time["percentage"] == 0
        clock = sim.stats()["clock"]
        assert abs(five_h["nextResetTime"] / 1000 - (clock + 5 * 3600)) < 5
        assert abs(week["nextResetTime"] / 1000 - (clock + 7 * 24 * 3600)) < 5
        # Monthly tool time resets on the first of a month, midnight Beijing time.
        reset = datetime.fromtimestamp(tool_time["nextResetTime"] / 1000, BEIJING)
        assert (reset.day, reset.hour, reset.minute) == (1, 0, 0) and reset.timestamp() > clock
        # By default percentage alone, like many real answers: no counts to lean on.
        for entry in limits.values():
            assert not {"usage", "currentValue", "remaining"} & entry.keys()


def test_monitor_usage_fields_are_an_option() -> None:
    with SimulatorServer(_config(monitor_usage_fields=True)) as sim:
        _prompts(sim, 2)
        five_h = _limits(sim)[(3, 5)]
        assert (five_h["usage"], five_h["currentValue"], five_h["remaining"]) == (100, 2, 98)


def test_a_window_of_size_zero_reads_full() -> None:
    keys = [KeyConfig(key="lite-m", kind="coding", quota_5h=0, quota_week=10)]
    with SimulatorServer(SimConfig(keys=keys)) as sim:
        limits = _limits(sim)
        assert (limits[(3, 5)]["percentage"], limits[(6, 1)]["percentage"]) == (100, 0)


def test_monitor_takes_the_key_with_or_without_bearer() -> None:
    with SimulatorServer(_config()) as sim:
        _prompts(sim, 1)
        bare, bearer = _monitor(sim, "lite-m").json(), _monitor(sim, "Bearer lite-m").json()
        assert bare["success"] is True and bearer["success"] is True
        assert bare["data"]["limits"][0]["percentage"] == bearer["data"]["limits"][0]["percentage"] == 1


@pytest.mark.parametrize("authorization", ["nope", "Bearer nope", "", None, "dev-m", "Bearer dev-m"])
def test_monitor_auth_failure_is_http_200_with_401_in_the_body(authorization: str | None) -> None:
    with SimulatorServer(_config()) as sim:
        r = _monitor(sim, authorization)
        assert r.status_code == 200
        body = r.json()
        assert body["code"] == 401 and body["success"] is False and body["msg"]
        assert "data" not in body


def test_peak_multiplier_counts_3x_at_peak_2x_off_peak_1x_other_models() -> None:
    with SimulatorServer(_config(peak_multiplier=True)) as sim:
        _advance_to_beijing_hour(sim, 15)  # peak: 14:00-18:00 UTC+8
        _prompts(sim, 2)
        assert _limits(sim)[(3, 5)]["percentage"] == 6
        sim.advance(6 * 3600)  # 21:01 Beijing, off-peak; the peak prompts left the 5-hour window
        _prompts(sim, 2)
        limits = _limits(sim)
        assert limits[(3, 5)]["percentage"] == 4
        _prompts(sim, 1, model="glm-5-turbo")  # the other model under the rule
        _prompts(sim, 3, model="glm-4.5")  # not under it: 1x
        limits = _limits(sim)
        assert limits[(3, 5)]["percentage"] == 4 + 2 + 3
        assert limits[(6, 1)]["percentage"] == 2  # 6 + 4 + 2 + 3 = 15 of 1000, rounded
        assert sim.key_stats("lite-m")["week_prompts"] == 15


def test_peak_multiplier_closes_the_window_sooner() -> None:
    keys = [KeyConfig(key="lite-m", kind="coding", quota_5h=6, quota_week=1000)]
    with SimulatorServer(SimConfig(keys=keys, peak_multiplier=True)) as sim:
        _advance_to_beijing_hour(sim, 16)
        _prompts(sim, 2)  # 2 x 3 = 6: the window is full after two prompts
        with pytest.raises(openai.RateLimitError) as info:
            _prompts(sim, 1)
        assert info.value.body["code"] == "1308"  # type: ignore[index]
        assert _limits(sim)[(3, 5)]["percentage"] == 100


def test_1308_message_carries_the_reset_in_beijing_time() -> None:
    keys = [KeyConfig(key="lite-m", kind="coding", quota_5h=1, quota_week=1000)]
    with SimulatorServer(SimConfig(keys=keys)) as sim:
        _advance_to_beijing_hour(sim, 3)  # 03:01 Beijing = 19:01 UTC the day before
        _prompts(sim, 1)
        with pytest.raises(openai.RateLimitError) as info:
            _prompts(sim, 1)
        body = info.value.body
        assert isinstance(body, dict)
        match = re.search(r"reset at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$", body["message"])
        assert match is not None
        flush = datetime.fromtimestamp(body["next_flush_time"] / 1000, BEIJING)
        assert match.group(1) == flush.strftime("%Y-%m-%d %H:%M:%S")
        assert flush.hour == 8  # 03:01 + 5 h, Beijing wall clock (UTC would read 00)


@pytest.mark.parametrize("code", ["1309", "1313", "1316", "1317"])
def test_forced_codes_reach_the_sdk_with_the_catalog_message(code: str) -> None:
    from hunkwise.catalog.loader import load_catalog

    entry = load_catalog().error_code(code)
    assert entry is not None
    keys = [KeyConfig(key="lite-m", kind="coding", force_error=code)]  # type: ignore[arg-type]
    with SimulatorServer(SimConfig(keys=keys)) as sim:
        with pytest.raises(openai.APIStatusError) as info:
            _prompts(sim, 1)
        assert info.value.status_code == entry.status == 429
        assert info.value.body == {"code": code, "message": entry.message}
        stats = sim.key_stats("lite-m")
        assert stats["errors"] == {code: 1} and stats["window_5h_prompts"] == 0


def test_force_error_is_for_coding_keys_and_known_codes() -> None:
    with pytest.raises(SimConfigError, match="force_error 1309 is a Coding Plan code"):
        build_config({"keys": [{"key": "d", "kind": "developer", "force_error": "1309"}]})
    with pytest.raises(SimConfigError, match="force_error"):
        build_config({"keys": [{"key": "c", "kind": "coding", "force_error": "1308"}]})
