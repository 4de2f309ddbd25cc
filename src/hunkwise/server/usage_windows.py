"""Coding Plan windows as the server shows them (API and console): one organization's keys.

The credentials in scope are the organization's configured Coding Plan slots (asked of Z.AI's
quota monitor through the runtime's shared, cached, SSRF-guarded monitor) plus the Coding Plan
credentials its own review runs used this week (ledger only when no slot holds them any more).
The admin without an organization sees every Coding Plan credential of the ledger, without the
monitor (no organization's key is at hand).

A window belongs to a key, not to an organization, so the counts are the key's, installation-wide.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from hunkwise.errors import ConfigurationError
from hunkwise.gateway import MonitorResult, Slot, has_monitor
from hunkwise.jobs.runtime import Runtime
from hunkwise.store.capacity import CredentialCapacity, ledger_capacity
from hunkwise.store.db import Db, use_session
from hunkwise.store.ledger import org_run_ids
from hunkwise.store.tables import ModelCall
from hunkwise.store.windows import CODING_PLAN


def window_credentials(
    db: Db, *, org: str | None, now: datetime, include_simulated: bool = False
) -> list[str]:
    """Coding Plan credentials with calls in the last week, those of ``org``'s runs only when given."""
    query = select(ModelCall.credential_id).where(
        (ModelCall.plan == CODING_PLAN)
        & ModelCall.credential_id.is_not(None)
        & (ModelCall.created_at > now - timedelta(days=7))
    )
    if not include_simulated:
        query = query.where(ModelCall.simulated.is_(False))
    if org is not None:
        query = query.where(ModelCall.run_id.in_(org_run_ids(db, org)))
    with use_session(db) as session:
        return sorted({c for c in session.scalars(query.distinct()) if c})


async def org_windows(
    runtime: Runtime, org: str | None, *, now: datetime | None = None, include_simulated: bool = False
) -> tuple[list[CredentialCapacity], str | None]:
    """The merged windows of ``org``'s Coding Plan keys, and a note when its slots could not be
    read (a stored configuration no longer valid): the ledger's view is shown then."""
    now = now or datetime.now(UTC)
    slots: dict[str, Slot] = {}
    note = None
    if org is not None:
        try:
            found = await run_in_threadpool(runtime.slots.slots_for, org)
        except ConfigurationError as exc:
            found, note = [], f"the organization's models could not be loaded ({exc}); ledger counts only"
        slots = {s.credential_id: s for s in found if has_monitor(s) and s.api_key}
    readings: dict[str, MonitorResult] = {c: await runtime.quota_monitor.read(s) for c, s in slots.items()}
    engine = runtime.engine
    catalog = runtime.fixed.catalog if runtime.fixed is not None else runtime.slots.catalog

    def build() -> list[CredentialCapacity]:
        seen = window_credentials(engine, org=org, now=now, include_simulated=include_simulated)
        credentials = seen + [c for c in slots if c not in seen]
        return [
            ledger_capacity(
                engine,
                c,
                now,
                monitor=readings.get(c),
                model=slots[c].model if c in slots else None,
                tier=slots[c].tier if c in slots else None,
                catalog=catalog,
                include_simulated=include_simulated,
            )
            for c in credentials
        ]

    return await run_in_threadpool(build), note


__all__ = ["org_windows", "window_credentials"]
