"""The near-JSON corpus of ``bench/repair_rate.py`` as a correctness check (its timings are not
asserted): every shape a real model bends JSON into is read exactly with no repair request, an
answer cut off by the output limit always asks again, and nothing is ever read wrongly."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench" / "repair_rate.py"


def _bench():
    spec = importlib.util.spec_from_file_location("repair_rate", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_near_json_needs_no_repair_request_and_cut_answers_always_do() -> None:
    bench = _bench()
    results = bench.run()
    for shape, counts in results.items():
        if shape in bench.MUST_REPAIR:
            assert counts == {"read": 0, "repair": 4, "wrong": 0}, shape
        else:
            assert counts == {"read": 4, "repair": 0, "wrong": 0}, shape
    assert len(results) == len(bench.SHAPES) >= 15
