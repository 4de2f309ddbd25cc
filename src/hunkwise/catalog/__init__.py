"""The catalog: providers, model cards, Z.AI plans and tiers, prices and error codes.

Data lives in ``data/catalog.toml``; this package only loads and looks it up. Every other layer
reads provider facts from here, never from constants of its own.
"""

from hunkwise.catalog.loader import (
    Catalog,
    ErrorCode,
    ModelCard,
    Plan,
    Provider,
    Tier,
    load_catalog,
)

__all__ = ["Catalog", "ErrorCode", "ModelCard", "Plan", "Provider", "Tier", "load_catalog"]
