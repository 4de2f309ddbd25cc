"""Token calibration: round trip and weighted merging, on SQLite and PostgreSQL."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import Engine

from hunkwise.store import load_calibration, load_ratios, save_ratios
from hunkwise.store.calibration import MAX_WEIGHT


def test_empty_store_has_no_ratios(engine: Engine) -> None:
    assert load_ratios(engine) == {}


def test_round_trip(engine: Engine) -> None:
    save_ratios(engine, {"glm-5.1": 3.2, "gpt-x": 4.0}, samples=5)
    assert load_ratios(engine) == {"glm-5.1": pytest.approx(3.2), "gpt-x": pytest.approx(4.0)}
    rows = {c.model: c for c in load_calibration(engine)}
    assert rows["glm-5.1"].samples == 5 and rows["glm-5.1"].updated_at.tzinfo is not None


def test_save_merges_as_weighted_mean(engine: Engine) -> None:
    save_ratios(engine, {"glm-5.1": 3.0}, samples=3)
    save_ratios(engine, {"glm-5.1": 4.0}, samples={"glm-5.1": 1})
    assert load_ratios(engine)["glm-5.1"] == pytest.approx((3.0 * 3 + 4.0) / 4)
    assert load_calibration(engine)[0].samples == 4


def test_old_weight_is_capped_so_ratio_keeps_adapting(engine: Engine) -> None:
    save_ratios(engine, {"m": 3.0}, samples=MAX_WEIGHT * 10)
    save_ratios(engine, {"m": 5.0}, samples=MAX_WEIGHT)
    assert load_ratios(engine)["m"] == pytest.approx(4.0)


def test_zero_samples_are_ignored(engine: Engine) -> None:
    save_ratios(engine, {"m": 3.0}, samples=0)
    save_ratios(engine, {"m": 3.0, "n": 2.5}, samples={"n": 2})
    assert load_ratios(engine) == {"n": pytest.approx(2.5)}


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_bad_ratio_names_the_model(engine: Engine, bad: float) -> None:
    with pytest.raises(ValueError, match="'glm-5'"):
        save_ratios(engine, {"glm-5": bad}, samples=1)
    assert load_ratios(engine) == {}
