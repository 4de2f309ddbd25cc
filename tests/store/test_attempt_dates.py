"""Calls are dated by when the router made them, so windows count prompts at the right time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from hunkwise.gateway.types import Attempt, Secret, Slot
from hunkwise.store import RunRecord, calls_from_attempts, record_run, window_usage

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SLOT = Slot(
    name="main",
    provider="zai",
    base_url="https://api.z.ai/api/coding/paas/v4",
    model="glm-5.1",
    api_key=Secret("coding-plan-key-0001"),
    plan="coding",
    tier="lite",
)


def _attempt(when: datetime | None) -> Attempt:
    at = when.timestamp() if when is not None else 0.0
    return Attempt("main", "zai", "glm-5.1", "ok", 120.0, at=at)


def test_created_at_comes_from_the_attempt_time() -> None:
    started = NOW - timedelta(hours=6)
    records = calls_from_attempts([_attempt(started), _attempt(None)], slots=[SLOT], at=NOW)
    assert records[0].created_at == started
    assert records[1].created_at == NOW  # no time on the attempt: the caller's default


def test_window_counts_prompts_when_they_were_sent(engine: Engine) -> None:
    # A long review: one prompt 5 h 30 min ago, one 10 minutes ago, recorded only now.
    attempts = [_attempt(NOW - timedelta(hours=5, minutes=30)), _attempt(NOW - timedelta(minutes=10))]
    record_run(engine, RunRecord(source="local", created_at=NOW), calls_from_attempts(attempts, slots=[SLOT]))
    w = window_usage(engine, SLOT.credential_id, NOW)
    assert w.five_hour.used == 1  # the old prompt already left the 5-hour window
    assert w.week.used == 2
    assert w.five_hour.oldest_at == NOW - timedelta(minutes=10)
