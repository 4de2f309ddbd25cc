"""Hand-built call records for ledger tests: :class:`hunkwise.gateway.types.Attempt` as the
router fills it, with the usage and start time given the way the ledger's columns name them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hunkwise.gateway.types import Attempt, Usage


def call_record(
    slot: str = "main",
    provider: str = "zai",
    model: str = "glm-5.1",
    outcome: str = "ok",
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
    reasoning_tokens: int = 0,
    cached_tokens: int = 0,
    cost_usd: float = 0.0,
    created_at: datetime | None = None,
    **fields: Any,
) -> Attempt:
    """One call record; ``created_at`` becomes the router's start time (``Attempt.at``)."""
    usage = Usage(
        calls=1 if outcome == "ok" else 0,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        reasoning_tokens=reasoning_tokens,
        cached_tokens=cached_tokens,
        cost_usd=cost_usd,
    )
    at = created_at.timestamp() if created_at is not None else 0.0
    return Attempt(slot, provider, model, outcome, at=at, usage=usage, **fields)
