"""Z.AI's peak-hour multiplier: how many window prompts one Coding Plan request counts for.

Source: Z.AI Coding Plan FAQ, April-June 2026 (recorded in shared/reference/providers.md,
"Added 2026-12"): a GLM-5.1 or GLM-5-Turbo prompt counts 3x against the 5-hour and weekly windows
at peak, 14:00-18:00 Beijing time (UTC+8), and 2x off-peak; every other model 1x. Z.AI runs
temporary promotions at 1x. One place for the rule: the simulator meters with it, the scheduler
(``hunkwise.jobs.schedule``) estimates with it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

PEAK_MULTIPLIER_MODELS: frozenset[str] = frozenset({"glm-5.1", "glm-5-turbo"})
PEAK_HOURS_UTC8 = (14, 18)  # [start, end) in Beijing wall-clock hours
PEAK_MULTIPLIER = 3
OFF_PEAK_MULTIPLIER = 2
BEIJING = timezone(timedelta(hours=8), "UTC+8")


def window_multiplier(model: str, at: datetime | float, *, promotion: bool = False) -> int:
    """Prompts one request to ``model`` counts for at ``at`` (an aware datetime or epoch
    seconds); 1 for every model during a ``promotion``."""
    if promotion or model.lower() not in PEAK_MULTIPLIER_MODELS:
        return 1
    moment = datetime.fromtimestamp(at, UTC) if isinstance(at, int | float) else at
    hour = moment.astimezone(BEIJING).hour
    start, end = PEAK_HOURS_UTC8
    return PEAK_MULTIPLIER if start <= hour < end else OFF_PEAK_MULTIPLIER
