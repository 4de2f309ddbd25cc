"""What the Models page needs from the catalog and the store, as one JSON-safe dict.

The page's script only *displays* catalog facts (a plan's endpoint, a tier's concurrency); every
decision (validation, resolution, the request body preview, the connection test) is a server
call, so the browser never disagrees with the gateway.
"""

from __future__ import annotations

from typing import Any

from hunkwise.catalog.loader import Catalog, load_catalog
from hunkwise.server.schemas import ByokPublic

MANUAL_PROVIDERS: tuple[str, ...] = ("openai_compatible", "openai", "anthropic")


def catalog_state(catalog: Catalog | None = None) -> dict[str, Any]:
    catalog = catalog or load_catalog()
    cards = sorted(catalog.cards, key=lambda c: (not c.recommended, not c.default))
    return {
        "cards": [
            {
                "id": c.id,
                "name": c.display_name,
                "provider": c.provider,
                "provider_name": catalog.providers[c.provider].display_name,
                "recommended": c.recommended,
                "context_window": c.context_window,
                "input_price": c.input_price,
                "output_price": c.output_price,
                "price_date": c.price_date,
                "price_source": c.price_source,
                "plans": list(c.plans),
                "thinking_default": c.thinking_default,
                "summary": c.summary,
            }
            for c in cards
        ],
        "plans": {
            p.id: {
                "id": p.id,
                "name": p.display_name,
                "description": p.description,
                "base_url": p.base_url,
                "path": p.path,
                "max_concurrent": p.default_max_concurrent or None,
                "default_tier": p.default_tier,
            }
            for p in catalog.plans.values()
        },
        "tiers": {
            t.id: {
                "id": t.id,
                "name": t.display_name,
                "max_concurrent": t.max_concurrent,
                "prompts_5h": t.prompts_5h,
                "prompts_week": t.prompts_week,
                "price": t.price_usd_month,
            }
            for t in catalog.tiers.values()
        },
        "providers": {
            pid: {
                "id": pid,
                "name": p.display_name,
                "base_url": p.default_base_url,
                "namespace": p.namespace,
            }
            for pid, p in catalog.providers.items()
        },
        "manual_providers": list(MANUAL_PROVIDERS),
    }


def models_state(byok: ByokPublic) -> dict[str, Any]:
    """The page's initial state: the catalog plus the saved slots (keys masked by the API shape)."""
    saved = {}
    for role in ("main", "fallback"):
        slot = getattr(byok, role)
        saved[role] = None if slot is None else slot.model_dump(mode="json")
    return {
        "catalog": catalog_state(),
        "mode": byok.mode,
        "read_only": byok.read_only,
        "saved": saved,
        "org": byok.org,
    }
