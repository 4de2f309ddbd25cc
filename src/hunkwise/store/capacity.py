"""Remaining Coding Plan window capacity: the provider's quota monitor merged with the ledger.

Two sources, each with its blind spot. The ledger (:mod:`hunkwise.store.windows`) counts only
the prompts *this installation* sent; the quota monitor (:mod:`hunkwise.gateway`'s
``QuotaMonitor``) sees every tool on the key but is undocumented, reports a percentage of a
token budget, and may be unreachable. So for each window the monitor's figure wins when there is
one (``source = "monitor"``), scaled to prompts by the catalog tier's ceiling, and the ledger's
count is the fallback (``source = "ledger"``), weighted by the catalog's peak-hour rule
(``[peak_hours]``: a GLM-5.1 prompt at 15:00 Beijing time counts 3, at 20:00 2).

On top of the remaining figure sits a forecast (:func:`forecast_window`, pure, clock injected):
at the last hour's rate, times the multiplier in force now, when does the window run out, and is
that before it resets? No forecast when nothing was sent in the last hour, and an explicit "lasts
until its reset" when the rate would not empty it in time.

:func:`remaining_window_capacity` is the one call other code needs ("how much of this
credential's window is left now?"); docs/usage.md documents it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal

from sqlalchemy import select

from hunkwise.catalog.loader import Catalog, load_catalog
from hunkwise.gateway import MonitorResult, MonitorSpan, MonitorWindow, QuotaMonitor, Slot, has_monitor
from hunkwise.store.db import Db, use_session
from hunkwise.store.tables import ModelCall
from hunkwise.store.windows import (
    FIVE_HOURS,
    QUOTA_CONSUMING_OUTCOMES,
    WEEK,
    WindowCount,
    WindowUsage,
    window_usage,
)

Source = Literal["monitor", "ledger"]
RATE_SPAN = timedelta(hours=1)


# -- the forecast (pure) ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Forecast:
    """When a window runs out at the recent rate, or why there is no such moment.

    ``runs_out_at`` is set only when the window empties before ``resets_at`` (or no reset time is
    known); ``lasts_until_reset`` says the rate would not empty it in time."""

    now: datetime
    prompts_last_hour: int
    multiplier: int
    remaining: float | None
    resets_at: datetime | None
    runs_out_at: datetime | None = None
    lasts_until_reset: bool = False

    @property
    def rate_per_hour(self) -> int:
        """Window units spent per hour at the last hour's pace and today's multiplier."""
        return self.prompts_last_hour * self.multiplier

    @property
    def margin(self) -> timedelta | None:
        """How long before its reset the window runs out (None without both times)."""
        if self.runs_out_at is None or self.resets_at is None:
            return None
        return self.resets_at - self.runs_out_at

    def message(self, tz: tzinfo | None = None) -> str:
        """One sentence for people; times in ``tz`` (default: this machine's zone)."""
        if self.remaining is None:
            return "no forecast: the window's size is unknown (tier not in the catalog)"
        if self.remaining <= 0:
            reset = f"; it resets at {_clock(self.resets_at, tz, self.now)}" if self.resets_at else ""
            return f"this window is spent now{reset}"
        if self.prompts_last_hour == 0:
            return "no forecast: nothing was sent on this key in the last hour"
        rate = f"{self.prompts_last_hour}/h x{self.multiplier}"
        if self.lasts_until_reset:
            return (
                f"at the last hour's rate ({rate}) this window lasts until its reset at "
                f"{_clock(self.resets_at, tz, self.now)}"
            )
        assert self.runs_out_at is not None
        when = _clock(self.runs_out_at, tz, self.now)
        out = f"at the last hour's rate ({rate}) this window runs out at {when}"
        margin = self.margin
        return f"{out}, {duration(margin)} before its reset" if margin is not None else out

    def as_dict(self, tz: tzinfo | None = None) -> dict[str, Any]:
        """The forecast as JSON (``capacity.forecast``), its message's times in ``tz``."""
        return {
            "prompts_last_hour": self.prompts_last_hour,
            "multiplier": self.multiplier,
            "rate_per_hour": self.rate_per_hour,
            "runs_out_at": _iso(self.runs_out_at),
            "before_reset_seconds": None if self.margin is None else int(self.margin.total_seconds()),
            "lasts_until_reset": self.lasts_until_reset,
            "message": self.message(tz),
        }


def forecast_window(
    *,
    remaining: float | None,
    prompts_last_hour: int,
    multiplier: int,
    resets_at: datetime | None,
    now: datetime,
) -> Forecast:
    """When a window with ``remaining`` units left runs out if the last hour's prompts keep coming,
    each counting ``multiplier`` units. Pure: ``now`` is given, nothing is read."""
    base = Forecast(
        now=now,
        prompts_last_hour=prompts_last_hour,
        multiplier=multiplier,
        remaining=remaining,
        resets_at=resets_at,
    )
    if remaining is None or prompts_last_hour <= 0:
        return base
    if remaining <= 0:
        return Forecast(**{**_fields(base), "runs_out_at": now})
    hours = remaining / (prompts_last_hour * max(1, multiplier))
    runs_out_at = now + timedelta(hours=hours)
    if resets_at is not None and runs_out_at >= resets_at:
        return Forecast(**{**_fields(base), "lasts_until_reset": True})
    return Forecast(**{**_fields(base), "runs_out_at": runs_out_at})


def _fields(f: Forecast) -> dict[str, Any]:
    return {name: getattr(f, name) for name in Forecast.__slots__}


def duration(delta: timedelta) -> str:
    """``2 h``, ``1 h 20 min``, ``40 min``, ``3 d 4 h``: a span at a glance."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def _clock(moment: datetime | None, tz: tzinfo | None, now: datetime) -> str:
    """``15:40`` today, ``Tue 15:40`` on another day (both as seen in ``tz``)."""
    if moment is None:
        return "?"
    local = moment.astimezone(tz)
    same_day = local.date() == now.astimezone(tz).date()
    return local.strftime("%H:%M") if same_day else local.strftime("%a %H:%M")


# -- the merge ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WindowCapacity:
    """One window of one credential: what is left, where the figure came from, the forecast."""

    span: MonitorSpan
    limit: int | None  # prompts, the catalog tier's ceiling (user-overridable)
    remaining: int | None  # prompts (units the multiplier weighs), None when unknown
    percent_used: float | None
    source: Source
    resets_at: datetime | None
    forecast: Forecast
    ledger_weighted: int  # prompts this installation sent, weighted by the peak-hour rule

    def as_dict(self, tz: tzinfo | None = None) -> dict[str, Any]:
        """The window's merged figures as JSON (``five_hour.capacity``, ``week.capacity``)."""
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "percent_used": self.percent_used,
            "source": self.source,
            "resets_at": _iso(self.resets_at),
            "ledger_weighted": self.ledger_weighted,
            "forecast": self.forecast.as_dict(tz),
        }


@dataclass(frozen=True, slots=True)
class CredentialCapacity:
    """Both windows of one Coding Plan credential, the multiplier in force and the monitor's word."""

    ledger: WindowUsage
    model: str | None  # the model the multiplier was judged for
    multiplier: int
    peak: bool
    peak_hours: str  # "14:00-18:00 UTC+8", for people
    five_hour: WindowCapacity
    week: WindowCapacity
    monitor: MonitorResult | None  # None: no key at hand to ask with
    notes: tuple[str, ...] = ()  # what people should check (a tier the provider disagrees with)

    @property
    def remaining_prompts(self) -> int | None:
        """What can still be sent now: the smaller of the two windows (None if neither is known)."""
        known = [w.remaining for w in (self.five_hour, self.week) if w.remaining is not None]
        return min(known) if known else None

    @property
    def monitor_status(self) -> str:
        """``ok``, ``unavailable`` (see :attr:`monitor_diagnosis`) or ``not asked`` (no key at hand)."""
        if self.monitor is None:
            return "not asked"
        return "ok" if self.monitor.reading is not None else "unavailable"

    @property
    def monitor_diagnosis(self) -> str | None:
        """Why the monitor's figures are missing, in one line (None when it answered)."""
        if self.monitor is None:
            return "no configured slot holds this key, so the monitor was not asked"
        return self.monitor.diagnosis

    def as_dict(self, tz: tzinfo | None = None) -> dict[str, Any]:
        """The ledger's fields (unchanged) plus the merged view, for ``usage --windows --json``
        and the API."""
        out = self.ledger.as_dict()
        out["five_hour"] |= {"capacity": self.five_hour.as_dict(tz)}
        out["week"] |= {"capacity": self.week.as_dict(tz)}
        reading = self.monitor.reading if self.monitor else None
        out |= {
            "model": self.model,
            "multiplier": self.multiplier,
            "peak": self.peak,
            "peak_hours": self.peak_hours,
            "remaining_prompts": self.remaining_prompts,
            "notes": list(self.notes),
            "monitor": {
                "status": self.monitor_status,
                "diagnosis": self.monitor_diagnosis,
                "cached": bool(self.monitor and self.monitor.cached),
                "reading": reading.as_dict() if reading else None,
            },
        }
        return out


def merge_windows(
    ledger: WindowUsage,
    monitor: MonitorResult | None,
    *,
    now: datetime,
    prompts_last_hour: int,
    weighted: tuple[int, int],
    model: str | None = None,
    catalog: Catalog | None = None,
) -> CredentialCapacity:
    """The combined view of one credential. Pure: every input is given.

    ``weighted`` is the ledger's (5-hour, week) counts with the peak-hour rule applied
    (:func:`weighted_counts`); ``model`` is the model the key serves (else the ledger's busiest
    multiplier among the models it saw)."""
    catalog = catalog or load_catalog()
    rule = catalog.peak_hours
    models = [model] if model else list(ledger.models)
    multiplier = max((rule.multiplier(m, now) for m in models), default=1)
    reading = monitor.reading if monitor else None
    windows = []
    spans: tuple[tuple[MonitorSpan, WindowCount, int], ...] = (
        ("5h", ledger.five_hour, weighted[0]),
        ("week", ledger.week, weighted[1]),
    )
    for span, count, units in spans:
        seen = reading.windows.get(span) if reading else None
        windows.append(
            _window(
                span, count, units, seen, prompts_last_hour=prompts_last_hour, multiplier=multiplier, now=now
            )
        )
    notes: list[str] = []
    level = reading.level.lower() if reading and reading.level else None
    if level and level in catalog.tiers and level != ledger.tier:
        # The remaining prompts are scaled by the configured tier's ceiling: a wrong tier skews them.
        notes.append(
            f"Z.AI's quota monitor says this key is on the {level} tier, configured as {ledger.tier}: "
            f'set tier = "{level}" so the prompts left are scaled right'
        )
    sign = "+" if rule.utc_offset_hours >= 0 else "-"
    hours = f"{rule.peak_start_hour:02d}:00-{rule.peak_end_hour:02d}:00"
    return CredentialCapacity(
        ledger=ledger,
        model=model or (ledger.models[0] if len(ledger.models) == 1 else None),
        multiplier=multiplier,
        peak=rule.is_peak(now),
        peak_hours=f"{hours} UTC{sign}{abs(rule.utc_offset_hours)}",
        five_hour=windows[0],
        week=windows[1],
        monitor=monitor,
        notes=tuple(notes),
    )


def _window(
    span: MonitorSpan,
    count: WindowCount,
    units: int,
    seen: MonitorWindow | None,
    *,
    prompts_last_hour: int,
    multiplier: int,
    now: datetime,
) -> WindowCapacity:
    limit = count.limit
    if seen is not None:
        fraction = seen.used_fraction
        # Rounded down (never promise a prompt that is not there), past float noise (120 x 0.1).
        remaining = None if limit is None else max(0, int(limit * (1 - fraction) + 1e-9))
        source: Source = "monitor"
        percent = round(fraction * 100, 1)
        resets_at = seen.resets_at
    else:
        remaining = None if limit is None else max(0, limit - units)
        source = "ledger"
        percent = None if not limit else round(min(100.0, 100 * units / limit), 1)
        # A rolling window frees its oldest prompt first; a spent one is open again at available_at.
        resets_at = count.available_at or count.resets_at or now + count.span
    return WindowCapacity(
        span=span,
        limit=limit,
        remaining=remaining,
        percent_used=percent,
        source=source,
        resets_at=resets_at,
        forecast=forecast_window(
            remaining=remaining,
            prompts_last_hour=prompts_last_hour,
            multiplier=multiplier,
            resets_at=resets_at,
            now=now,
        ),
        ledger_weighted=units,
    )


# -- reading the ledger ------------------------------------------------------------------------------
def weighted_counts(
    db: Db,
    credential_id: str,
    now: datetime,
    *,
    catalog: Catalog | None = None,
    include_simulated: bool = False,
) -> tuple[int, int, int]:
    """(5-hour weighted, week weighted, prompts in the last hour) from the ledger's quota-consuming
    calls on ``credential_id``; the weights are the catalog's peak-hour rule at each call's time."""
    rule = (catalog or load_catalog()).peak_hours
    mine = ModelCall.credential_id == credential_id
    if not include_simulated:
        mine = mine & ModelCall.simulated.is_(False)
    query = (
        select(ModelCall.created_at, ModelCall.model)
        .where(mine & (ModelCall.created_at > now - WEEK) & (ModelCall.created_at <= now))
        .where(ModelCall.outcome.in_(QUOTA_CONSUMING_OUTCOMES))
    )
    with use_session(db) as session:
        rows = list(session.execute(query))
    five = week = last_hour = 0
    for created_at, model in rows:
        w = rule.multiplier(model or "", created_at)
        week += w
        if created_at > now - FIVE_HOURS:
            five += w
        if created_at > now - RATE_SPAN:
            last_hour += 1
    return five, week, last_hour


def ledger_capacity(
    db: Db,
    credential_id: str,
    now: datetime,
    *,
    monitor: MonitorResult | None = None,
    model: str | None = None,
    tier: str | None = None,
    catalog: Catalog | None = None,
    include_simulated: bool = False,
) -> CredentialCapacity:
    """The merged view of ``credential_id`` from the ledger and an already-read ``monitor`` result
    (blocking database reads: call from a thread in async code)."""
    catalog = catalog or load_catalog()
    ledger = window_usage(
        db, credential_id, now, tier=tier, catalog=catalog, include_simulated=include_simulated
    )
    five, week, last_hour = weighted_counts(
        db, credential_id, now, catalog=catalog, include_simulated=include_simulated
    )
    return merge_windows(
        ledger,
        monitor,
        now=now,
        prompts_last_hour=last_hour,
        weighted=(five, week),
        model=model,
        catalog=catalog,
    )


async def remaining_window_capacity(
    db: Db,
    slot: Slot,
    *,
    monitor: QuotaMonitor | None = None,
    now: datetime | None = None,
    catalog: Catalog | None = None,
) -> CredentialCapacity | None:
    """Remaining window capacity for ``slot``'s credential now: the call for code that must decide
    whether a key can take more work (scheduling, deferral, the console).

    ``None`` for a slot that is not a Z.AI Coding Plan key (no windows). Otherwise both windows
    with ``remaining`` prompts (``remaining_prompts`` is the smaller), their ``source``, the
    multiplier in force for ``slot.model``, and a forecast. ``monitor`` (shared, cached) adds the
    provider's own figures; without it, or when it fails, the ledger's counts stand in and the
    reason is in ``monitor_diagnosis``. Never raises because of the monitor."""
    if not has_monitor(slot):
        return None
    now = now or datetime.now(UTC)
    result = (
        await monitor.read(slot)
        if monitor is not None
        else MonitorResult(None, "quota monitor not configured")
    )
    return await asyncio.to_thread(
        ledger_capacity,
        db,
        slot.credential_id,
        now,
        monitor=result,
        model=slot.model,
        tier=slot.tier,
        catalog=catalog,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


__all__ = [
    "CredentialCapacity",
    "Forecast",
    "WindowCapacity",
    "duration",
    "forecast_window",
    "ledger_capacity",
    "merge_windows",
    "remaining_window_capacity",
    "weighted_counts",
]
