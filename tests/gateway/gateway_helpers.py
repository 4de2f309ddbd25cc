"""Gateway test helpers: slots pointing at the simulator, and a clock that follows its time."""

from __future__ import annotations

import time
from typing import Any

from hunkwise.catalog.loader import load_catalog
from hunkwise.errors import Backoff
from hunkwise.gateway import RetryPolicy, Secret, Slot

# Retries fast enough that a bounded retry loop costs milliseconds, not seconds.
FAST = RetryPolicy(rate_retries=4, transient_retries=1, backoff=Backoff(base_s=0.01, max_s=0.05, jitter=0.5))


def make_slot(
    base_url: str, key: str, *, name: str = "main", provider: str = "zai", model: str = "glm-5.1", **kw: Any
) -> Slot:
    """A slot the way config builds one: catalog facts (window, prices) copied in."""
    kw.setdefault("timeout_s", 5.0)
    card = load_catalog().card(model)
    if card is not None:
        kw.setdefault("context_window", card.context_window)
        kw.setdefault("input_price", card.input_price)
        kw.setdefault("output_price", card.output_price)
    return Slot(name=name, provider=provider, base_url=base_url, model=model, api_key=Secret(key), **kw)  # type: ignore[arg-type]


class SimClock:
    """Wall-clock time plus the simulator's ``/_sim/advance`` offset, so circuits opened from the
    simulator's ``next_flush_time`` close when the test advances the simulator past it."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.offset = 0.0

    def advance(self, seconds: float) -> None:
        self.sim.advance(seconds)
        self.offset += seconds

    def __call__(self) -> float:
        return time.time() + self.offset
