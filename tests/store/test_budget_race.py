"""Budget reservations under real concurrency on PostgreSQL: workers (threads, each with its own
engine and connection, as separate processes would have) racing for an organization's last
dollars, and a worker killed while it holds the budget lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text

from call_records import call_record
from hunkwise.config.review_settings import MonthlyBudget
from hunkwise.store import jobs as jobs_repo
from hunkwise.store.budget import LOCK_NAMESPACE, burn, reserve
from hunkwise.store.db import make_engine
from hunkwise.store.ledger import record_run
from hunkwise.store.records import RunRecord
from waiting import wait_until

pytestmark = pytest.mark.timeout(120)

WORKERS = 8
ROUNDS = 5
DOLLAR = MonthlyBudget(1.0, "organization setting")


@pytest.fixture
def engines(pg_db_url: str) -> Iterator[list[Engine]]:
    made = [make_engine(pg_db_url) for _ in range(WORKERS)]
    yield made
    for e in made:
        e.dispose()


def spent(engine: Engine, org: str, cost: float) -> None:
    key = f"{org}-earlier"
    jobs_repo.enqueue(engine, org=org, kind="github_review", payload={}, dedupe_key=key)
    now = datetime.now(UTC)
    record_run(engine, RunRecord(source="github", idempotency_key=f"job:{key}", created_at=now), [
        call_record(cost_usd=cost, created_at=now)
    ])  # fmt: skip


def test_workers_racing_for_the_last_dollars_only_one_proceeds(engines: list[Engine]) -> None:
    for round_no in range(ROUNDS):
        org = f"race-{round_no}"
        spent(engines[0], org, 0.70)  # $0.30 left; every worker wants $0.25
        start = threading.Barrier(WORKERS)

        def worker(i: int, org: str = org, start: threading.Barrier = start) -> bool:
            start.wait()
            return reserve(engines[i], org, f"{org}-job-{i}", 0.25, DOLLAR).granted

        with ThreadPoolExecutor(WORKERS) as pool:
            granted = list(pool.map(worker, range(WORKERS)))
        assert granted.count(True) == 1, f"round {round_no}: {granted}"
        month = burn(engines[0], org, DOLLAR)
        assert month.spent_usd == pytest.approx(0.70) and month.reserved_usd == pytest.approx(0.25)
        assert month.reservations == 1


def test_many_small_reviews_never_overbook_the_month(engines: list[Engine]) -> None:
    start = threading.Barrier(WORKERS)

    def worker(i: int) -> int:
        start.wait()
        return sum(reserve(engines[i], "busy", f"busy-{i}-{n}", 0.03, DOLLAR).granted for n in range(10))

    with ThreadPoolExecutor(WORKERS) as pool:
        total = sum(pool.map(worker, range(WORKERS)))
    assert total == 33  # floor(1.00 / 0.03): 80 asked, exactly what fits was granted
    assert burn(engines[0], "busy", DOLLAR).reserved_usd == pytest.approx(0.99)


def test_a_worker_killed_holding_the_lock_does_not_block_the_budget(
    pg_db_url: str, engines: list[Engine]
) -> None:
    """The lock is the transaction's: when a worker dies, the database ends its session and the
    lock goes with it (what it had reserved before dying expires by ``expires_at``)."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from hunkwise.store.budget import _lock
        from hunkwise.store.db import make_engine, session_scope
        engine = make_engine({pg_db_url!r})
        with session_scope(engine, write=True) as session:
            _lock(session, "crash")
            print("locked", flush=True)
            time.sleep(600)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        result: list[bool] = []
        waiter = threading.Thread(
            target=lambda: result.append(reserve(engines[1], "crash", "after", 0.5, DOLLAR).granted)
        )
        waiter.start()
        waiting = text(
            "SELECT count(*) FROM pg_locks"
            " WHERE locktype = 'advisory' AND NOT granted AND classid::int8 = :ns"
        )

        def blocked() -> bool:
            with engines[0].connect() as conn:
                return bool(conn.scalar(waiting, {"ns": LOCK_NAMESPACE}))

        wait_until(blocked, "the second worker waits for the first one's lock")
        assert not result
        child.kill()  # SIGKILL: no rollback, no goodbye
        child.wait()
        waiter.join(timeout=60)
        assert result == [True]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
