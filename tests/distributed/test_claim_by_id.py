"""The store side of the distributed engine: claiming the job a message names, on SQLite and on
PostgreSQL, in every state a duplicate or early message can find it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, create_engine

from hunkwise.store import jobs as repo
from hunkwise.store.tables import utcnow


def _job(engine: Engine, key: str = "k1", max_attempts: int = 2) -> int:
    job, _ = repo.enqueue(
        engine, org="acme", kind="github_review", payload={}, dedupe_key=key, max_attempts=max_attempts
    )
    return job.id


def test_claim_states(engine: Engine) -> None:
    job_id = _job(engine)
    first = repo.claim_by_id(engine, job_id, "w1", lease_s=30)
    assert first.state == "claimed" and first.job is not None and first.job.attempts == 1
    busy = repo.claim_by_id(engine, job_id, "w2", lease_s=30)
    assert busy.state == "busy" and 29 < busy.wait_s <= 30  # a duplicate waits for the lease
    assert repo.complete(engine, job_id, "w1", {"ok": True})
    assert repo.claim_by_id(engine, job_id, "w2", lease_s=30).state == "finished"
    assert repo.claim_by_id(engine, 999_999, "w2", lease_s=30).state == "missing"


def test_retry_not_due_then_taken_over_after_the_lease_then_gave_up(engine: Engine) -> None:
    job_id = _job(engine)
    now = utcnow()
    assert repo.claim_by_id(engine, job_id, "w1", lease_s=30, now=now).state == "claimed"
    assert repo.fail(engine, job_id, "w1", "rate limited", retry_at=now + timedelta(seconds=60)) == "queued"
    early = repo.claim_by_id(engine, job_id, "w1", lease_s=30, now=now)
    assert early.state == "not_due" and early.wait_s > 50
    later = now + timedelta(seconds=61)
    second = repo.claim_by_id(engine, job_id, "w1", lease_s=5, now=later)
    assert second.state == "claimed" and second.job is not None and second.job.attempts == 2
    # w1 dies on the last attempt: once the lease is over, the next message dead-letters the job
    dead = repo.claim_by_id(engine, job_id, "w2", lease_s=5, now=later + timedelta(seconds=6))
    assert dead.state == "gave_up" and dead.job is not None
    assert dead.job.status == "failed"
    assert dead.job.error == "interrupted: the worker stopped during attempt 2 of 2; last error: rate limited"


def test_stranded(engine: Engine) -> None:
    old = _job(engine, "old")
    running = _job(engine, "running")
    now = utcnow()
    assert repo.claim_by_id(engine, running, "w1", lease_s=5, now=now).state == "claimed"
    assert repo.stranded(engine, idle_s=30, now=now) == []  # nothing idle for 30 s yet
    assert repo.stranded(engine, idle_s=30, now=now + timedelta(seconds=40)) == [old, running]
    assert repo.count_by_status(engine) == {"queued": 1, "running": 1, "done": 0, "failed": 0}


def test_two_claimers_of_one_message_never_both_win(pg_db_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    engine = create_engine(pg_db_url, pool_size=10)
    job_id = _job(engine, "race")
    with ThreadPoolExecutor(8) as pool:
        states = list(
            pool.map(lambda i: repo.claim_by_id(engine, job_id, f"w{i}", lease_s=30).state, range(8))
        )
    engine.dispose()
    assert sorted(states) == ["busy"] * 7 + ["claimed"]
