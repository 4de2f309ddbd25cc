"""The cluster benchmark end to end (slow: run with ``pytest -m slow tests/cluster``).

Asserts the promises, not speed: ours never exceeds the cap and draws no 1302, while the
per-process baseline, run in the same way, does exceed it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "cluster.py"

pytestmark = [pytest.mark.slow, pytest.mark.redis]


def test_bench_cluster_json_shape_and_promises(redis_url: str) -> None:
    args = ["--caps", "5", "--systems", "ours,baseline", "--json", "--redis", redis_url]
    out = subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=170,
        check=True,
    )
    report = json.loads(out.stdout)
    [row] = report["results"]
    assert row["cap"] == 5
    assert row["max_in_flight"] <= 5
    assert row["rejections_1302"] == 0 and row["failed_calls"] == 0 and row["ok_calls"] == 200
    assert row["makespan_ratio"] > 0
    baseline = row["baseline"]
    assert {"max_in_flight", "rejections_1302", "makespan_ratio"} <= set(baseline)
    assert baseline["rejections_1302"] > 0  # four processes x 5 each overrun a cap of 5
