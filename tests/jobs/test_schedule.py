"""Scheduling around a Coding Plan window: priorities in the claim order, the defer/spill decision
(a pure function, the clock given), the spill policy's parsing and storage, and the ledger as the
remaining-capacity source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine

from call_records import call_record
from hunkwise.catalog.loader import load_catalog
from hunkwise.config.scheduling import MANUAL_PRIORITY, PRIORITIES, parse_spill, priority_for, priority_name
from hunkwise.errors import ConfigurationError
from hunkwise.gateway.types import Secret, Slot
from hunkwise.jobs.schedule import (
    Estimate,
    WindowRoom,
    decide,
    estimate_for,
    job_schedule,
    when,
    window_capacity,
)
from hunkwise.store import jobs as repo
from hunkwise.store.ledger import record_run
from hunkwise.store.orgs import create_org, get_org, set_org_spill, spill_for_org
from hunkwise.store.records import RunRecord

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # 11:00 in Beijing: off-peak
RESET = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # 17:00 in Beijing


def _enqueue(db: Engine, key: str, priority: int, now: datetime = NOW) -> repo.Job:
    job, _ = repo.enqueue(
        db, org="acme", kind="github_review", payload={}, dedupe_key=key, priority=priority, now=now
    )
    return job


# --- priorities -----------------------------------------------------------------------------------


def test_priority_order_person_then_new_pr_then_new_commits_then_backfill() -> None:
    assert PRIORITIES["manual"] > PRIORITIES["opened"] > PRIORITIES["synchronize"] > PRIORITIES["backfill"]
    assert priority_for("opened") == priority_for("reopened") == priority_for("open") == PRIORITIES["opened"]
    assert priority_for("synchronize") == priority_for("update") == PRIORITIES["synchronize"]
    assert priority_for("manual") == MANUAL_PRIORITY and priority_for("backfill") == 0
    assert [priority_name(p) for p in (30, 20, 10, 0)] == ["manual", "opened", "synchronize", "backfill"]


def test_claim_takes_the_highest_priority_first_then_the_oldest(engine: Engine) -> None:
    backfill = _enqueue(engine, "b", PRIORITIES["backfill"], NOW - timedelta(hours=2))
    commits = _enqueue(engine, "s", PRIORITIES["synchronize"], NOW - timedelta(hours=1))
    opened_late = _enqueue(engine, "o2", PRIORITIES["opened"], NOW - timedelta(minutes=5))
    opened_early = _enqueue(engine, "o1", PRIORITIES["opened"], NOW - timedelta(minutes=30))
    manual = _enqueue(engine, "m", MANUAL_PRIORITY, NOW)
    order = [repo.claim(engine, "w", lease_s=60, now=NOW + timedelta(seconds=1)) for _ in range(5)]
    assert [j.id for j in order if j] == [manual.id, opened_early.id, opened_late.id, commits.id, backfill.id]
    assert repo.claim(engine, "w", lease_s=60, now=NOW + timedelta(seconds=1)) is None


def test_a_message_for_a_backfill_runs_a_waiting_higher_priority_job_instead(engine: Engine) -> None:
    backfill = _enqueue(engine, "b", PRIORITIES["backfill"])
    opened = _enqueue(engine, "o", PRIORITIES["opened"])
    found = repo.claim_by_id(engine, backfill.id, "w", lease_s=60, now=NOW + timedelta(seconds=1))
    assert found.state == "claimed" and found.job is not None
    assert found.job.id == opened.id and found.instead_of == backfill.id
    still = repo.get_job(engine, backfill.id)
    assert still is not None and still.status == "queued" and still.attempts == 0
    again = repo.claim_by_id(engine, backfill.id, "w", lease_s=60, now=NOW + timedelta(seconds=2))
    assert again.state == "claimed" and again.job is not None and again.job.id == backfill.id
    assert again.instead_of is None


def test_defer_refunds_the_attempt_and_the_job_is_due_at_the_reset(engine: Engine) -> None:
    job = _enqueue(engine, "o", PRIORITIES["opened"])
    claimed = repo.claim(engine, "w", lease_s=60, now=NOW)
    assert claimed is not None and claimed.attempts == 1
    assert repo.defer(engine, job.id, "w", RESET, "window short")
    waiting = repo.get_job(engine, job.id)
    assert waiting is not None and waiting.status == "queued" and waiting.attempts == 0
    assert waiting.deferred_until == RESET and waiting.next_run_at == RESET
    shown = job_schedule(waiting)
    assert shown["deferred"] is True and shown["deferred_label"] == "deferred until 2026-12-05 09:00 UTC"
    assert shown["deferred_until"] == "2026-12-05T09:00:00+00:00" and shown["defer_reason"] == "window short"
    assert repo.claim(engine, "w", lease_s=60, now=RESET - timedelta(seconds=1)) is None
    ran = repo.claim(engine, "w", lease_s=60, now=RESET)
    assert ran is not None and ran.id == job.id and ran.deferred_until is None
    assert job_schedule(ran)["deferred"] is False


def test_run_now_gives_a_deferred_job_a_persons_priority(engine: Engine) -> None:
    job = _enqueue(engine, "o", PRIORITIES["synchronize"])
    repo.claim(engine, "w", lease_s=60, now=NOW)
    repo.defer(engine, job.id, "w", RESET, "window short")
    now_job = repo.run_now(engine, job.id, priority=MANUAL_PRIORITY)
    assert now_job is not None and now_job.priority == MANUAL_PRIORITY and now_job.deferred_until is None
    assert repo.claim(engine, "w", lease_s=60) is not None
    assert repo.run_now(engine, job.id, priority=MANUAL_PRIORITY) is None, "running: not queued any more"


# --- the decision -----------------------------------------------------------------------------------

SHORT = WindowRoom(remaining=4, limit=120, resets_at=RESET)
ROOMY = WindowRoom(remaining=100, limit=120, resets_at=RESET)


def _decide(priority: int = PRIORITIES["opened"], spill: str = "never", **kw: object) -> object:
    args: dict[str, object] = {
        "priority": priority,
        "spill": spill,
        "estimate": Estimate(requests=3, multiplier=2),
        "capacity": SHORT,
        "has_fallback": True,
        "main_cap": 1,
        "now": NOW,
    }
    args.update(kw)
    return decide(**args)  # type: ignore[arg-type]


def test_a_review_the_window_covers_runs_on_main() -> None:
    d = _decide(capacity=ROOMY)
    assert d.action == "main" and d.until is None and not d.spread  # type: ignore[attr-defined]
    assert _decide(capacity=None).action == "main"  # type: ignore[attr-defined]


def test_never_defers_a_lower_priority_review_until_the_reset() -> None:
    d = _decide(spill="never")
    assert d.action == "defer" and d.until == RESET  # type: ignore[attr-defined]
    assert "6 prompt(s) needed (3 request(s) x2 peak multiplier), 4 of 120 left" in d.reason  # type: ignore[attr-defined]
    assert "deferred until 2026-12-05 09:00 UTC" in d.reason  # type: ignore[attr-defined]


def test_a_persons_review_is_never_deferred() -> None:
    assert _decide(priority=MANUAL_PRIORITY, spill="never").action == "main"  # type: ignore[attr-defined]
    assert _decide(priority=MANUAL_PRIORITY, spill="never", has_fallback=False).action == "main"  # type: ignore[attr-defined]
    assert _decide(priority=MANUAL_PRIORITY, spill="when-exhausted").action == "main"  # type: ignore[attr-defined]


def test_when_exhausted_goes_to_the_fallback_or_waits_without_one() -> None:
    exhausted = _decide(spill="when-exhausted")
    assert exhausted.action == "main" and "the Fallback takes over when Main refuses" in exhausted.reason  # type: ignore[attr-defined]
    assert _decide(spill="to-finish-faster").spread  # type: ignore[attr-defined]
    alone = _decide(spill="when-exhausted", has_fallback=False)
    assert alone.action == "defer" and "no Fallback is configured" in alone.reason  # type: ignore[attr-defined]


def test_an_unknown_or_past_reset_never_defers() -> None:
    unknown = WindowRoom(remaining=0, limit=120, resets_at=None)
    assert _decide(capacity=unknown).action == "main"  # type: ignore[attr-defined]
    past = WindowRoom(remaining=0, limit=120, resets_at=NOW - timedelta(minutes=1))
    assert _decide(capacity=past).action == "main"  # type: ignore[attr-defined]


def test_to_finish_faster_spreads_only_a_review_larger_than_mains_cap_with_a_fallback() -> None:
    assert _decide(spill="to-finish-faster", capacity=ROOMY).spread  # type: ignore[attr-defined]
    one = Estimate(requests=1, multiplier=2)
    assert not _decide(spill="to-finish-faster", capacity=ROOMY, estimate=one).spread  # type: ignore[attr-defined]
    assert not _decide(spill="to-finish-faster", capacity=ROOMY, has_fallback=False).spread  # type: ignore[attr-defined]
    assert not _decide(spill="when-exhausted", capacity=ROOMY).spread  # type: ignore[attr-defined]
    assert _decide(spill="to-finish-faster", capacity=None).spread  # type: ignore[attr-defined]


def test_the_peak_multiplier_in_force_decides_whether_the_window_covers_it() -> None:
    peak = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)  # 15:00 Beijing
    assert estimate_for(4, "glm-5.1", peak).prompts == 12 and estimate_for(4, "glm-5.1", NOW).prompts == 8
    assert estimate_for(4, "glm-4.5-air", peak).prompts == 4
    promotion = load_catalog().with_overrides(
        {"peak_hours": {"peak_multiplier": 1, "off_peak_multiplier": 1}}
    )
    assert estimate_for(4, "glm-5.1", peak, catalog=promotion).prompts == 4
    capacity = WindowRoom(remaining=10, limit=120, resets_at=RESET)
    off_peak = _decide(estimate=estimate_for(4, "glm-5.1", NOW), capacity=capacity)
    at_peak = _decide(estimate=estimate_for(4, "glm-5.1", peak), capacity=capacity, now=peak)
    assert off_peak.action == "main" and at_peak.action == "defer"  # type: ignore[attr-defined]


def test_deferral_times_are_shown_in_utc_with_the_zone() -> None:
    beijing = RESET.astimezone(timezone(timedelta(hours=8)))
    assert when(beijing) == "2026-12-05 09:00 UTC"


# --- the spill policy -------------------------------------------------------------------------------


def test_spill_policy_parses_and_refuses_with_one_line() -> None:
    assert parse_spill("Never") == "never" and parse_spill("to_finish_faster") == "to-finish-faster"
    with pytest.raises(
        ConfigurationError, match=r"HUNKWISE_SPILL = 'sometimes' is not a spill policy: one of"
    ):
        parse_spill("sometimes", "HUNKWISE_SPILL")


def test_org_spill_is_stored_and_falls_back_to_the_server_default(engine: Engine) -> None:
    create_org(engine, "acme", "Acme")
    assert spill_for_org(engine, "acme", "when-exhausted") == "when-exhausted"
    assert spill_for_org(engine, "ghost", "never") == "never", "no row (fixed mode): the server's"
    info = set_org_spill(engine, "acme", "never")
    assert info is not None and info.spill == "never"
    assert spill_for_org(engine, "acme", "when-exhausted") == "never"
    set_org_spill(engine, "acme", None)
    found = get_org(engine, "acme")
    assert found is not None and found.spill is None
    assert set_org_spill(engine, "ghost", "never") is None


def test_settings_read_hunkwise_spill() -> None:
    from hunkwise.config.settings import Settings

    assert Settings.from_env({"HUNKWISE_SPILL": "to-finish-faster"}).spill == "to-finish-faster"
    assert Settings.from_env({"HUNKWISE_SPILL": " "}).spill is None
    with pytest.raises(Exception, match="HUNKWISE_SPILL"):
        Settings.from_env({"HUNKWISE_SPILL": "always"})


# --- the ledger as the remaining-capacity source ----------------------------------------------------


def _lite_slot() -> Slot:
    return Slot(
        name="main", provider="zai", base_url="http://sim/api/coding/paas/v4", model="glm-5.1",
        api_key=Secret("lite-key"), plan="coding", tier="lite", max_concurrent=1, context_window=200_000,
    )  # fmt: skip


async def test_window_capacity_reports_the_tighter_window_from_the_ledger(engine: Engine) -> None:
    slot = _lite_slot()
    first = NOW - timedelta(hours=1)  # 10:00 in Beijing: GLM-5.1 counts 2x off-peak
    calls = [
        call_record(
            created_at=first + timedelta(seconds=i),
            credential_id=slot.credential_id,
            plan="coding",
            tier="lite",
        )
        for i in range(50)
    ]
    record_run(engine, RunRecord(source="github", status="done", idempotency_key="fill"), calls)
    capacity = await window_capacity(engine)(slot, NOW)
    assert capacity is not None
    assert (capacity.remaining, capacity.limit, capacity.window) == (20, 120, "5-hour")
    assert capacity.source == "usage ledger" and capacity.resets_at is not None
    later = await window_capacity(engine)(slot, first + timedelta(hours=5, seconds=200))
    assert later is not None and later.remaining == 120
    developer = Slot(
        name="fb",
        provider="zai",
        base_url="http://sim",
        model="glm-5.1",
        api_key=Secret("d"),
        plan="developer",
    )
    assert await window_capacity(engine)(developer, NOW) is None


def test_server_spill_env_then_config_file_then_default(tmp_path: Path) -> None:
    from hunkwise.config.files import ConfigFileError, load_config_files
    from hunkwise.config.review_settings import server_spill
    from hunkwise.config.settings import Settings

    config = tmp_path / "config.toml"
    config.write_text('[review]\nspill = "never"\n')
    from_file = Settings.from_env({"HUNKWISE_CONFIG": str(config)})
    assert server_spill(from_file, load_config_files(from_file, tmp_path)) == "never"
    both = Settings.from_env({"HUNKWISE_CONFIG": str(config), "HUNKWISE_SPILL": "to-finish-faster"})
    assert server_spill(both, load_config_files(both, tmp_path)) == "to-finish-faster"
    config.write_text("[review]\n")
    assert server_spill(from_file, load_config_files(from_file, tmp_path)) == "when-exhausted"
    config.write_text('[review]\nspill = "sometimes"\n')
    with pytest.raises(ConfigFileError, match=r"spill.*never"):
        load_config_files(from_file, tmp_path)
