"""Which models a process reviews with (its *mode*), said once at start-up and checked per job.

Fixed mode (``HUNKWISE_MODEL`` set) reviews every organization with the process's own models;
BYOK mode uses each organization's stored configuration. A server and its workers must agree: a
fixed-mode server accepts webhooks for every organization, and a BYOK worker then finds none of
them configured. So the server records its mode on each job it publishes (in the job payload, a
few bytes, no migration), and a worker refuses a job recorded in the other mode with an error
that names the mismatch and the fix, instead of a misleading "no model configuration".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hunkwise.config.byok import FIXED_MODE_ENV, fixed_model
from hunkwise.config.resolve import ResolvedConfig
from hunkwise.config.settings import Settings

PAYLOAD_KEY = "server_mode"
FIX = "give the server and every worker the same HUNKWISE_* model settings (docs/scale-out.md)"


def mode_record(fixed: ResolvedConfig | None, settings: Settings) -> dict[str, str]:
    """What a job carries: ``{"kind": "byok"}`` or ``{"kind": "fixed", "model": <HUNKWISE_MODEL>}``."""
    if fixed is None:
        return {"kind": "byok"}
    return {"kind": "fixed", "model": fixed_model(settings) or ""}


def describe(fixed: ResolvedConfig | None) -> str:
    """The mode for a start-up line (models named, keys never)."""
    if fixed is None:
        return "BYOK (each organization's models and keys, from the database)"
    slots = ", ".join(slot.label for slot in fixed.slots)
    return f"fixed ({FIXED_MODE_ENV}; {slots}) for every organization"


def _said(record: Mapping[str, Any]) -> str:
    if record.get("kind") == "fixed":
        return f"in fixed mode ({FIXED_MODE_ENV}={record.get('model') or '?'})"
    return f"in BYOK mode ({FIXED_MODE_ENV} unset)"


def mismatch(recorded: Any, mine: Mapping[str, str]) -> str | None:
    """Why a job recorded by the server in ``recorded`` mode must not run here, or ``None``
    (same mode, or a job from a server that did not record one)."""
    if not isinstance(recorded, Mapping) or recorded.get("kind") not in ("fixed", "byok"):
        return None
    if recorded["kind"] == mine["kind"]:
        return None
    return f"mode mismatch: the server is {_said(recorded)} but this worker is {_said(mine)}: {FIX}"
