"""The monthly budget's arithmetic (hunkwise.store.budget): the month in UTC and its boundary,
reservations against spent + held, a retry replacing its own hold, expiry, settle and release.
Runs on SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine

from call_records import call_record
from hunkwise.config.review_settings import MonthlyBudget, org_monthly_budget
from hunkwise.store import jobs as jobs_repo
from hunkwise.store.budget import burn, month_bounds, month_of, release, reserve, settle
from hunkwise.store.db import use_session
from hunkwise.store.ledger import record_run
from hunkwise.store.records import RunRecord

DOLLAR = MonthlyBudget(1.0, "organization setting")
NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)


def spend(engine: Engine, org: str, key: str, cost: float, at: datetime, *, simulated: bool = False) -> None:
    """A finished review job of ``org`` whose run cost ``cost``, recorded at ``at``."""
    jobs_repo.enqueue(engine, org=org, kind="github_review", payload={}, dedupe_key=key)
    run = RunRecord(source="github", idempotency_key=f"job:{key}", created_at=at, simulated=simulated)
    record_run(engine, run, [call_record(cost_usd=cost, created_at=at, simulated=simulated)])


def test_the_month_is_the_calendar_month_in_utc() -> None:
    assert month_of(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)) == "2026-12"
    # 19:30 in New York on the 31st is already January in UTC.
    assert month_of(datetime(2026, 12, 31, 19, 30, tzinfo=timezone(timedelta(hours=-5)))) == "2027-01"
    assert month_bounds("2026-12") == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert month_bounds("2027-02")[1] == datetime(2027, 3, 1, tzinfo=UTC)


def test_reservations_fit_exactly_to_the_budget_and_no_further(engine: Engine) -> None:
    assert reserve(engine, "acme", "a", 0.6, DOLLAR, now=NOW).granted
    refused = reserve(engine, "acme", "b", 0.5, DOLLAR, now=NOW)
    assert not refused.granted and refused.burn.reserved_usd == pytest.approx(0.6)
    assert reserve(engine, "acme", "c", 0.4, DOLLAR, now=NOW).granted  # 0.6 + 0.4 == 1.0: fits
    month = burn(engine, "acme", DOLLAR, now=NOW)
    assert (month.reserved_usd, month.reservations, month.spent_usd) == (pytest.approx(1.0), 2, 0.0)
    assert month.percent == pytest.approx(100.0) and month.exhausted and month.warning
    assert not reserve(engine, "acme", "d", 0.01, DOLLAR, now=NOW).granted
    # Another organization's month is its own.
    assert reserve(engine, "globex", "g", 0.9, DOLLAR, now=NOW).granted


def test_a_retry_replaces_its_own_hold(engine: Engine) -> None:
    first = reserve(engine, "acme", "job-1", 0.6, DOLLAR, now=NOW)
    assert first.granted
    again = reserve(engine, "acme", "job-1", 0.7, DOLLAR, now=NOW)  # not 0.6 + 0.7
    assert again.granted and again.burn.reserved_usd == 0.0 and again.token != first.token
    assert burn(engine, "acme", DOLLAR, now=NOW).reserved_usd == pytest.approx(0.7)
    # The worker that lost the job cannot end the new owner's hold with its old token.
    assert not release(engine, "job-1", token=first.token, now=NOW)
    assert not settle(engine, "job-1", 0.1, token=first.token, now=NOW)
    assert burn(engine, "acme", DOLLAR, now=NOW).reserved_usd == pytest.approx(0.7)
    assert release(engine, "job-1", token=again.token, now=NOW)


def test_a_crashed_workers_hold_expires(engine: Engine) -> None:
    assert reserve(engine, "acme", "dead-worker", 0.9, DOLLAR, now=NOW, ttl=timedelta(minutes=30)).granted
    assert not reserve(engine, "acme", "next", 0.5, DOLLAR, now=NOW + timedelta(minutes=29)).granted
    later = NOW + timedelta(minutes=31)  # nobody settled or released it: it stops counting
    assert burn(engine, "acme", DOLLAR, now=later).reserved_usd == 0.0
    assert reserve(engine, "acme", "next", 0.5, DOLLAR, now=later).granted


def test_settle_moves_the_cost_from_reserved_to_spent_and_release_gives_it_back(engine: Engine) -> None:
    assert reserve(engine, "acme", "k1", 0.5, DOLLAR, now=NOW).granted
    assert reserve(engine, "acme", "k2", 0.3, DOLLAR, now=NOW).granted
    with use_session(engine, write=True) as session:  # as the review job does: one transaction
        jobs_repo.enqueue(session, org="acme", kind="github_review", payload={}, dedupe_key="k1")
        run = RunRecord(source="github", idempotency_key="job:k1", created_at=NOW)
        record_run(session, run, [call_record(cost_usd=0.42, created_at=NOW)])
        assert settle(session, "k1", 0.42, now=NOW)
    month = burn(engine, "acme", DOLLAR, now=NOW)
    assert month.spent_usd == pytest.approx(0.42) and month.reserved_usd == pytest.approx(0.3)
    assert release(engine, "k2", now=NOW) and not release(engine, "k2", now=NOW)  # once
    assert not settle(engine, "k1", 0.42)  # already settled
    month = burn(engine, "acme", DOLLAR, now=NOW)
    assert month.reserved_usd == 0.0 and month.remaining_usd == pytest.approx(0.58)
    assert reserve(engine, "acme", "k3", 0.58, DOLLAR, now=NOW).granted
    assert not reserve(engine, "acme", "k4", 0.01, DOLLAR, now=NOW).granted


def test_only_this_months_real_spend_of_the_org_counts(engine: Engine) -> None:
    spend(engine, "acme", "nov", 0.9, datetime(2026, 11, 30, 23, 59, tzinfo=UTC))  # last month
    spend(engine, "acme", "dec", 0.25, datetime(2026, 12, 1, 0, 0, tzinfo=UTC))  # this month's first second
    spend(engine, "acme", "sim", 5.0, NOW, simulated=True)  # the simulator: no money
    spend(engine, "globex", "other", 3.0, NOW)  # another organization
    assert burn(engine, "acme", DOLLAR, now=NOW).spent_usd == pytest.approx(0.25)
    # A hold taken in November no longer counts in December.
    assert reserve(
        engine, "acme", "late", 0.05, DOLLAR, now=datetime(2026, 11, 30, 23, 50, tzinfo=UTC)
    ).granted
    assert burn(engine, "acme", DOLLAR, now=datetime(2026, 12, 1, 0, 5, tzinfo=UTC)).reserved_usd == 0.0
    # The new month starts from zero.
    january = burn(engine, "acme", DOLLAR, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert (january.month, january.spent_usd, january.percent) == ("2027-01", 0.0, 0.0)


def test_without_a_budget_everything_fits_and_is_still_shown(engine: Engine) -> None:
    none = org_monthly_budget(None, ("off", "default"))
    assert none.usd is None and none.source == "server default (default)"
    assert reserve(engine, "acme", "big", 1_000.0, none, now=NOW).granted
    month = burn(engine, "acme", none, now=NOW)
    assert month.reserved_usd == 1_000.0 and month.percent is None and not month.warning
    assert month.as_dict()["budget_usd"] is None and month.as_dict()["exhausted"] is False


def test_the_warning_starts_at_80_percent(engine: Engine) -> None:
    assert reserve(engine, "acme", "a", 0.79, DOLLAR, now=NOW).granted
    assert not burn(engine, "acme", DOLLAR, now=NOW).warning
    assert reserve(engine, "acme", "b", 0.01, DOLLAR, now=NOW).granted
    shown = burn(engine, "acme", DOLLAR, now=NOW).as_dict()
    assert shown["warning"] is True and shown["percent_used"] == 80.0 and shown["exhausted"] is False
    assert shown["resets_at"] == "2027-01-01T00:00:00+00:00" and shown["month"] == "2026-12"
