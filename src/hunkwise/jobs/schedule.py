"""Schedule a review around its Main key's Coding Plan window: run it, spill it to the Fallback,
or defer it until the window resets.

The decision (:func:`decide`) is a pure function of the review's estimate, the window's
remaining capacity, who asked (the job's priority), the organization's spill policy and the
clock, so it is tested without a server. Where the remaining capacity comes from is behind one
protocol, :class:`RemainingCapacity`; the server's is :func:`window_capacity`, over
:func:`hunkwise.store.capacity.remaining_window_capacity` (Z.AI's quota monitor merged with the
usage ledger).

The vocabulary (priorities, spill policies) is :mod:`hunkwise.config.scheduling`; the peak-hour
multiplier is the catalog's ``[peak_hours]`` rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from sqlalchemy import Engine

from hunkwise.catalog.loader import Catalog, load_catalog
from hunkwise.config.scheduling import MANUAL_PRIORITY, Spill, priority_name
from hunkwise.gateway import QuotaMonitor, Slot
from hunkwise.store.jobs import Job

# "main": run now (the router still fails over on a spent window); "defer": wait for the reset.
Action = Literal["main", "defer"]


@dataclass(frozen=True, slots=True)
class WindowRoom:
    """What is left of a key's tightest window now, in prompts, and when it has room again.

    ``resets_at``: when the window named ``window`` frees up (None: unknown, then a review is
    never deferred for it); ``source`` says where the figures come from, for the reason shown."""

    remaining: int
    limit: int
    resets_at: datetime | None
    window: str = "5-hour"
    source: str = "ledger"


class RemainingCapacity(Protocol):
    """The remaining window capacity of ``slot``'s credential at ``now``; None when the key has
    no window (pay-per-token) or nothing is known."""

    async def __call__(self, slot: Slot, now: datetime) -> WindowRoom | None: ...


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a review will take from a window: ``requests`` model requests, each counting
    ``multiplier`` prompts (the peak-hour rule), and its estimated input tokens (shown)."""

    requests: int
    multiplier: int = 1
    tokens: int = 0

    @property
    def prompts(self) -> int:
        return self.requests * self.multiplier


@dataclass(frozen=True, slots=True)
class ScheduleDecision:
    """``main``: run with the slots as configured (``spread``: chunks on Main and the Fallback at
    once); ``fallback``: run without Main; ``defer``: wait until ``until``. ``reason`` is the
    line shown in the API, the console and the log."""

    action: Action
    reason: str
    until: datetime | None = None
    spread: bool = False


def estimate_for(
    requests: int, model: str, now: datetime, *, tokens: int = 0, catalog: Catalog | None = None
) -> Estimate:
    """The estimate of ``requests`` requests to ``model`` sent at ``now``: the catalog's peak-hour
    rule in force then (``[peak_hours]``; a promotion at 1x is an override of it)."""
    return Estimate(requests, (catalog or load_catalog()).peak_hours.multiplier(model, now), tokens)


def decide(
    *,
    priority: int,
    spill: Spill,
    estimate: Estimate,
    capacity: WindowRoom | None,
    has_fallback: bool,
    main_cap: int | None,
    now: datetime,
) -> ScheduleDecision:
    """Run, spill or defer one review (see the module and docs/quota-and-cost.md).

    - The window covers the estimate (or nothing is known of it): run on Main; with
      ``to-finish-faster`` and a Fallback, a review of more requests than Main's cap spreads.
    - It does not: a person's review runs anyway (never deferred); ``never`` defers the others
      until the reset; ``when-exhausted`` and ``to-finish-faster`` run with the Fallback taking
      over when Main refuses (the router's failover), or defer when there is no Fallback (waiting
      beats failing on a spent window).
    """
    spread = (
        spill == "to-finish-faster" and has_fallback and (main_cap is None or estimate.requests > main_cap)
    )
    if capacity is None or estimate.prompts <= capacity.remaining:
        return ScheduleDecision(
            "main", "the window covers it" if capacity else "no window to plan for", spread=spread
        )
    short = (
        f"{estimate.prompts} prompt(s) needed ({estimate.requests} request(s) x{estimate.multiplier} "
        f"peak multiplier), {max(capacity.remaining, 0)} of {capacity.limit} left in the {capacity.window} "
        f"window ({capacity.source})"
    )
    may_spill = spill != "never" and has_fallback
    if priority >= MANUAL_PRIORITY and not may_spill:
        return ScheduleDecision("main", f"{short}; asked for by a person: never deferred")
    if may_spill:
        # Today's failover: Main serves what it still can, its first 1308 opens a circuit until
        # the reset and the Fallback takes the rest (counted as failovers, as before).
        return ScheduleDecision(
            "main", f"{short}; spill = {spill!r}: the Fallback takes over when Main refuses", spread=spread
        )
    if capacity.resets_at is None or capacity.resets_at <= now:
        return ScheduleDecision("main", f"{short}; the reset time is unknown: run now")
    why = "no Fallback is configured" if spill != "never" else "spill = 'never'"
    return ScheduleDecision(
        "defer",
        f"{short}; {why}: {priority_name(priority)} review deferred until {when(capacity.resets_at)}",
        until=capacity.resets_at,
    )


def when(moment: datetime) -> str:
    """A deferral time as shown everywhere: the UTC date and time, and the zone spelled out."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def window_capacity(
    db: Engine, *, monitor: QuotaMonitor | None = None, catalog: Catalog | None = None
) -> RemainingCapacity:
    """:class:`RemainingCapacity` from :func:`hunkwise.store.capacity.remaining_window_capacity`:
    Z.AI's quota monitor when it answers (``monitor``, shared and cached by the process), else
    the usage ledger's prompts weighted by the peak-hour rule, against the tier's ceilings
    (``catalog``: the one with the config files' overrides). The tighter of the 5-hour and
    weekly windows is reported, with when it resets (the monitor's ``nextResetTime``; for the
    ledger's rolling window, when its oldest prompt leaves it: a job woken then that still does
    not fit waits again)."""
    from hunkwise.store.capacity import remaining_window_capacity

    async def capacity(slot: Slot, now: datetime) -> WindowRoom | None:
        found = await remaining_window_capacity(db, slot, monitor=monitor, now=now, catalog=catalog)
        if found is None:
            return None
        best: WindowRoom | None = None
        for name, window in (("5-hour", found.five_hour), ("weekly", found.week)):
            if window.remaining is None or window.limit is None:
                continue
            source = "quota monitor" if window.source == "monitor" else "usage ledger"
            # The monitor's figure is cached: prompts this installation sent since may be missing
            # from it, and the ledger's weighted count is a floor of the usage. The tighter wins.
            remaining = min(window.remaining, window.limit - window.ledger_weighted)
            left = WindowRoom(remaining, window.limit, window.resets_at, name, source)
            if best is None or left.remaining < best.remaining:
                best = left
        return best

    return capacity


SpillFor = Callable[[str], Spill]


def job_schedule(job: Job) -> dict[str, Any]:
    """How a job is scheduled, as the API and the console show it: its priority, and while it
    waits for a window, until when and why ("deferred until 2026-12-05 17:00 UTC"); after it ran,
    what the scheduler decided (Main, the Fallback, spread)."""
    until = job.deferred_until if job.status == "queued" else None
    deferred = until is not None
    decided = (job.checkpoint or {}).get("schedule")
    return {
        "priority": priority_name(job.priority),
        "priority_value": job.priority,
        "deferred": deferred,
        "deferred_until": job.deferred_until.isoformat() if deferred and job.deferred_until else None,
        "deferred_label": f"deferred until {when(job.deferred_until)}"
        if deferred and job.deferred_until
        else None,
        "defer_reason": job.defer_reason if deferred else None,
        "scheduled": decided if isinstance(decided, dict) else None,
    }
