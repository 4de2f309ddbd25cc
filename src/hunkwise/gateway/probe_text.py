"""The words of a diagnosis: one summary line and a few lines of advice per failure.

Kept apart from the probing mechanics because this text is a user-facing contract (CLI, web
console, docs) and changes for different reasons than the code that sends the request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from hunkwise.catalog.loader import load_catalog
from hunkwise.gateway.errors import ErrorKind, ProviderError
from hunkwise.gateway.types import Slot

if TYPE_CHECKING:
    from hunkwise.gateway.probe import Diagnosis


def env_prefix(slot: Slot) -> str:
    """The environment prefix configuring this slot (``HUNKWISE_``, ``HUNKWISE_FALLBACK_``)."""
    return "HUNKWISE_" if slot.name == "main" else f"HUNKWISE_{slot.name.upper()}_"


def when(reset: datetime, now: float) -> str:
    """``2026-09-09 05:38 UTC (in 3 h 12 min)``."""
    stamp = reset.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    left = int(reset.timestamp() - now)
    if left <= 0:
        return f"{stamp} (now)"
    hours, minutes = divmod((left + 59) // 60, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes or not parts else []
    return f"{stamp} (in {' '.join(parts)})"


def _serve_line(fallback: str | None, until: str) -> str:
    if fallback:
        return f"The fallback ({fallback}) will serve {until}."
    return (
        f"No fallback is configured, so reviews fail {until}: add one "
        "(HUNKWISE_FALLBACK_MODEL and HUNKWISE_FALLBACK_API_KEY, or OPENAI_API_KEY / ANTHROPIC_API_KEY)."
    )


def advise(
    d: Diagnosis,
    slot: Slot,
    err: ProviderError,
    *,
    fallback: str | None,
    other_plan: tuple[str, bool] | None,
    now: float,
) -> None:
    """Fill ``d.summary``, ``d.advice`` and ``d.suggestions`` for a failed probe."""
    catalog = load_catalog()
    label, kind, prefix = slot.label, err.kind, env_prefix(slot)
    tag = f" ({err.code or err.status})" if (err.code or err.status) else ""
    if kind is ErrorKind.AUTH:
        if other_plan is not None:
            other = catalog.plans[other_plan[0]]
            this = next(p for p in catalog.plans.values() if p.provider == "zai" and p.id != other.id)
            if other_plan[1]:
                d.summary = (
                    f"{label}: the {this.display_name} endpoint rejects this key{tag}, but the "
                    f"{other.display_name} endpoint accepts it: this is a {other.display_name} key: "
                    f"choose the {other.display_name}"
                )
                d.advice = [
                    f'Set {prefix}PLAN={other.id} (or plan = "{other.id}" in your profile); the base URL '
                    f"becomes {other.base_url}.",
                    f"Or use a {this.display_name} key: {this.description}",
                ]
            else:
                d.summary = (
                    f"{label}: both the Developer API and the Coding Plan endpoints reject this key{tag}: "
                    "the key is wrong, revoked or incomplete"
                )
                d.advice = [
                    f"Copy the key again into {prefix}API_KEY (ZAI_API_KEY for zero-config), without "
                    "spaces or quotes.",
                    "Developer API keys: z.ai/manage-apikey; Coding Plan keys: the subscription page.",
                ]
            return
        key_env = catalog.providers[slot.provider].key_env if slot.provider in catalog.providers else ""
        d.summary = f"{label}: the provider rejects this key{tag}: {err.message}"
        d.advice = [f"Check {prefix}API_KEY{f' (or {key_env})' if key_env else ''} and that it is active."]
    elif kind is ErrorKind.CONCURRENCY:
        plan = catalog.plan_for_url(slot.base_url) if slot.provider == "zai" else None
        tier_id = slot.tier or (plan.default_tier if plan else None)
        tier = catalog.tiers.get(tier_id) if tier_id and plan and plan.id == "coding" else None
        if tier is not None:
            n = tier.max_concurrent
            d.summary = (
                f"{label}: too many concurrent requests{tag}: the Coding Plan {tier.display_name} tier "
                f"allows {n} at a time; set max concurrent requests to {n}"
            )
            d.advice = [
                f"Set {prefix}MAX_CONCURRENT={n} (max_concurrent = {n} in your profile); hunkwise then "
                "queues requests instead of being refused.",
                "Another program using the same key at the same time also counts against this limit.",
            ]
        else:
            d.summary = f"{label}: too many concurrent requests for this key{tag}"
            d.advice = [
                f"Set {prefix}MAX_CONCURRENT to a lower value (start with 5) so hunkwise queues requests.",
            ]
    elif kind is ErrorKind.QUOTA_WINDOW:
        window = "weekly" if err.code == "1310" else "5-hour"
        reset = when(err.reset_at, now) if err.reset_at else None
        resets = f"it resets at {reset}" if reset else "the provider gave no reset time"
        d.summary = f"{label}: quota exhausted: the {window} usage window is used up{tag}; {resets}"
        d.advice = [_serve_line(fallback, "until then" if reset else "until the window resets")]
    elif kind is ErrorKind.BALANCE:
        d.summary = f"{label}: insufficient balance{tag}: {err.message}"
        d.advice = [
            "Top up the account, or move this slot to a Coding Plan key.",
            _serve_line(fallback, "meanwhile"),
        ]
    elif kind is ErrorKind.PLAN_EXPIRED:
        d.summary = f"{label}: the Coding Plan has expired{tag}"
        d.advice = [
            'Renew the subscription, or use a Developer API key with plan = "developer".',
            _serve_line(fallback, "meanwhile"),
        ]
    elif kind in (ErrorKind.MODEL_NOT_FOUND, ErrorKind.PLAN_LACKS_MODEL):
        pool = None if slot.provider == "openai_compatible" else slot.provider
        d.suggestions = [m for m in catalog.suggest(slot.model, pool) if m != slot.model.lower()]
        if kind is ErrorKind.PLAN_LACKS_MODEL:
            plan = catalog.plan_for_url(slot.base_url)
            included = [c.id for c in catalog.cards if plan is not None and plan.id in c.plans]
            d.suggestions = included or d.suggestions
            d.summary = f"{label}: your plan does not include the model '{slot.model}'{tag}"
        else:
            d.summary = f"{label}: model '{slot.model}' not found{tag}"
        if d.suggestions:
            d.summary += f"; nearest catalog ids: {', '.join(d.suggestions)}"
        d.advice = [f"Set {prefix}MODEL to one of the ids above (see `hunkwise models`)."]
    elif kind is ErrorKind.NETWORK and err.code == "proxy":
        d.summary = f"{label}: the proxy failed, {slot.base_url} was not reached: {err.message}"
        d.advice = [
            "Check HTTPS_PROXY / HTTP_PROXY (host, port, credentials) and the proxy's rules for this "
            "host; `hunkwise config show` lists the proxy settings and where they came from.",
            "If this endpoint is reachable without the proxy, add its host to NO_PROXY.",
        ]
    elif kind is ErrorKind.NETWORK:
        d.summary = f"{label}: cannot reach {slot.base_url}: {err.message}"
        d.advice = ["Check the base URL, DNS, proxy and firewall settings of this machine."]
    elif kind is ErrorKind.TIMEOUT:
        d.summary = f"{label}: timeout: {err.message}"
        d.advice = [
            "The endpoint accepted the connection but did not answer; check the base URL and "
            "the provider's status page."
        ]
    elif kind in (ErrorKind.RATE, ErrorKind.OVERLOADED, ErrorKind.TRANSIENT):
        d.summary = f"{label}: the provider is busy or failing right now ({kind.value}{tag}): {err.message}"
        d.advice = [
            "This is usually temporary; hunkwise retries and fails over automatically.",
            _serve_line(fallback, "meanwhile"),
        ]
    else:  # bad request, context overflow
        d.summary = f"{label}: the provider rejected the request{tag}: {err.message}"
        d.advice = ["Check the custom thinking override and the model's parameters for this provider."]
