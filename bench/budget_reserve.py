"""Benchmark: what a monthly-budget reservation costs a review (``hunkwise.store.budget``).

Every review job takes one reservation before its first model request and settles or releases
it after, so this is added latency per review, not per model call. Prints, for SQLite and (with
``--postgres``) PostgreSQL: the reserve + release round trip p50 / p99 with one worker; with 8
workers on one organization (they queue on its lock: the worst case, every review of a busy
organization at once); with 8 workers on 8 organizations (no shared lock); reservations per
second; whether the budget was ever overbooked; and the process's peak RSS.

    .venv/bin/python bench/budget_reserve.py [--rounds 200] [--postgres postgresql+psycopg://postgres@127.0.0.1/postgres]

``--postgres`` names a server (any database on it): a scratch database is created there and
dropped at the end.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from hunkwise.config.review_settings import MonthlyBudget
from hunkwise.store.budget import burn, release, reserve
from hunkwise.store.db import make_engine, upgrade

WORKERS = 8


@contextmanager
def database(postgres: str | None) -> Iterator[str]:
    if postgres is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    name = f"hunkwise_bench_budget_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def round_trips(engine: Engine, org: str, worker: int, rounds: int, budget: MonthlyBudget) -> list[float]:
    times = []
    for n in range(rounds):
        key = f"{org}-{worker}-{n}"
        start = time.perf_counter()
        held = reserve(engine, org, key, 0.01, budget)
        if held.granted:
            release(engine, key, token=held.token)
        times.append(time.perf_counter() - start)
    return times


def scenario(url: str, label: str, workers: int, shared_org: bool, rounds: int) -> None:
    engines = [make_engine(url) for _ in range(workers)]
    budget = MonthlyBudget(1_000.0, "bench")
    gate = threading.Barrier(workers)

    def run(i: int) -> list[float]:
        gate.wait()
        return round_trips(engines[i], "busy" if shared_org else f"org-{i}", i, rounds, budget)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        times = [t for part in pool.map(run, range(workers)) for t in part]
    wall = time.perf_counter() - started
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(
        f"{label:<42} p50 {statistics.median(times) * 1000:7.2f} ms  p99 {p99 * 1000:7.2f} ms  "
        f"{len(times) / wall:8.0f} reservations/s"
    )
    for e in engines:
        e.dispose()


def overbooking(url: str) -> None:
    """80 reservations of $0.03 against $1.00 by 8 workers at once: exactly 33 must be granted."""
    engines = [make_engine(url) for _ in range(WORKERS)]
    budget = MonthlyBudget(1.0, "bench")
    gate = threading.Barrier(WORKERS)

    def run(i: int) -> int:
        gate.wait()
        return sum(reserve(engines[i], "race", f"race-{i}-{n}", 0.03, budget).granted for n in range(10))

    with ThreadPoolExecutor(WORKERS) as pool:
        granted = sum(pool.map(run, range(WORKERS)))
    reserved = burn(engines[0], "race", budget).reserved_usd
    label = "race: 80 x $0.03 against $1.00, 8 workers"
    print(f"{label:<42} granted {granted} (expected 33), reserved ${reserved:.2f}")
    for e in engines:
        e.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=200, help="reservations per worker (default 200)")
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a scratch database is made there")
    args = parser.parse_args()
    backends = [("sqlite", None)] + ([("postgres", args.postgres)] if args.postgres else [])
    for name, server in backends:
        with database(server) as url:
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            print(f"-- {name}")
            scenario(url, "1 worker", 1, True, args.rounds)
            scenario(url, f"{WORKERS} workers, one organization (one lock)", WORKERS, True, args.rounds // 2)
            scenario(url, f"{WORKERS} workers, {WORKERS} organizations", WORKERS, False, args.rounds // 2)
            overbooking(url)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")


if __name__ == "__main__":
    main()
