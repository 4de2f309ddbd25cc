"""A small fault run (bench/fault_run.py): faults at 20%, 3 worker processes, one SIGKILLed
mid-job. About 10 s, so it runs by default: it keeps the benchmark itself from rotting."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = [pytest.mark.timeout(240)]

BENCH = Path(__file__).parents[2] / "bench" / "fault_run.py"


def test_every_job_ends_done_or_dead_with_a_reason_none_lost_no_duplicate(
    rabbit_url: str, postgres_url: str, broker_queue
) -> None:
    spec = importlib.util.spec_from_file_location("fault_run", BENCH)
    assert spec is not None and spec.loader is not None
    fault_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fault_run)
    args = ["--jobs", "12", "--workers", "3", "--fault-rate", "0.2", "--deadline-s", "180"]
    args += ["--postgres", postgres_url, "--amqp", rabbit_url, "--queue", broker_queue(rabbit_url)]
    result = fault_run.run(fault_run.parse(args))
    assert result["killed_worker"] is True
    assert result["lost"] == 0
    assert result["done"] + result["dead"] == 12
    assert result["dead_without_reason"] == 0
    assert result["duplicate_posts"] == 0
    assert result["reviews_posted"] == result["done"]
    assert result["duplicate_usage_runs"] == 0
    assert fault_run.ok(result)
    # The killed worker's jobs were taken over once its database session ended, long before
    # their 30 s lease would have run out.
    assert result["lease_s"] == 30.0
    assert result["killed_jobs_taken_over_s"] is not None and result["killed_jobs_taken_over_s"] < 25
