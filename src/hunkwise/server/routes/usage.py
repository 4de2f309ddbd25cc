"""``GET /api/orgs/{org}/usage/windows``: the organization's Coding Plan windows.

Per key: what is left in the 5-hour and weekly windows (Z.AI's quota monitor where it answers,
else the ledger), the source of each figure, the peak-hour multiplier in force, the forecast at
the last hour's rate, and the monitor's one-line diagnosis when it did not answer. The same
JSON as ``hunkwise usage --windows --json``'s ``windows``; keys are shown as fingerprints only.

Named like :mod:`hunkwise.cli.usage` on purpose: route modules are named after the resource they
serve, cli modules after their command (``hunkwise usage --windows``, the same view).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from hunkwise.server.deps import OrgAccess, RuntimeDep
from hunkwise.server.usage_windows import org_windows

router = APIRouter(prefix="/api/orgs/{org}/usage", tags=["usage"])


class WindowsPublic(BaseModel):
    org: str
    monitor_enabled: bool
    note: str | None = None
    windows: list[dict[str, Any]]


@router.get("/windows", response_model=WindowsPublic, summary="Coding Plan windows")
async def windows(
    org: OrgAccess, runtime: RuntimeDep, include_simulated: Annotated[bool, Query()] = False
) -> WindowsPublic:
    """Remaining prompts, multiplier and forecast for each Coding Plan key of the organization."""
    found, note = await org_windows(runtime, org, include_simulated=include_simulated)
    return WindowsPublic(
        org=org,
        monitor_enabled=runtime.quota_monitor.enabled,
        note=note,
        windows=[c.as_dict() for c in found],
    )
