"""The review_jobs repository on SQLite and PostgreSQL: dedupe, atomic claims, leases, retries."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import Engine

from hunkwise.store import jobs as repo
from hunkwise.store.db import make_engine
from hunkwise.store.tables import utcnow


def _enqueue(db: Engine, key: str = "k1", **kw: object) -> repo.Job:
    job, created = repo.enqueue(db, org="acme", kind="github_review", payload={"n": 1}, dedupe_key=key, **kw)
    assert created
    return job


def test_enqueue_dedupes(engine: Engine) -> None:
    job = _enqueue(engine)
    again, created = store_enqueue_again(engine)
    assert not created and again.id == job.id
    assert job.status == "queued" and job.attempts == 0 and job.payload == {"n": 1}


def store_enqueue_again(db: Engine) -> tuple[repo.Job, bool]:
    return repo.enqueue(db, org="acme", kind="github_review", payload={"n": 2}, dedupe_key="k1")


def test_claim_complete(engine: Engine) -> None:
    job = _enqueue(engine)
    claimed = repo.claim(engine, "w1", lease_s=30)
    assert claimed is not None and claimed.id == job.id
    assert claimed.status == "running" and claimed.attempts == 1 and claimed.lease_owner == "w1"
    assert repo.claim(engine, "w2", lease_s=30) is None, "a leased job is not claimed twice"
    assert repo.save_checkpoint(engine, job.id, "w1", {"stage": "reviewed"})
    assert not repo.complete(engine, job.id, "w2", {"x": 1}), "only the owner completes"
    assert repo.complete(engine, job.id, "w1", {"ok": True})
    done = repo.get_job(engine, job.id)
    assert done is not None and done.status == "done" and done.result == {"ok": True}
    assert done.checkpoint == {"stage": "reviewed"} and done.lease_owner is None


def test_fail_retries_then_keeps_error(engine: Engine) -> None:
    job = _enqueue(engine, max_attempts=2)
    repo.claim(engine, "w", lease_s=30)
    assert repo.fail(engine, job.id, "w", "boom 1", retry_at=utcnow() + timedelta(hours=1)) == "queued"
    assert repo.claim(engine, "w", lease_s=30) is None, "not due before next_run_at"
    later = utcnow() + timedelta(hours=2)
    again = repo.claim(engine, "w", lease_s=30, now=later)
    assert again is not None and again.attempts == 2 and again.error == "boom 1"
    assert repo.fail(engine, job.id, "w", "boom 2", retry_at=later) == "failed", "attempts exhausted"
    final = repo.get_job(engine, job.id)
    assert final is not None and final.status == "failed" and final.error == "boom 2"


def test_expired_lease_is_reclaimed_and_stale_owner_locked_out(engine: Engine) -> None:
    job = _enqueue(engine, max_attempts=2)
    repo.claim(engine, "dead", lease_s=1)
    later = utcnow() + timedelta(seconds=5)
    taken = repo.claim(engine, "alive", lease_s=30, now=later)
    assert taken is not None and taken.id == job.id and taken.attempts == 2 and taken.lease_owner == "alive"
    assert not repo.complete(engine, job.id, "dead", {"stale": True})
    assert repo.fail(engine, job.id, "dead", "stale") is None
    # the second owner dies too: attempts are used up, so the job fails instead of looping
    assert repo.claim(engine, "third", lease_s=30, now=later + timedelta(minutes=1)) is None
    final = repo.get_job(engine, job.id)
    assert final is not None and final.status == "failed" and final.error.startswith("interrupted")


def test_release_refunds_the_attempt(engine: Engine) -> None:
    job = _enqueue(engine)
    repo.claim(engine, "w", lease_s=30)
    assert repo.release(engine, job.id, "w")
    again = repo.claim(engine, "w", lease_s=30)
    assert again is not None and again.attempts == 1


def test_list_newest_first_with_filters(engine: Engine) -> None:
    base = utcnow()
    for i in range(3):
        repo.enqueue(
            engine,
            org="acme" if i < 2 else "other",
            kind="k",
            payload={},
            dedupe_key=f"d{i}",
            now=base + timedelta(seconds=i),
        )
    assert [j.dedupe_key for j in repo.list_jobs(engine)] == ["d2", "d1", "d0"]
    assert [j.dedupe_key for j in repo.list_jobs(engine, org="acme")] == ["d1", "d0"]
    assert repo.list_jobs(engine, status="done") == []


def test_concurrent_claims_never_share_a_job(engine: Engine) -> None:
    for i in range(20):
        repo.enqueue(engine, org="acme", kind="k", payload={}, dedupe_key=f"c{i}")
    claimed: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        own = make_engine(engine.url)  # a connection pool of its own, as another process has
        try:
            while (job := repo.claim(own, name, lease_s=60)) is not None:
                with lock:
                    claimed.append(job.id)
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 20
