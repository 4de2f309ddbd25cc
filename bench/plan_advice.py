"""What ``hunkwise plan advise`` costs on a busy installation: the pure advisor over N calls
(three tiers replayed through both windows), and the store query that feeds it on SQLite.

A month of calls at one every 26 seconds is ~100k rows: about what a team running hundreds of
reviews a day records. Prints wall times and the process's peak RSS.

    .venv/bin/python bench/plan_advice.py [--rows 100000] [--store-rows 20000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hunkwise.catalog.loader import load_catalog
from hunkwise.catalog.plan_advice import CallRow, advise
from hunkwise.gateway.types import Attempt, Usage
from hunkwise.store.db import open_store
from hunkwise.store.ledger import advice_calls, record_calls

START = datetime(2026, 11, 2, tzinfo=UTC)
DAYS = 30


def _rows(n: int) -> list[CallRow]:
    step = timedelta(days=DAYS) / n
    models = ("glm-5.1", "glm-5.1", "glm-4.5-air", "gpt-5-mini")
    return [
        CallRow(
            at=START + i * step,
            provider="openai" if models[i % 4].startswith("gpt") else "zai",
            model=models[i % 4],
            outcome="ok",
            input_tokens=20_000,
            output_tokens=2_000,
            cached_tokens=3_000,
        )
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--store-rows", type=int, default=20_000)
    args = parser.parse_args()
    catalog = load_catalog()
    end = START + timedelta(days=DAYS)

    rows = _rows(args.rows)
    t = time.perf_counter()
    advice = advise(rows, catalog, start=START, end=end)
    pure_s = time.perf_counter() - t
    print(f"advise(): {args.rows:,} calls, 3 tiers replayed: {pure_s:.2f} s -> {advice.recommendation}")

    with tempfile.TemporaryDirectory() as tmp:
        engine = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        calls = [
            Attempt(
                "main",
                r.provider,
                r.model,
                "ok",
                at=r.at.timestamp(),
                usage=Usage(1, r.input_tokens, r.output_tokens, 0, r.cached_tokens, 0.0),
            )
            for r in _rows(args.store_rows)
        ]
        record_calls(engine, calls)
        t = time.perf_counter()
        loaded = advice_calls(engine, START, end)
        query_s = time.perf_counter() - t
        t = time.perf_counter()
        advise(loaded, catalog, start=START, end=end)
        store_advise_s = time.perf_counter() - t
        engine.dispose()
    print(
        f"advice_calls() on SQLite: {len(loaded):,} rows in {query_s:.2f} s; "
        f"advise() on them {store_advise_s:.2f} s"
    )
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
