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


def test_enqueue_dedupes(store: Engine) -> None:
    job = _enqueue(store)
    again, created = store_enqueue_again(store)
    assert not created and again.id == job.id
    assert job.status == "queued" and job.attempts == 0 and job.payload == {"n": 1}


def store_enqueue_again(db: Engine) -> tuple[repo.Job, bool]:
    return repo.enqueue(db, org="acme", kind="github_review", payload={"n": 2}, dedupe_key="k1")


def test_claim_complete(store: Engine) -> None:
    job = _enqueue(store)
    claimed = repo.claim(store, "w1", lease_s=30)
    assert claimed is not None and claimed.id == job.id
    assert claimed.status == "running" and claimed.attempts == 1 and claimed.lease_owner == "w1"
    assert repo.claim(store, "w2", lease_s=30) is None, "a leased job is not claimed twice"
    assert repo.save_checkpoint(store, job.id, "w1", {"stage": "reviewed"})
    assert not repo.complete(store, job.id, "w2", {"x": 1}), "only the owner completes"
    assert repo.complete(store, job.id, "w1", {"ok": True})
    done = repo.get_job(store, job.id)
    assert done is not None and done.status == "done" and done.result == {"ok": True}
    assert done.checkpoint == {"stage": "reviewed"} and done.lease_owner is None


def test_fail_retries_then_keeps_error(store: Engine) -> None:
    job = _enqueue(store, max_attempts=2)
    repo.claim(store, "w", lease_s=30)
    assert repo.fail(store, job.id, "w", "boom 1", retry_at=utcnow() + timedelta(hours=1)) == "queued"
    assert repo.claim(store, "w", lease_s=30) is None, "not due before next_run_at"
    later = utcnow() + timedelta(hours=2)
    again = repo.claim(store, "w", lease_s=30, now=later)
    assert again is not None and again.attempts == 2 and again.error == "boom 1"
    assert repo.fail(store, job.id, "w", "boom 2", retry_at=later) == "failed", "attempts exhausted"
    final = repo.get_job(store, job.id)
    assert final is not None and final.status == "failed" and final.error == "boom 2"


def test_expired_lease_is_reclaimed_and_stale_owner_locked_out(store: Engine) -> None:
    job = _enqueue(store, max_attempts=2)
    repo.claim(store, "dead", lease_s=1)
    later = utcnow() + timedelta(seconds=5)
    taken = repo.claim(store, "alive", lease_s=30, now=later)
    assert taken is not None and taken.id == job.id and taken.attempts == 2 and taken.lease_owner == "alive"
    assert not repo.complete(store, job.id, "dead", {"stale": True})
    assert repo.fail(store, job.id, "dead", "stale") is None
    # the second owner dies too: attempts are used up, so the job fails instead of looping
    assert repo.claim(store, "third", lease_s=30, now=later + timedelta(minutes=1)) is None
    final = repo.get_job(store, job.id)
    assert final is not None and final.status == "failed" and final.error.startswith("interrupted")


def test_release_refunds_the_attempt(store: Engine) -> None:
    job = _enqueue(store)
    repo.claim(store, "w", lease_s=30)
    assert repo.release(store, job.id, "w")
    again = repo.claim(store, "w", lease_s=30)
    assert again is not None and again.attempts == 1


def test_list_newest_first_with_filters(store: Engine) -> None:
    base = utcnow()
    for i in range(3):
        repo.enqueue(
            store,
            org="acme" if i < 2 else "other",
            kind="k",
            payload={},
            dedupe_key=f"d{i}",
            now=base + timedelta(seconds=i),
        )
    assert [j.dedupe_key for j in repo.list_jobs(store)] == ["d2", "d1", "d0"]
    assert [j.dedupe_key for j in repo.list_jobs(store, org="acme")] == ["d1", "d0"]
    assert repo.list_jobs(store, status="done") == []


def test_concurrent_claims_never_share_a_job(store: Engine) -> None:
    for i in range(20):
        repo.enqueue(store, org="acme", kind="k", payload={}, dedupe_key=f"c{i}")
    claimed: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        engine = make_engine(store.url)
        try:
            while (job := repo.claim(engine, name, lease_s=60)) is not None:
                with lock:
                    claimed.append(job.id)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 20
