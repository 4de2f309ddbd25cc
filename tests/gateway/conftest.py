"""Fixtures for the gateway tests (helpers live in gateway_helpers.py)."""

from __future__ import annotations

from typing import Any

import pytest
from gateway_helpers import SimClock


@pytest.fixture
def sim_clock(sim: Any) -> SimClock:
    return SimClock(sim)
