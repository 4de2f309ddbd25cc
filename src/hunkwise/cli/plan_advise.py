"""``hunkwise plan advise``: Developer API or a Coding Plan tier, priced from the usage ledger.

Thin on purpose: parse options, read the period's calls from the store, hand them to the pure
advisor (:func:`hunkwise.catalog.plan_advice.advise`), print. Heavy imports happen inside the
command so ``hunkwise --help`` stays fast.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from hunkwise.catalog.plan_advice import PlanAdvice

plan_app = typer.Typer(
    name="plan",
    help="Choose between Z.AI's Developer API and a GLM Coding Plan tier, by cost.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(plan_app, name="plan")


@plan_app.command("advise")
def advise_command(
    since: str = typer.Option(
        "30d", "--since", help="The period: 30d, 2w, 24h, or a date like 2026-11-01 (UTC), until now."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON with stable keys instead of text."),
    fallback: str | None = typer.Option(
        None,
        "--fallback",
        help="Price what a tier's windows would refuse at this catalog model (default: each call's own "
        "Developer API price).",
    ),
    org: str | None = typer.Option(
        None, "--org", help="Only the calls of this organization's reviews (server installs)."
    ),
) -> None:
    """What the period's real calls cost on the Developer API and would cost on each Coding Plan tier
    (fee prorated, windows replayed with the peak-hour multiplier, spill priced), and which to choose.

    Calls served by hunkwise's simulator are never counted.
    """
    from hunkwise.errors import ConfigurationError
    from hunkwise.store.ledger import parse_since

    now = datetime.now(UTC)
    try:
        start = parse_since(since, now)
    except ValueError as exc:
        _fail(str(exc))
    try:
        advice = _advice(start, now, fallback=fallback, org=org)
    except ValueError as exc:
        _fail(str(exc))
    except ConfigurationError as exc:
        from hunkwise.cli.slot_options import error_lines

        *first, last = error_lines(exc)
        for line in first:
            typer.secho(f"error: {line}", err=True, fg="red")
        _fail(last)
    if as_json:
        typer.echo(json.dumps(advice.as_dict(), indent=2))
        return
    from rich.console import Console

    print_advice(Console(highlight=False), advice)


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg="red")
    raise typer.Exit(2)


def _advice(start: datetime, end: datetime, *, fallback: str | None, org: str | None) -> PlanAdvice:
    from hunkwise.catalog.plan_advice import advise
    from hunkwise.config.resolve import resolve_catalog
    from hunkwise.config.settings import Settings
    from hunkwise.store.db import database_url, open_store, sqlite_file_missing
    from hunkwise.store.ledger import advice_calls, org_run_ids

    settings = Settings.from_env()
    # The user's [models]/[tiers]/[peak_hours] overrides set the prices and ceilings.
    catalog = resolve_catalog(settings=settings)
    url = database_url(settings)
    if sqlite_file_missing(url):  # never create a database just to say it is empty
        return advise([], catalog, start=start, end=end, fallback_model=fallback)
    engine = open_store(url)
    try:
        run_ids = org_run_ids(engine, org.strip().lower()) if org else None
        calls = advice_calls(engine, start, end, run_ids=run_ids)
    finally:
        engine.dispose()
    return advise(calls, catalog, start=start, end=end, fallback_model=fallback)


def print_advice(console: Console, a: PlanAdvice) -> None:
    """The human reading: the recommendation first, then the figures behind it and their sources."""
    from rich.table import Table

    period = f"{a.start:%Y-%m-%d %H:%M} to {a.end:%Y-%m-%d %H:%M} UTC ({a.days:.1f} days)"
    console.print(f"[bold]Plan advice[/] for {period}")
    console.print(a.summary)
    if a.empty:
        return
    table = Table(title="Options over the period", title_justify="left")
    for name in ("option", "fee", "spilled to Fallback", "busiest 5 h", "busiest week", "total", "per month"):
        table.add_column(name, justify="left" if name == "option" else "right")
    per_month = 365.25 / 12 / a.days
    table.add_row(
        "Developer API",
        "-",
        "-",
        "-",
        "-",
        f"${a.developer_total_usd:.2f}",
        f"${a.developer_total_usd * per_month:.2f}",
        style="bold" if a.recommendation == "developer" else None,
    )
    for t in a.tiers:
        spill = "held" if t.holds else f"{t.spilled_calls} (${t.spilled_cost_usd:.2f})"
        table.add_row(
            f"Coding Plan {t.tier.display_name}",
            f"${t.fee_period_usd:.2f} (${t.tier.price_usd_month:g}/mo)",
            spill,
            f"{t.peak_5h_used:g}/{t.tier.prompts_5h}",
            f"{t.peak_week_used:g}/{t.tier.prompts_week}",
            f"${t.total_usd:.2f}",
            f"${t.total_usd * per_month:.2f}",
            style="bold" if a.recommendation == t.tier.id else None,
        )
    console.print(table)
    d = a.as_dict()
    console.print(
        f"{d['calls']['real']} real call(s), ledger total ${a.ledger_cost_usd:.4f}"
        + (f"; {d['calls']['simulated_ignored']} simulated call(s) ignored" if a.simulated_calls else "")
    )
    for note in a.notes:  # other providers, unpriced rows
        console.print(f"[yellow]note:[/] {note}")
    console.print("[dim]Assumptions:[/]")
    for note in a.assumptions:
        console.print(f"[dim]- {note}[/]")
    console.print("[dim]Sources:[/]")
    for s in a.sources:
        console.print(f"[dim]- {s['what']} ({s['source']}, {s['date']})[/]")
