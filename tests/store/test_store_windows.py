"""Coding Plan windows across the 5-hour and weekly boundaries, with explicit timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from call_records import call_record
from hunkwise.catalog.loader import load_catalog
from hunkwise.gateway.types import Attempt
from hunkwise.store import RunRecord, coding_plan_windows, record_calls, record_run, window_usage

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CODING = "zai|https://api.z.ai/api/coding/paas/v4|0123456789abcdef"
OTHER_CODING = "zai|https://proxy.local/api/coding/paas/v4|fedcba9876543210"
DEVELOPER = "zai|https://api.z.ai/api/paas/v4|aaaaaaaaaaaaaaaa"


def _call(ago: timedelta, outcome: str = "ok", credential: str = CODING, **kw: object) -> Attempt:
    plan = "developer" if credential == DEVELOPER else "coding"
    fields: dict[str, object] = {
        "slot": "main",
        "provider": "zai",
        "model": "glm-5.1",
        "outcome": outcome,
        "credential_id": credential,
        "plan": plan,
        "tier": "lite" if plan == "coding" else None,
        "created_at": NOW - ago,
    }
    fields.update(kw)
    return call_record(**fields)  # type: ignore[arg-type]


H = timedelta(hours=1)
M = timedelta(minutes=1)


def test_counts_across_the_window_boundaries(engine: Engine) -> None:
    record_run(
        engine,
        RunRecord(source="local"),
        [
            _call(5 * H + M),  # just left the 5-hour window, still in the week
            _call(5 * H - M),  # oldest inside the 5-hour window
            _call(1 * H),
            _call(1 * H, outcome="timeout"),  # probably ran: counted
            _call(1 * H, outcome="rate"),  # rejected: not counted
            _call(30 * M, outcome="quota_window", code="1308"),  # rejected, but remembered
            _call(6 * 24 * H),  # oldest inside the week
            _call(7 * 24 * H + M),  # left the week
            _call(-M),  # after `now`: not counted
            _call(1 * H, credential=DEVELOPER),  # another credential
        ],
    )
    w = window_usage(engine, CODING, NOW)
    assert (w.plan, w.tier, w.models) == ("coding", "lite", ("glm-5.1",))
    assert w.five_hour.used == 3
    assert w.five_hour.oldest_at == NOW - (5 * H - M)
    assert w.five_hour.resets_at == NOW + M
    assert w.week.used == 5
    assert w.week.oldest_at == NOW - 6 * 24 * H
    assert w.week.resets_at == NOW + 24 * H
    lite = load_catalog().tiers["lite"]
    assert (w.five_hour.limit, w.week.limit) == (lite.prompts_5h, lite.prompts_week)
    assert not w.warning and not w.five_hour.exhausted
    assert w.last_quota_error_at == NOW - 30 * M
    assert w.fingerprint == "0123456789abcdef" and w.base_url == "https://api.z.ai/api/coding/paas/v4"

    # An hour later the oldest 5-hour prompt has left, and the call made after `now` counts.
    later = window_usage(engine, CODING, NOW + H)
    assert later.five_hour.used == 3 and later.week.used == 6
    assert later.five_hour.oldest_at == NOW - H


def test_warning_and_exhaustion_against_overridden_ceilings(engine: Engine) -> None:
    catalog = load_catalog().with_overrides({"tiers": {"lite": {"prompts_5h": 5, "prompts_week": 10}}})
    record_calls(engine, [_call(4 * H), _call(3 * H), _call(2 * H), _call(H)])
    w = window_usage(engine, CODING, NOW, catalog=catalog)
    assert w.five_hour.used == 4 and w.five_hour.fraction == 0.8
    assert w.five_hour.warning and not w.five_hour.exhausted and w.warning
    assert w.five_hour.available_at is None
    assert w.as_dict()["five_hour"] == {
        "used": 4,
        "limit": 5,
        "percent": 80.0,
        "warning": True,
        "oldest_at": (NOW - 4 * H).isoformat(),
        "resets_at": (NOW + H).isoformat(),
        "available_at": None,
    }
    assert not w.week.warning

    record_calls(engine, [_call(30 * M), _call(10 * M)])
    w = window_usage(engine, CODING, NOW, catalog=catalog)
    assert w.five_hour.used == 6 and w.five_hour.exhausted
    # Back under 5 once the two oldest (4 h and 3 h ago) have left the window.
    assert w.five_hour.available_at == NOW + 2 * H


def test_tier_comes_from_latest_call_or_argument(engine: Engine) -> None:
    record_calls(engine, [_call(2 * H, tier="lite"), _call(H, tier="pro")])
    assert window_usage(engine, CODING, NOW).tier == "pro"
    w = window_usage(engine, CODING, NOW, tier="max")
    assert w.tier == "max" and w.five_hour.limit == load_catalog().tiers["max"].prompts_5h


def test_unknown_tier_has_no_ceiling(engine: Engine) -> None:
    record_calls(engine, [_call(H, tier="enterprise")])
    w = window_usage(engine, CODING, NOW)
    assert w.five_hour.limit is None and w.five_hour.fraction is None and not w.warning
    assert w.as_dict()["five_hour"]["percent"] is None


def test_coding_plan_windows_lists_only_recent_coding_credentials(engine: Engine) -> None:
    record_calls(
        engine,
        [
            _call(H),
            _call(2 * H, credential=OTHER_CODING),
            _call(H, credential=DEVELOPER),
            _call(8 * 24 * H, credential="zai|https://x/api/coding/paas/v4|old"),
        ],
    )
    found = coding_plan_windows(engine, NOW)
    assert [w.credential_id for w in found] == sorted([CODING, OTHER_CODING])
    assert all(w.five_hour.used == 1 for w in found)


def test_empty_window(engine: Engine) -> None:
    w = window_usage(engine, CODING, NOW)
    assert w.five_hour.used == 0 and w.five_hour.oldest_at is None and w.five_hour.resets_at is None
    assert w.tier == "lite"  # the Coding Plan's default tier
