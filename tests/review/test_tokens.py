"""Token estimation: safe rounding, bounded calibration, persistence round trip."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hunkwise.review.tokens import (
    DEFAULT_CHARS_PER_TOKEN,
    MAX_CHARS_PER_TOKEN,
    MIN_CHARS_PER_TOKEN,
    TokenEstimator,
)


def test_default_estimate_rounds_up() -> None:
    est = TokenEstimator()
    assert est.estimate("") == 0
    assert est.estimate("x") == 1
    assert est.estimate("x" * 35) == 10
    assert est.estimate("x" * 36) == 11
    assert est.ratio("unknown-model") == DEFAULT_CHARS_PER_TOKEN


@given(st.integers(0, 10_000_000), st.floats(MIN_CHARS_PER_TOKEN, MAX_CHARS_PER_TOKEN))
def test_capacity_is_the_exact_inverse(tokens: int, ratio: float) -> None:
    cap = TokenEstimator.capacity(tokens, ratio)
    assert TokenEstimator.estimate_chars(cap, ratio) <= tokens
    assert TokenEstimator.estimate_chars(cap + 1, ratio) >= tokens  # no wasted room beyond 1 char


def test_calibration_converges_and_is_per_model() -> None:
    est = TokenEstimator()
    for _ in range(40):
        est.calibrate("GLM-5.1", 30_000, 10_000)  # 3.0 chars/token observed
    assert est.ratio("glm-5.1") == pytest.approx(3.0, abs=0.01)
    assert est.ratio("claude-sonnet-4-6") == DEFAULT_CHARS_PER_TOKEN
    assert est.ratio_for(["glm-5.1", "claude-sonnet-4-6"]) == est.ratio("glm-5.1")


def test_calibration_is_bounded_and_ignores_tiny_or_bad_samples() -> None:
    est = TokenEstimator()
    est.calibrate("m", 1_000_000, 1_000)  # 1000 chars/token: absurd
    assert est.ratio("m") <= MAX_CHARS_PER_TOKEN
    for _ in range(50):
        est.calibrate("m", 1_000, 1_000_000)
    assert est.ratio("m") == pytest.approx(MIN_CHARS_PER_TOKEN, abs=0.01)
    before = est.ratios()
    est.calibrate("m", 500, 50)  # under the minimum sample size
    est.calibrate("m", 0, 5000)
    est.calibrate("", 5000, 5000)
    assert est.ratios() == before


def test_one_outlier_after_many_samples_moves_little() -> None:
    est = TokenEstimator()
    for _ in range(30):
        est.calibrate("m", 40_000, 10_000)
    settled = est.ratio("m")
    est.calibrate("m", 15_000, 10_000)
    assert abs(est.ratio("m") - settled) <= 0.1 * abs(1.5 - settled) + 1e-9


def test_ratios_round_trip_and_bad_values_are_ignored() -> None:
    est = TokenEstimator()
    est.calibrate("glm-5.1", 33_000, 10_000)
    restored = TokenEstimator.from_ratios(est.ratios())
    assert restored.ratio("glm-5.1") == pytest.approx(est.ratio("glm-5.1"), abs=1e-3)
    odd = TokenEstimator.from_ratios(
        {"a": math.nan, "b": -1, "c": "3", "d": 100.0, "e": True, "": 3.0, "f": 2.5}  # type: ignore[dict-item]
    )
    assert odd.ratios() == {"d": MAX_CHARS_PER_TOKEN, "f": 2.5}
    # a restored ratio is weighted, so one new sample does not throw it away
    odd.calibrate("f", 60_000, 10_000)
    assert odd.ratio("f") < 3.0


def test_bad_default_ratio() -> None:
    with pytest.raises(ValueError, match="default_ratio"):
        TokenEstimator(0)
