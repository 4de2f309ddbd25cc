"""``hunkwise models``: the catalog as this machine sees it (after config-file overrides).

Answers the questions people ask before configuring anything: which model, which plan and which
endpoint, what a million tokens costs and where that price came from, how many requests a tier
allows at once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from hunkwise.catalog.loader import Catalog, ModelCard

THINKING_STYLE = {"toggle": "on/off", "effort": "effort", "budget": "budget", "none": "—"}


def register(app: typer.Typer) -> None:
    app.command("models")(models)


def models(
    as_json: bool = typer.Option(False, "--json", help="Print the catalog as JSON."),
) -> None:
    """Model cards, Z.AI plans with their endpoints, context windows, prices and tier limits."""
    from hunkwise.cli.slot_options import friendly_errors, read_settings
    from hunkwise.config.resolve import resolve_catalog

    with friendly_errors():
        catalog = resolve_catalog(settings=read_settings())
    if as_json:
        typer.echo(json.dumps(catalog_json(catalog), indent=2))
        return
    _print_tables(catalog)


def ordered_cards(catalog: Catalog) -> list[ModelCard]:
    """Recommended first (GLM 5.1), then catalog order."""
    return sorted(catalog.cards, key=lambda c: not c.recommended)


def catalog_json(catalog: Catalog) -> dict[str, Any]:
    """Stable keys for scripts: every card with its price source/date and the plans it is on."""
    return {
        "version": catalog.version,
        "updated": catalog.updated,
        "cards": [c.model_dump(mode="json") for c in ordered_cards(catalog)],
        "plans": [
            {**p.model_dump(mode="json"), "default_max_concurrent": p.default_max_concurrent}
            for p in catalog.plans.values()
        ],
        "tiers": [t.model_dump(mode="json") for t in catalog.tiers.values()],
        "providers": [
            p.model_dump(mode="json", include={"id", "display_name", "wire", "default_base_url", "key_env"})
            for p in catalog.providers.values()
        ],
    }


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _print_tables(catalog: Catalog) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    cards = Table(title=f"Model cards (catalog {catalog.version})", title_justify="left")
    for column, justify in (
        ("Model", "left"),
        ("Name", "left"),
        ("Provider", "left"),
        ("Context", "right"),
        ("Max out", "right"),
        ("In $/1M", "right"),
        ("Out $/1M", "right"),
        ("Thinking", "left"),
        ("Plans", "left"),
    ):
        cards.add_column(column, justify=justify)  # type: ignore[arg-type]
    sources: dict[tuple[str, str], list[str]] = {}
    for card in ordered_cards(catalog):
        marker = sources.setdefault((card.price_source, card.price_date), [])
        marker.append(card.id)
        note = list(sources).index((card.price_source, card.price_date)) + 1
        star = " ★ recommended" if card.recommended else ""
        cards.add_row(
            f"[bold]{card.id}[/bold]{star}",
            card.display_name,
            catalog.providers[card.provider].display_name,
            f"{card.context_window:,}",
            f"{card.max_output_tokens:,}",
            f"{_money(card.input_price)} \\[{note}]",
            f"{_money(card.output_price)} \\[{note}]",
            f"{THINKING_STYLE[card.thinking]} (default {card.thinking_default})",
            ", ".join(card.plans) or "—",
        )
    console.print(cards)
    console.print("Price sources:", highlight=False)
    for index, ((source, date), ids) in enumerate(sources.items(), start=1):
        console.print(f"  [{index}] {source}, read {date} ({', '.join(ids)})", highlight=False, markup=False)

    plans = Table(title="Z.AI plans (a key works only on its own plan's endpoint)", title_justify="left")
    for column in ("Plan", "Endpoint (base URL)", "Billing", "Default max concurrent", "About"):
        plans.add_column(column)
    for plan in catalog.plans.values():
        cap = str(plan.default_max_concurrent) if plan.default_max_concurrent else "no cap"
        if plan.default_tier:
            cap += f" (tier {plan.default_tier})"
        plans.add_row(plan.display_name + f" ({plan.id})", plan.base_url, plan.billing, cap, plan.description)
    console.print(plans)

    tiers = Table(
        title="Coding Plan tiers (override with \\[tiers.<name>] in your config)", title_justify="left"
    )
    for column, justify in (
        ("Tier", "left"),
        ("Price/month", "right"),
        ("API value", "right"),
        ("Max concurrent", "right"),
        ("Prompts / 5 h", "right"),
        ("Prompts / week", "right"),
    ):
        tiers.add_column(column, justify=justify)  # type: ignore[arg-type]
    for tier in catalog.tiers.values():
        tiers.add_row(
            f"{tier.display_name} ({tier.id})",
            _money(tier.price_usd_month),
            f"~{tier.api_value_multiple:g}x",
            str(tier.max_concurrent),
            f"{tier.prompts_5h:,}",
            f"{tier.prompts_week:,}",
        )
    console.print(tiers)
    sources_line = "; ".join(sorted({t.source for t in catalog.tiers.values()}))
    console.print(f"Tier figures: {sources_line}", highlight=False, markup=False)
