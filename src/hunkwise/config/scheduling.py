"""The scheduling vocabulary: review job priorities and the spill policy, one place for both.

Priorities say who is waiting for a review: a person who asked for it (a manual or API trigger)
beats a new pull request, which beats new commits on an open one, which beat a backfill. Workers
claim the highest priority first (``hunkwise.store.jobs.claim``); only a person's review is never
deferred for a Coding Plan window (``hunkwise.jobs.schedule``).

The spill policy says what a review does when its organization's Main key (a Coding Plan key
with windows) cannot cover it:

- ``never``: lower-priority reviews wait for the window's reset (no Fallback spend);
- ``when-exhausted``: go to the Fallback when Main's window cannot cover the review (the
  default: what hunkwise did before it could see ahead, now decided before the first request);
- ``to-finish-faster``: as ``when-exhausted``, and a large review runs its chunks on Main and
  the Fallback at the same time, each chunk on whichever has a free slot first.

Precedence on a server: the organization's own setting (API, console) > ``HUNKWISE_SPILL`` >
``when-exhausted`` (in fixed mode only the admin token may set an organization's, like its cost
ceiling).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from hunkwise.errors import ConfigurationError

Spill = Literal["never", "when-exhausted", "to-finish-faster"]
SPILL_POLICIES: tuple[str, ...] = get_args(Spill)
DEFAULT_SPILL: Spill = "when-exhausted"
SPILL_ENV = "HUNKWISE_SPILL"
SPILL_HELP = 'one of "never" (wait for the reset), "when-exhausted" (go to the Fallback), "to-finish-faster"'

Trigger = Literal["manual", "opened", "synchronize", "backfill"]
# Larger runs first. Gaps leave room for levels added later without renumbering stored rows.
PRIORITIES: dict[str, int] = {"manual": 30, "opened": 20, "synchronize": 10, "backfill": 0}
MANUAL_PRIORITY = PRIORITIES["manual"]
DEFAULT_PRIORITY = PRIORITIES["synchronize"]  # a webhook action we do not know: new commits


def parse_spill(value: Any, setting: str = "spill") -> Spill:
    """A spill policy from a file, the environment, the API or a form: one line naming the
    setting and the accepted values when it is none of them."""
    text = str(value).strip().lower().replace("_", "-") if value is not None else ""
    if text not in SPILL_POLICIES:
        raise ConfigurationError(
            f"{setting} = {value!r} is not a spill policy: {SPILL_HELP}", setting=setting
        )
    return text  # type: ignore[return-value]


def priority_for(trigger: str | None) -> int:
    """The priority of a review asked for by ``trigger``: a webhook action (``opened``,
    ``reopened``, ``ready_for_review`` count as a new pull request; ``synchronize``, GitLab's
    ``update``, anything else as new commits), ``manual`` or ``backfill``."""
    if trigger in ("opened", "reopened", "ready_for_review", "open", "reopen"):
        return PRIORITIES["opened"]
    return PRIORITIES.get(trigger or "", DEFAULT_PRIORITY)


def priority_name(priority: int) -> str:
    """The name shown for a stored priority (the nearest level at or below it)."""
    for name, value in sorted(PRIORITIES.items(), key=lambda kv: -kv[1]):
        if priority >= value:
            return name
    return "backfill"
