"""``--since`` parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hunkwise.store import parse_since

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("24h", NOW - timedelta(hours=24)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2w", NOW - timedelta(weeks=2)),
        (" 5H ", NOW - timedelta(hours=5)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T08:30", datetime(2026, 11, 1, 8, 30, tzinfo=UTC)),
        ("2026-11-01T08:30+02:00", datetime(2026, 11, 1, 8, 30, tzinfo=timezone(timedelta(hours=2)))),
    ],
)
def test_parse_since(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize(("text", "needle"), [("yesterday", "expects a duration"), ("0d", "positive")])
def test_parse_since_errors(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_since(text, NOW)
