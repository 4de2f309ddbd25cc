"""Deliver webhook events to subscriber endpoints."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {429, 500, 502, 503, 504}


@dataclass
class DeliveryResult:
    ok: bool
    status: int | None
    attempts: int
    error: str | None = None


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Full-jitter backoff: a random delay up to min(cap, base * 2**attempt)."""
    return random.uniform(0, min(cap, base * (2**attempt)))


def deliver(
    client: httpx.Client,
    url: str,
    body: bytes,
    signature: str,
    max_attempts: int = 5,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    headers = {"Content-Type": "application/json", "X-Signature": signature}
    error: str | None = None
    status: int | None = None
    for attempt in range(1, max_attempts + 1):
        try:
            resp = client.post(url, content=body, headers=headers, timeout=10.0)
        except httpx.TransportError as exc:
            error, status = str(exc), None
        else:
            if resp.status_code not in RETRYABLE_STATUS:
                return DeliveryResult(ok=resp.is_success, status=resp.status_code, attempts=attempt)
            error, status = f"HTTP {resp.status_code}", resp.status_code
        if attempt < max_attempts:
            delay = backoff_delay(attempt)
            log.info("delivery to %s failed (%s); retry %d in %.1fs", url, error, attempt, delay)
            sleep(delay)
    return DeliveryResult(ok=False, status=status, attempts=max_attempts, error=error)
