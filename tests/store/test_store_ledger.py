"""The usage ledger on SQLite and PostgreSQL: recording, idempotency, summaries."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text

from hunkwise.gateway.types import Attempt, Secret, Slot, Usage
from hunkwise.store import (
    RunRecord,
    record_calls,
    record_run,
    session_scope,
    usage_summary,
)
from hunkwise.store.tables import ModelCall, ReviewRun

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CANARY_KEY = "sk-canary-DO-NOT-STORE-1234567890"


def _slot(name: str, model: str, plan: str | None = None, tier: str | None = None) -> Slot:
    url = "https://api.z.ai/api/coding/paas/v4" if plan == "coding" else "https://api.z.ai/api/paas/v4"
    return Slot(
        name=name,
        provider="zai",
        base_url=url,
        model=model,
        api_key=Secret(CANARY_KEY + name),
        plan=plan,  # type: ignore[arg-type]
        tier=tier,  # type: ignore[arg-type]
    )


MAIN = _slot("main", "glm-5.1", "coding", "lite")
FALLBACK = _slot("fallback", "glm-5", "developer")


def _failover_calls() -> list[Attempt]:
    """The router's records of one request: main hit its quota window, fallback answered after
    one rate-limited retry."""
    at = NOW.timestamp()
    usage = Usage(calls=1, input_tokens=1000, output_tokens=200, reasoning_tokens=50, cost_usd=0.0016)
    main = {
        "credential_id": MAIN.credential_id,
        "plan": "coding",
        "tier": "lite",
        "purpose": "review",
        "at": at,
    }
    fallback = {"credential_id": FALLBACK.credential_id, "plan": "developer", "purpose": "review", "at": at}
    return [
        Attempt("main", "zai", "glm-5.1", "quota_window", 40.0, status=429, code="1308", **main),  # type: ignore[arg-type]
        Attempt("fallback", "zai", "glm-5", "rate", 30.0, status=429, code="1303", failover=True, **fallback),  # type: ignore[arg-type]
        Attempt("fallback", "zai", "glm-5", "ok", 900.0, waited_ms=12.0, usage=usage, **fallback),  # type: ignore[arg-type]
    ]


def _ok_call(model: str = "glm-5.1", at: datetime = NOW, **kw: object) -> Attempt:
    fields: dict[str, object] = {
        "slot": "main",
        "provider": "zai",
        "model": model,
        "outcome": "ok",
        "usage": Usage(calls=1, input_tokens=100, output_tokens=10, cost_usd=0.001),
        "latency_ms": 500.0,
        "at": at.timestamp(),
    }
    fields.update(kw)
    return Attempt(**fields)  # type: ignore[arg-type]


def test_record_run_stores_run_with_totals_from_calls(engine: Engine) -> None:
    calls = _failover_calls()
    run = RunRecord(
        source="local",
        status="done",
        idempotency_key="run-1",
        repository="acme/api",
        ref="feature..main",
        files_reviewed=3,
        lines_reviewed=120,
        findings={"high": 2, "low": 1},
        skipped_lines=4,
        duration_ms=2500,
        created_at=NOW,
    )
    run_id = record_run(engine, run, calls)
    with session_scope(engine) as s:
        row = s.get(ReviewRun, run_id)
        assert row is not None
        assert (row.calls, row.input_tokens, row.output_tokens, row.failovers) == (3, 1000, 200, 1)
        assert (row.findings_high, row.findings_low, row.findings_critical) == (2, 1, 0)
        assert row.created_at == NOW and row.repository == "acme/api" and row.skipped_lines == 4
        stored = s.scalars(select(ModelCall).where(ModelCall.run_id == run_id).order_by(ModelCall.id)).all()
        assert [c.outcome for c in stored] == ["quota_window", "rate", "ok"]
        assert [c.failover for c in stored] == [False, True, False]
        assert [c.input_tokens for c in stored] == [0, 0, 1000]
        assert stored[2].reasoning_tokens == 50 and stored[2].cost_usd == pytest.approx(0.0016)
        assert stored[0].credential_id == MAIN.credential_id and stored[0].plan == "coding"
        assert stored[0].tier == "lite" and stored[0].code == "1308" and stored[0].status == 429
        assert stored[2].waited_ms == 12.0 and stored[2].created_at == NOW and stored[2].purpose == "review"
    with engine.connect() as conn:
        dump = repr(conn.execute(text("SELECT * FROM model_calls")).all())
        dump += repr(conn.execute(text("SELECT * FROM review_runs")).all())
    assert CANARY_KEY not in dump


def test_record_run_twice_with_same_key_counts_once(engine: Engine) -> None:
    run = RunRecord(source="github", idempotency_key="gh-delivery-42", created_at=NOW)
    first = record_run(engine, run, [_ok_call()])
    second = record_run(engine, run, [_ok_call(), _ok_call()])
    assert first == second
    summary = usage_summary(engine)
    assert summary.runs == 1 and summary.total.calls == 1


def test_concurrent_record_with_same_key_stores_one_run(
    engine: Engine, engine_factory: Callable[[], Engine]
) -> None:
    engines = [engine_factory() for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    ids: list[int] = []
    errors: list[BaseException] = []

    def run(e: Engine) -> None:
        try:
            barrier.wait()
            ids.append(record_run(e, RunRecord(source="github", idempotency_key="race"), [_ok_call()]))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(ids)) == 1
    assert usage_summary(engine).total.calls == 1


def test_record_run_without_key_records_each_time(engine: Engine) -> None:
    record_run(engine, RunRecord(source="local"), [_ok_call()])
    record_run(engine, RunRecord(source="local"), [_ok_call()])
    assert usage_summary(engine).runs == 2


def test_record_run_in_callers_session_follows_its_transaction(engine: Engine) -> None:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        record_run(session, RunRecord(source="local", idempotency_key="k"), [_ok_call()])
        session.rollback()
    assert usage_summary(engine).runs == 0
    with Session(engine) as session:
        run_id = record_run(session, RunRecord(source="local", idempotency_key="k"), [_ok_call()])
        assert record_run(session, RunRecord(source="local", idempotency_key="k"), []) == run_id
        session.commit()
    assert usage_summary(engine).runs == 1


def test_unknown_severity_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown severity info"):
        RunRecord(source="local", findings={"info": 1})


def test_record_calls_outside_a_run(engine: Engine) -> None:
    assert record_calls(engine, [_ok_call(purpose="probe"), _ok_call(purpose="probe")]) == 2
    summary = usage_summary(engine)
    assert summary.runs == 0 and summary.total.calls == 2


def test_summary_by_model_with_errors_failovers_and_skips(engine: Engine) -> None:
    record_run(engine, RunRecord(source="local"), _failover_calls())
    record_run(
        engine,
        RunRecord(source="local"),
        [
            Attempt("main", "zai", "glm-5.1", "skipped_open_circuit", at=NOW.timestamp()),
            _ok_call("glm-5", failover=True, latency_ms=300.0),
        ],
    )
    summary = usage_summary(engine, by="model")
    rows = {r.key: r for r in summary.rows}
    assert list(rows) == ["glm-5", "glm-5.1"]
    assert rows["glm-5"].calls == 3 and rows["glm-5"].failovers == 2
    assert rows["glm-5"].errors == {"rate": 1}
    assert rows["glm-5"].input_tokens == 1100 and rows["glm-5"].output_tokens == 210
    assert rows["glm-5.1"].calls == 1  # the skipped attempt is not a call
    assert rows["glm-5.1"].errors == {"quota_window": 1, "skipped_open_circuit": 1}
    assert summary.total.calls == 4 and summary.total.failovers == 2
    assert summary.total.cost_usd == pytest.approx(0.0026)
    assert summary.total.errors == {"quota_window": 1, "rate": 1, "skipped_open_circuit": 1}
    assert summary.total.avg_latency_ms == pytest.approx((40 + 30 + 900 + 300) / 4)
    assert summary.runs == 2
    assert summary.as_dict()["total"]["errors"] == {"quota_window": 1, "rate": 1, "skipped_open_circuit": 1}


def test_no_skip_outcome_counts_as_a_call(engine: Engine) -> None:
    """Both skips (open circuit, window too small after an overflow) made no request."""
    record_calls(
        engine,
        [
            Attempt("main", "zai", "glm-5", "skipped_smaller_context", at=NOW.timestamp()),
            Attempt("fallback", "zai", "glm-5.1", "skipped_open_circuit", at=NOW.timestamp()),
            _ok_call("glm-5.1", latency_ms=100.0),
        ],
    )
    summary = usage_summary(engine, by="model")
    rows = {r.key: r for r in summary.rows}
    assert rows["glm-5"].calls == 0 and rows["glm-5.1"].calls == 1
    assert summary.total.calls == 1
    assert summary.total.avg_latency_ms == pytest.approx(100.0)


def test_summary_by_day_and_since(engine: Engine) -> None:
    day1 = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    day2 = datetime(2026, 11, 21, 0, 30, tzinfo=UTC)
    record_run(engine, RunRecord(source="local", created_at=day1), [_ok_call(at=day1)])
    record_run(engine, RunRecord(source="local", created_at=day2), [_ok_call(at=day2), _ok_call(at=day2)])
    by_day = usage_summary(engine, by="day")
    assert [(r.key, r.calls) for r in by_day.rows] == [("2026-11-20", 1), ("2026-11-21", 2)]
    recent = usage_summary(engine, since=day2 - timedelta(minutes=1), by="day")
    assert [(r.key, r.calls) for r in recent.rows] == [("2026-11-21", 2)]
    assert recent.runs == 1
    assert usage_summary(engine, since=NOW + timedelta(days=1)).empty
    by_slot = usage_summary(engine, by="slot")
    assert [(r.key, r.calls) for r in by_slot.rows] == [("main", 3)]


def test_summary_rejects_unknown_grouping(engine: Engine) -> None:
    with pytest.raises(ValueError, match="cannot group usage by 'week'"):
        usage_summary(engine, by="week")  # type: ignore[arg-type]


def test_naive_times_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="timezone-aware"):
        record_run(engine, RunRecord(source="local", created_at=datetime(2026, 1, 1)), [_ok_call()])


def test_record_review_opens_the_default_store(_isolated_home: object) -> None:
    from hunkwise.config.settings import Settings
    from hunkwise.store import database_url, open_store, record_review

    url = database_url(Settings.from_env())
    run = RunRecord(source="offline", idempotency_key="cli-1")
    first = record_review(run, [_ok_call()], url=url)
    assert record_review(run, [_ok_call()], url=url) == first
    engine = open_store(url)
    try:
        assert usage_summary(engine).total.calls == 1
    finally:
        engine.dispose()
