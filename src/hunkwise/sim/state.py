"""Mutable simulator state: its clock, per-key counters, quota windows, in-flight slots and the
request log.

All of it lives on one event loop (the server's), so plain attributes are safe without locks:
every check-and-increment below runs without an ``await`` in between, which is exactly what
makes the concurrency limit exact (a request beyond it is rejected at once, never queued) and
``max_in_flight`` truthful.
"""

from __future__ import annotations

import random
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from hunkwise.catalog.loader import Catalog, load_catalog
from hunkwise.sim.config import (
    WINDOW_5H_SECONDS,
    WINDOW_WEEK_SECONDS,
    KeyConfig,
    KeyLimits,
    SimConfig,
)

REQUEST_LOG_SIZE = 1000
BEIJING = timezone(timedelta(hours=8))


@dataclass
class KeyStats:
    requests: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    spent_usd: float = 0.0  # answered requests at the catalog's prices, against ``balance``
    # (sim-clock time, weight) of admitted prompts; the weight is the peak-hour multiplier then.
    prompts: deque[tuple[float, int]] = field(default_factory=deque)
    seen_prefixes: set[str] = field(default_factory=set)  # for prompt_tokens_details.cached_tokens

    def error(self, name: str) -> None:
        self.errors[name] = self.errors.get(name, 0) + 1


@dataclass(frozen=True)
class Denial:
    """Why a key may not run a request now (a quota window or the balance)."""

    reason: str  # "5h" | "week" | "balance"
    reset_at: float | None  # sim-clock epoch seconds when a slot frees up


class SimState:
    def __init__(self, config: SimConfig, catalog: Catalog | None = None) -> None:
        self.config = config
        self.catalog = catalog or load_catalog()
        self.keys: dict[str, KeyConfig] = {k.key: k for k in config.keys}
        self.limits: dict[str, KeyLimits] = {k.key: config.limits_for(k, self.catalog) for k in config.keys}
        self.offset = 0.0
        self.reset()

    def reset(self) -> None:
        """Forget counters, windows, the log and the clock offset; restart the seeded RNGs so a
        run after ``reset`` sees the same fault sequence as a fresh simulator."""
        self.stats: dict[str, KeyStats] = {k: KeyStats() for k in self.keys}
        self.log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.offset = 0.0
        self.fault_rng = random.Random(self.config.seed)
        self.latency_rng = random.Random(self.config.seed + 1)

    # -- clock -----------------------------------------------------------------------------------
    def now(self) -> float:
        """Simulator time: wall-clock epoch seconds plus whatever ``/_sim/advance`` added."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    # -- bookkeeping -----------------------------------------------------------------------------
    def record(self, key: str | None, path: str, body: Any) -> None:
        self.log.append({"key": key, "path": path, "body": body, "time": self.now()})
        if key in self.stats:
            self.stats[key].requests += 1

    def _window_count(self, stats: KeyStats, seconds: float, now: float) -> tuple[int, float | None]:
        """Weighted prompts inside the rolling window and when its oldest one leaves it."""
        cutoff = now - seconds
        inside = [(t, w) for t, w in stats.prompts if t > cutoff]
        return sum(w for _, w in inside), (inside[0][0] + seconds if inside else None)

    def _prune(self, stats: KeyStats, now: float) -> None:
        while stats.prompts and stats.prompts[0][0] <= now - WINDOW_WEEK_SECONDS:
            stats.prompts.popleft()

    def multiplier(self, model: str, at: float | None = None) -> int:
        """How many prompts one request to ``model`` counts for at sim time ``at``: the catalog's
        peak-hour rule (``[peak_hours]``, the 2026 FAQ) when ``peak_multiplier`` is on, else 1 (a
        promotion period)."""
        if not self.config.peak_multiplier:
            return 1
        when = datetime.fromtimestamp(self.now() if at is None else at, BEIJING)
        return self.catalog.peak_hours.multiplier(model, when)

    def check_quota(self, key: str) -> Denial | None:
        """A quota or balance that forbids one more prompt now, if any."""
        limits, stats, now = self.limits[key], self.stats[key], self.now()
        self._prune(stats, now)
        if limits.balance is not None and stats.spent_usd >= limits.balance:
            return Denial("balance", None)
        if limits.quota_week is not None:
            used, reset_at = self._window_count(stats, WINDOW_WEEK_SECONDS, now)
            if used >= limits.quota_week:
                return Denial("week", reset_at or now + WINDOW_WEEK_SECONDS)
        if limits.quota_5h is not None:
            used, reset_at = self._window_count(stats, WINDOW_5H_SECONDS, now)
            if used >= limits.quota_5h:
                return Denial("5h", reset_at or now + WINDOW_5H_SECONDS)
        return None

    def try_acquire(self, key: str) -> bool:
        """Take an in-flight slot; ``False`` (and nothing changed) when the key is at its limit."""
        limit, stats = self.limits[key].concurrency, self.stats[key]
        if limit is not None and stats.in_flight >= limit:
            return False
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        return True

    def release(self, key: str) -> None:
        self.stats[key].in_flight -= 1

    def charge(self, key: str, model: str = "") -> None:
        """Count one admitted prompt against the windows, times the multiplier in force."""
        now = self.now()
        self.stats[key].prompts.append((now, self.multiplier(model, now)))

    def refund(self, key: str) -> None:
        """Undo :meth:`charge` for a request the server itself failed (an injected fault)."""
        stats = self.stats[key]
        if stats.prompts:
            stats.prompts.pop()

    def bill(self, key: str, usd: float) -> None:
        """Take an answered request's price from the key's balance. A request is admitted while
        anything is left, so the last one may take the balance below zero; the next gets 1113."""
        self.stats[key].spent_usd += usd

    def latency_seconds(self) -> float:
        cfg = self.config
        if cfg.latency_ms <= 0 and cfg.jitter_ms <= 0:
            return 0.0
        jitter = self.latency_rng.uniform(-cfg.jitter_ms, cfg.jitter_ms) if cfg.jitter_ms else 0.0
        return max(0.0, cfg.latency_ms + jitter) / 1000

    # -- introspection -----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        now = self.now()
        keys: dict[str, Any] = {}
        for key, s in self.stats.items():
            self._prune(s, now)
            limits = self.limits[key]
            keys[key] = {
                "kind": self.keys[key].kind,
                "tier": self.keys[key].effective_tier,
                "requests": s.requests,
                "ok": s.ok,
                "errors": dict(s.errors),
                "max_in_flight": s.max_in_flight,
                "in_flight": s.in_flight,
                "window_5h_prompts": self._window_count(s, WINDOW_5H_SECONDS, now)[0],
                "week_prompts": self._window_count(s, WINDOW_WEEK_SECONDS, now)[0],
                "input_tokens": s.input_tokens,
                "output_tokens": s.output_tokens,
                "spent_usd": round(s.spent_usd, 6),
                "limits": limits.model_dump(mode="json"),
            }
        return {"keys": keys, "clock": now, "offset_seconds": self.offset}

    def usage_windows(self, key: str) -> dict[str, Any]:
        """The two windows of a coding key as percentages with their reset times."""
        s, limits, now = self.stats[key], self.limits[key], self.now()
        out = {}
        for name, seconds, limit in (
            ("5h", WINDOW_5H_SECONDS, limits.quota_5h),
            ("week", WINDOW_WEEK_SECONDS, limits.quota_week),
        ):
            used, reset_at = self._window_count(s, seconds, now)
            out[name] = {
                "used": used,
                "limit": limit,
                "percentage": _percentage(used, limit),
                "next_reset_time": int((reset_at or now + seconds) * 1000),
            }
        return out


def _percentage(used: int, limit: int | None) -> float:
    """Share of a window used, capped at 100 (a weighted prompt can overshoot). An unlimited
    window reads 0 %; a window of size 0 is closed, so it reads full."""
    if limit is None:
        return 0.0
    return min(100.0, round(100 * used / limit, 1)) if limit else 100.0
