"""Simulated calls in the ledger: recorded with their mark, kept out of real totals and Coding Plan
windows unless asked for, and the migration that marks offline runs recorded before it existed.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, text

from call_records import call_record
from hunkwise.gateway.types import Attempt
from hunkwise.store import (
    RunRecord,
    coding_plan_windows,
    record_calls,
    record_run,
    usage_summary,
    window_usage,
)
from hunkwise.store.db import make_engine, upgrade
from hunkwise.store.tables import ModelCall, ReviewRun

NOW = datetime.now(UTC)
CODING = "zai|https://api.z.ai/api/coding/paas/v4|0123456789abcdef"
SIM_CODING = "zai|http://127.0.0.1:41234/api/coding/paas/v4|5151515151515151"


def _call(model: str = "glm-5.1", *, simulated: bool = False, **kw: object) -> Attempt:
    fields: dict[str, object] = {
        "slot": "main",
        "provider": "zai",
        "model": model,
        "outcome": "ok",
        "input_tokens": 1000,
        "output_tokens": 100,
        "cost_usd": 0.25,
        "latency_ms": 100.0,
        "simulated": simulated,
        "created_at": NOW - timedelta(hours=1),
    }
    fields.update(kw)
    return call_record(**fields)  # type: ignore[arg-type]


def _runs(engine: Engine) -> dict[str, bool]:
    with engine.connect() as conn:
        return {
            key: bool(sim)
            for key, sim in conn.execute(select(ReviewRun.idempotency_key, ReviewRun.simulated))
        }


def test_summary_leaves_simulated_calls_out_of_real_usage(engine: Engine) -> None:
    record_run(engine, RunRecord(source="local", idempotency_key="real"), [_call(), _call("gpt-5")])
    record_run(
        engine,
        RunRecord(source="offline", idempotency_key="sim", simulated=True),
        [_call(simulated=True), _call(simulated=True, outcome="rate", cost_usd=0.0)],
    )
    record_calls(engine, [_call(simulated=True, purpose="chat")])

    s = usage_summary(engine)
    assert s.runs == 1 and s.total.calls == 2 and s.total.cost_usd == 0.5
    assert [(r.key, r.simulated) for r in s.rows] == [("glm-5.1", False), ("gpt-5", False)]
    assert not s.total.errors  # the simulated rate error is not a real error either
    assert s.simulated_runs == 1 and s.simulated.calls == 3 and s.simulated.cost_usd == 0.5
    assert s.as_dict()["simulated"] == {"included": False, "runs": 1, "calls": 3, "total": None}

    inc = usage_summary(engine, include_simulated=True)
    assert inc.total == s.total and inc.runs == 1  # including them never changes real spend
    assert [(r.key, r.simulated, r.calls) for r in inc.rows] == [
        ("glm-5.1", False, 1),
        ("gpt-5", False, 1),
        ("glm-5.1", True, 3),
    ]
    assert inc.rows[-1].errors == {"rate": 1}
    assert inc.as_dict()["simulated"]["total"]["cost_usd"] == 0.5


def test_a_period_with_only_simulated_calls_is_empty_but_says_what_it_hides(engine: Engine) -> None:
    record_run(engine, RunRecord(source="offline", simulated=True), [_call(simulated=True)])
    s = usage_summary(engine, since=NOW - timedelta(days=1), by="day")
    assert s.empty and s.has_simulated and s.rows == []
    assert (s.simulated_runs, s.simulated.calls) == (1, 1)


def test_a_run_is_simulated_when_marked_or_when_all_its_calls_are(engine: Engine) -> None:
    record_run(engine, RunRecord(source="offline", idempotency_key="all-sim"), [_call(simulated=True)])
    record_run(engine, RunRecord(source="offline", idempotency_key="marked", simulated=True), [])
    record_run(engine, RunRecord(source="local", idempotency_key="mixed"), [_call(), _call(simulated=True)])
    record_run(engine, RunRecord(source="local", idempotency_key="real"), [_call()])
    assert _runs(engine) == {"all-sim": True, "marked": True, "mixed": False, "real": False}


def test_coding_plan_windows_leave_simulated_prompts_out(engine: Engine) -> None:
    coding = {"plan": "coding", "tier": "lite"}
    record_calls(engine, [_call(credential_id=CODING, **coding) for _ in range(3)])  # type: ignore[arg-type]
    record_calls(
        engine,
        [_call(credential_id=SIM_CODING, simulated=True, **coding) for _ in range(5)]  # type: ignore[arg-type]
        + [_call(credential_id=CODING, simulated=True, **coding)],  # type: ignore[arg-type]
    )

    (w,) = coding_plan_windows(engine, NOW)
    assert w.credential_id == CODING and w.five_hour.used == 3 and w.simulated is False
    assert window_usage(engine, SIM_CODING, NOW).five_hour.used == 0

    both = {w.credential_id: w for w in coding_plan_windows(engine, NOW, include_simulated=True)}
    assert both[SIM_CODING].five_hour.used == 5 and both[SIM_CODING].simulated is True
    assert both[SIM_CODING].as_dict()["simulated"] is True
    assert both[CODING].five_hour.used == 4


def test_migration_marks_offline_runs_recorded_before_it(empty_db_url: str) -> None:
    """An installation upgraded from 0003 had its offline reviews stored as real spend (source
    ``offline``); after the upgrade they are simulated, and every other row stays real."""
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0003_jobs")
        created = NOW.replace(tzinfo=None)
        with engine.begin() as conn:
            for run_id, source in ((1, "offline"), (2, "local")):
                conn.execute(
                    text(
                        "INSERT INTO review_runs (id, created_at, idempotency_key, source, status, "
                        "files_reviewed, lines_reviewed, findings_critical, findings_high, findings_medium, "
                        "findings_low, failed_chunks, skipped_lines, calls, input_tokens, output_tokens, "
                        "reasoning_tokens, cost_usd, failovers, duration_ms) VALUES "
                        "(:id, :at, :key, :source, 'done', 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0.2, 0, 0)"
                    ),
                    {"id": run_id, "at": created, "key": f"run-{run_id}", "source": source},
                )
            for call_id, run_id in ((1, 1), (2, 2), (3, None)):
                conn.execute(
                    text(
                        "INSERT INTO model_calls (id, run_id, created_at, slot, provider, model, purpose, "
                        "outcome, input_tokens, output_tokens, reasoning_tokens, cached_tokens, cost_usd, "
                        "latency_ms, waited_ms, failover) VALUES (:id, :run, :at, 'main', 'zai', 'glm-5.1', "
                        "'review', 'ok', 10, 5, 0, 0, 0.2, 1.0, 0.0, false)"
                    ),
                    {"id": call_id, "run": run_id, "at": created},
                )
        upgrade(engine)
        assert _runs(engine) == {"run-1": True, "run-2": False}
        with engine.connect() as conn:
            calls = dict(conn.execute(select(ModelCall.id, ModelCall.simulated)).all())
        assert {k: bool(v) for k, v in calls.items()} == {1: True, 2: False, 3: False}
        s = usage_summary(engine)
        assert (s.runs, s.total.calls, s.simulated_runs, s.simulated.calls) == (1, 2, 1, 1)

        from alembic import command

        from hunkwise.store.db import _alembic_config

        with engine.begin() as conn:  # and back: the column goes, every call stays
            command.downgrade(_alembic_config(conn), "0003_jobs")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM model_calls")).scalar() == 3
    finally:
        engine.dispose()


def test_cluster_metrics_count_only_calls_that_reached_a_provider(engine: Engine) -> None:
    from hunkwise.jobs.metrics import _read_cluster_calls

    record_run(engine, RunRecord(source="github"), [_call(), _call(outcome="rate", cost_usd=0.0)])
    record_run(engine, RunRecord(source="offline", simulated=True), [_call(simulated=True) for _ in range(4)])
    rows = {(model, outcome): int(n) for model, outcome, n, _, _ in _read_cluster_calls(engine)}
    assert rows == {("glm-5.1", "ok"): 1, ("glm-5.1", "rate"): 1}
