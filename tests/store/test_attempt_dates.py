"""Calls are dated by when the router made them, so windows count prompts at the right time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from hunkwise.gateway.types import Attempt, Secret, Slot
from hunkwise.store import RunRecord, record_run, window_usage
from hunkwise.store.db import use_session
from hunkwise.store.tables import ModelCall

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
    """A call record as the router makes it on ``SLOT`` (``when`` None: one built without a time)."""
    at = when.timestamp() if when is not None else 0.0
    return Attempt(
        "main",
        "zai",
        "glm-5.1",
        "ok",
        120.0,
        at=at,
        credential_id=SLOT.credential_id,
        plan="coding",
        tier="lite",
    )


def test_created_at_comes_from_the_attempt_time(engine: Engine) -> None:
    started = NOW - timedelta(hours=6)
    before = datetime.now(UTC)
    run_id = record_run(
        engine, RunRecord(source="local", created_at=NOW), [_attempt(started), _attempt(None)]
    )
    with use_session(engine) as session:
        stored = list(session.scalars(select(ModelCall.created_at).where(ModelCall.run_id == run_id)))
    assert started in stored
    (undated,) = [t for t in stored if t != started]
    assert undated >= before.replace(microsecond=0)  # no time on the record: when it was stored


def test_window_counts_prompts_when_they_were_sent(engine: Engine) -> None:
    # A long review: one prompt 5 h 30 min ago, one 10 minutes ago, recorded only now.
    attempts = [_attempt(NOW - timedelta(hours=5, minutes=30)), _attempt(NOW - timedelta(minutes=10))]
    record_run(engine, RunRecord(source="local", created_at=NOW), attempts)
    w = window_usage(engine, SLOT.credential_id, NOW)
    assert w.five_hour.used == 1  # the old prompt already left the 5-hour window
    assert w.week.used == 2
    assert w.five_hour.oldest_at == NOW - timedelta(minutes=10)
