"""The merged window view: the forecast (a pure function, clock given), the peak-hour weighting
from the catalog, and which source each figure comes from when the monitor answers, answers
partly, or does not."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from call_records import call_record
from hunkwise.catalog.loader import load_catalog
from hunkwise.gateway import MonitorReading, MonitorResult, MonitorWindow, Secret, Slot
from hunkwise.gateway.types import Attempt
from hunkwise.store import RunRecord, record_run
from hunkwise.store.capacity import (
    duration,
    forecast_window,
    ledger_capacity,
    remaining_window_capacity,
    weighted_counts,
)

# 12:00 UTC is 20:00 in Beijing: off-peak, GLM-5.1 counts 2x. 07:00 UTC is 15:00 there: peak, 3x.
OFF_PEAK = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
PEAK = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
KEY = Secret("capacity-coding-key-0001")
BASE = "https://api.z.ai/api/coding/paas/v4"
CODING = f"zai|{BASE}|{KEY.fingerprint}"
H = timedelta(hours=1)
M = timedelta(minutes=1)


# -- forecast --------------------------------------------------------------------------------------
def test_forecast_runs_out_before_the_reset() -> None:
    now = datetime(2026, 12, 5, 13, 0, tzinfo=UTC)
    f = forecast_window(remaining=32, prompts_last_hour=12, multiplier=2, resets_at=now + 5 * H, now=now)
    assert f.rate_per_hour == 24
    assert f.runs_out_at == now + timedelta(hours=32 / 24)  # 14:20
    assert f.margin == 5 * H - timedelta(hours=32 / 24)
    assert not f.lasts_until_reset
    assert (
        f.message(UTC)
        == "at the last hour's rate (12/h x2) this window runs out at 14:20, 3 h 40 min before its reset"
    )
    d = f.as_dict(UTC)
    assert d["runs_out_at"] == "2026-12-05T14:20:00+00:00" and d["before_reset_seconds"] == 3 * 3600 + 40 * 60


def test_forecast_says_so_when_the_window_outlasts_its_reset() -> None:
    now = datetime(2026, 12, 5, 13, 0, tzinfo=UTC)
    f = forecast_window(remaining=100, prompts_last_hour=5, multiplier=2, resets_at=now + 2 * H, now=now)
    assert f.runs_out_at is None and f.lasts_until_reset
    assert f.message(UTC) == "at the last hour's rate (5/h x2) this window lasts until its reset at 15:00"


def test_no_forecast_without_a_rate_or_a_size() -> None:
    now = datetime(2026, 12, 5, 13, 0, tzinfo=UTC)
    idle = forecast_window(remaining=10, prompts_last_hour=0, multiplier=3, resets_at=now + H, now=now)
    assert idle.runs_out_at is None and not idle.lasts_until_reset
    assert idle.message(UTC) == "no forecast: nothing was sent on this key in the last hour"
    unknown = forecast_window(remaining=None, prompts_last_hour=9, multiplier=3, resets_at=None, now=now)
    assert unknown.runs_out_at is None and "size is unknown" in unknown.message(UTC)


def test_a_spent_window_runs_out_now_and_a_far_reset_names_its_day() -> None:
    now = datetime(2026, 12, 5, 13, 0, tzinfo=UTC)  # a Saturday
    spent = forecast_window(remaining=0, prompts_last_hour=0, multiplier=2, resets_at=now + 26 * H, now=now)
    assert spent.message(UTC) == "this window is spent now; it resets at Sun 15:00"
    no_reset = forecast_window(remaining=6, prompts_last_hour=6, multiplier=1, resets_at=None, now=now)
    assert no_reset.runs_out_at == now + H
    assert no_reset.message(UTC) == "at the last hour's rate (6/h x1) this window runs out at 14:00"


@pytest.mark.parametrize(
    ("delta", "text"),
    [(40 * M, "40 min"), (2 * H, "2 h"), (H + 20 * M, "1 h 20 min"), (76 * H, "3 d 4 h"), (-M, "0 min")],
)
def test_duration(delta: timedelta, text: str) -> None:
    assert duration(delta) == text


# -- peak-hour rule (catalog) -------------------------------------------------------------------------
def test_the_catalog_states_the_peak_rule_with_its_source() -> None:
    rule = load_catalog().peak_hours
    assert rule.multiplier("glm-5.1", PEAK) == 3 and rule.multiplier("GLM-5-Turbo", PEAK) == 3
    assert rule.multiplier("glm-5.1", OFF_PEAK) == 2 and rule.multiplier("glm-4.5", PEAK) == 1
    assert rule.source and rule.date
    promo = load_catalog().with_overrides({"peak_hours": {"peak_multiplier": 1, "off_peak_multiplier": 1}})
    assert promo.peak_hours.multiplier("glm-5.1", PEAK) == 1


# -- merge -----------------------------------------------------------------------------------------
def _call(now: datetime, ago: timedelta, model: str = "glm-5.1", outcome: str = "ok") -> Attempt:
    return call_record(
        slot="main",
        provider="zai",
        model=model,
        outcome=outcome,
        credential_id=CODING,
        plan="coding",
        tier="lite",
        created_at=now - ago,
    )


def _reading(now: datetime, five: MonitorWindow | None, week: MonitorWindow | None) -> MonitorResult:
    windows = {w.span: w for w in (five, week) if w is not None}
    return MonitorResult(MonitorReading(windows=windows, fetched_at=now, level="lite"))


def test_ledger_only_counts_are_weighted_by_the_peak_rule(engine: Engine) -> None:
    now = OFF_PEAK
    record_run(
        engine,
        RunRecord(source="local"),
        [
            *[_call(now, 10 * M + i * M) for i in range(10)],  # last hour, off-peak: 10 x 2
            _call(now, 5 * H + 30 * M),  # 06:30 UTC = 14:30 Beijing, peak: 3 (week only)
            _call(now, 20 * M, model="glm-4.5"),  # not under the rule: 1
            _call(now, 30 * M, outcome="rate"),  # rejected: not counted
        ],
    )
    assert weighted_counts(engine, CODING, now) == (21, 24, 11)
    cap = ledger_capacity(
        engine, CODING, now, monitor=MonitorResult(None, "quota monitor not asked"), model="glm-5.1"
    )
    assert (cap.multiplier, cap.peak, cap.peak_hours) == (2, False, "14:00-18:00 UTC+8")
    five = cap.five_hour
    assert (five.source, five.limit, five.remaining, five.ledger_weighted) == ("ledger", 120, 99, 21)
    assert cap.week.remaining == 960 - 24 and cap.remaining_prompts == 99
    # 99 left at 11 prompts/h x2 = 22/h: out in 4 h 30 min; the oldest counted prompt (20 minutes
    # old) leaves the rolling window in 4 h 40 min: out 10 minutes before that.
    assert five.resets_at == now + 4 * H + 40 * M
    assert five.forecast.runs_out_at == now + 4 * H + 30 * M and five.forecast.margin == 10 * M
    assert five.forecast.prompts_last_hour == 11 and five.forecast.rate_per_hour == 22
    data = cap.as_dict(UTC)
    assert data["five_hour"]["used"] == 11  # the ledger's raw count stays as it was
    assert data["five_hour"]["capacity"]["source"] == "ledger" and data["multiplier"] == 2
    assert data["monitor"] == {
        "status": "unavailable",
        "diagnosis": "quota monitor not asked",
        "cached": False,
        "reading": None,
    }


def test_the_monitor_wins_where_it_answers_and_the_ledger_fills_in(engine: Engine) -> None:
    now = PEAK
    record_run(engine, RunRecord(source="local"), [_call(now, i * M) for i in range(1, 7)])  # 6 at peak: 18
    reset = now + 3 * H
    five = MonitorWindow(span="5h", percentage=50, resets_at=reset, kind="CREDIT_LIMIT")
    cap = ledger_capacity(engine, CODING, now, monitor=_reading(now, five, None), model="glm-5.1")
    assert cap.multiplier == 3 and cap.peak
    assert (cap.five_hour.source, cap.five_hour.remaining, cap.five_hour.percent_used) == (
        "monitor",
        60,
        50.0,
    )
    assert cap.five_hour.resets_at == reset
    assert (cap.week.source, cap.week.remaining) == ("ledger", 960 - 18)
    # 60 left at 6/h x3 = 18/h: out in 3 h 20 min, after the reset in 3 h: lasts.
    assert cap.five_hour.forecast.lasts_until_reset
    tighter = MonitorWindow(
        span="5h", percentage=90, resets_at=reset, kind="TOKENS_LIMIT", limit=1000, used=900
    )
    cap = ledger_capacity(engine, CODING, now, monitor=_reading(now, tighter, None), model="glm-5.1")
    assert cap.five_hour.remaining == 12  # 10 % of 120
    assert cap.five_hour.forecast.runs_out_at == now + timedelta(hours=12 / 18)
    assert cap.as_dict(UTC)["monitor"]["status"] == "ok"


def test_remaining_window_capacity_for_a_slot(engine: Engine) -> None:
    slot = Slot(
        name="main", provider="zai", base_url=BASE, model="glm-5.1", api_key=KEY, plan="coding", tier="lite"
    )
    record_run(engine, RunRecord(source="local"), [_call(OFF_PEAK, 5 * M)])
    cap = asyncio.run(remaining_window_capacity(engine, slot, now=OFF_PEAK))
    assert cap is not None and cap.ledger.credential_id == slot.credential_id
    assert cap.five_hour.remaining == 118 and cap.five_hour.source == "ledger"
    assert cap.monitor_diagnosis == "quota monitor not configured"
    developer = Slot(
        name="main",
        provider="zai",
        base_url="https://api.z.ai/api/paas/v4",
        model="glm-5.1",
        api_key=KEY,
        plan="developer",
    )
    assert asyncio.run(remaining_window_capacity(engine, developer, now=OFF_PEAK)) is None


def test_a_tier_the_monitor_disagrees_with_is_a_note(engine: Engine) -> None:
    now = OFF_PEAK
    five = MonitorWindow(span="5h", percentage=10, resets_at=now + H, kind="TOKENS_LIMIT")
    reading = MonitorResult(MonitorReading(windows={"5h": five}, fetched_at=now, level="pro"))
    cap = ledger_capacity(engine, CODING, now, monitor=reading, model="glm-5.1", tier="lite")
    assert cap.notes == (
        "Z.AI's quota monitor says this key is on the pro tier, configured as lite: "
        'set tier = "pro" so the prompts left are scaled right',
    )
    same = MonitorResult(MonitorReading(windows={"5h": five}, fetched_at=now, level="lite"))
    assert ledger_capacity(engine, CODING, now, monitor=same, tier="lite").notes == ()
