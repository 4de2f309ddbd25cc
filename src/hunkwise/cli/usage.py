"""``hunkwise usage``: what the configured models cost, and how close Coding Plan windows are.

Named like :mod:`hunkwise.server.routes.usage` on purpose: cli modules are named after their
command, route modules after their resource (the same view over HTTP).

Thin on purpose: parse options, ask the store, print. Heavy imports (SQLAlchemy, Rich tables)
happen inside the command so ``hunkwise --help`` stays fast.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from hunkwise.config.proxies import Network
    from hunkwise.config.settings import Settings
    from hunkwise.gateway import MonitorResult, Slot
    from hunkwise.store.budget import Burn
    from hunkwise.store.capacity import CredentialCapacity, WindowCapacity
    from hunkwise.store.db import Db
    from hunkwise.store.ledger import UsageRow, UsageSummary
    from hunkwise.store.windows import WindowCount

EMPTY_MESSAGE = (
    "No usage recorded yet. Run `hunkwise review` (or `hunkwise review --offline`) and its "
    "calls, tokens and cost will show up here."
)


def register(app: typer.Typer) -> None:
    app.command("usage")(usage)


def usage(
    since: str | None = typer.Option(
        None, "--since", help="Only usage since then: 7d, 24h, 30m, 2w, or a date like 2026-11-01 (UTC)."
    ),
    by: str = typer.Option("model", "--by", help="Group rows by model, day (UTC) or slot."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON with stable keys instead of a table."),
    windows: bool = typer.Option(
        False,
        "--windows",
        help="Also show Coding Plan windows: prompts left (Z.AI's quota monitor, else the ledger), the "
        "peak-hour multiplier in force and when the window runs out at the last hour's rate.",
    ),
    include_simulated: bool = typer.Option(
        False,
        "--include-simulated",
        help="Also show calls served by the simulator (review --offline), labelled, apart from real spend.",
    ),
    org: str | None = typer.Option(
        None,
        "--org",
        help="Also show this organization's monthly budget: spent, reserved, budget and % used this "
        "month (UTC). Read from a server's database (HUNKWISE_DATABASE_URL).",
    ),
) -> None:
    """Totals, cost and failovers from the usage ledger; Coding Plan windows with --windows.

    With --windows, the configured Coding Plan keys are also looked up in Z.AI's quota monitor
    (HUNKWISE_QUOTA_MONITOR=off to skip it). Calls served by hunkwise's simulator cost nothing and
    are left out unless --include-simulated.
    """
    from hunkwise.errors import ConfigurationError
    from hunkwise.store.ledger import GROUPINGS, parse_since

    now = datetime.now(UTC)
    try:
        start = parse_since(since, now) if since is not None else None
    except ValueError as exc:
        _fail(str(exc))
    if by not in GROUPINGS:
        _fail(f"--by must be one of {', '.join(GROUPINGS)}; got {by!r}")
    try:
        _run(
            start, by, as_json=as_json, windows=windows, include_simulated=include_simulated, now=now, org=org
        )
    except ConfigurationError as exc:
        from hunkwise.cli.slot_options import error_lines

        *first, last = error_lines(exc)
        for line in first:
            typer.secho(f"error: {line}", err=True, fg="red")
        _fail(last)


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg="red")
    raise typer.Exit(2)


def _run(
    since: datetime | None,
    by: Any,
    *,
    as_json: bool,
    windows: bool,
    include_simulated: bool,
    now: datetime,
    org: str | None = None,
) -> None:
    from rich.console import Console

    from hunkwise.config.settings import Settings
    from hunkwise.store.db import database_url, open_store, sqlite_file_missing
    from hunkwise.store.ledger import usage_summary

    console = Console(highlight=False)
    settings = Settings.from_env()
    url = database_url(settings)
    if org is not None:
        from hunkwise.store.orgs import normalize_slug

        org = normalize_slug(org, setting="--org")
    if sqlite_file_missing(url):
        # Never create a database just to say it is empty.
        if as_json:
            typer.echo(json.dumps(_empty_json(since, by, windows, include_simulated), indent=2))
        else:
            console.print(EMPTY_MESSAGE)
        return
    engine = open_store(url)
    try:
        summary = usage_summary(engine, since=since, by=by, include_simulated=include_simulated)
        window_list = None
        if windows:
            window_list = _capacities(engine, settings, now, include_simulated=include_simulated)
        burn = _burn(engine, settings, org, now) if org is not None else None
    finally:
        engine.dispose()

    if as_json:
        payload = summary.as_dict()
        payload["windows"] = None if window_list is None else [w.as_dict() for w in window_list]
        if org is not None:
            payload["budget"] = None if burn is None else burn.as_dict()
        typer.echo(json.dumps(payload, indent=2))
        return
    if burn is not None:
        _print_burn(console, burn)
    if summary.empty and not summary.has_simulated and since is None and not window_list:
        console.print(EMPTY_MESSAGE)
        return
    _print_summary(console, summary)
    if window_list is not None:
        _print_windows(console, window_list, now)


def _capacities(
    engine: Db, settings: Settings, now: datetime, *, include_simulated: bool
) -> list[CredentialCapacity]:
    """Every Coding Plan credential the ledger saw this week or the configuration names, merged
    with what Z.AI's quota monitor says about the configured ones."""
    from hunkwise.config.resolve import resolve_catalog
    from hunkwise.store.capacity import ledger_capacity
    from hunkwise.store.windows import coding_plan_windows

    # The user's [tiers.<name>] overrides set the ceilings, as they do for the gateway.
    catalog = resolve_catalog(settings=settings)
    seen = [
        w.credential_id
        for w in coding_plan_windows(engine, now, catalog=catalog, include_simulated=include_simulated)
    ]
    slots = _coding_slots(settings)
    readings = _read_monitor(slots, enabled=settings.quota_monitor, network=settings.network)
    credentials = seen + [c for c in slots if c not in seen]
    return [
        ledger_capacity(
            engine,
            credential,
            now,
            monitor=readings.get(credential),
            model=slots[credential].model if credential in slots else None,
            tier=slots[credential].tier if credential in slots else None,
            catalog=catalog,
            include_simulated=include_simulated,
        )
        for credential in credentials
    ]


def _coding_slots(settings: Settings) -> dict[str, Slot]:
    """The configured Coding Plan slots with a key, by credential; none when the configuration
    does not resolve (``usage`` must work without a model configured)."""
    from hunkwise.config.resolve import resolve_config
    from hunkwise.errors import ConfigurationError
    from hunkwise.gateway import has_monitor

    try:
        resolved = resolve_config(settings=settings, require_key=False)
    except ConfigurationError:
        return {}
    return {s.credential_id: s for s in resolved.slots if has_monitor(s) and s.api_key}


def _read_monitor(slots: dict[str, Slot], *, enabled: bool, network: Network) -> dict[str, MonitorResult]:
    """One monitor reading per configured Coding Plan slot, never raising (advisory); through the
    configured proxy and CA bundle."""
    import asyncio

    from hunkwise.config.outbound import sdk_transports
    from hunkwise.gateway import QuotaMonitor

    if not slots:
        return {}

    async def read_all() -> dict[str, MonitorResult]:
        monitor = QuotaMonitor(enabled=enabled, transport_factory=sdk_transports(network))
        try:
            return {credential: await monitor.read(slot) for credential, slot in slots.items()}
        finally:
            await monitor.aclose()

    return asyncio.run(read_all())


def _burn(engine: Any, settings: Any, org: str, now: datetime) -> Burn:
    from hunkwise.config.review_settings import server_config_files, server_monthly_budget
    from hunkwise.store.budget import burn
    from hunkwise.store.orgs import monthly_budget_for_org

    default = server_monthly_budget(settings, server_config_files(settings))
    budget = monthly_budget_for_org(engine, org, default)
    return burn(engine, org, budget, now=now)


def _print_burn(console: Console, b: Burn) -> None:
    """One line per fact, the same figures as the console's and ``GET /api/orgs/{org}/budget``."""
    budget = "no budget" if b.budget_usd is None else f"budget ${b.budget_usd:,.2f} ({b.source})"
    console.print(
        f"[bold]{b.org}[/bold], {b.month} (UTC): ${b.spent_usd:.4f} spent, ${b.reserved_usd:.4f} reserved "
        f"by {b.reservations} running review(s); {budget}"
        + ("" if b.percent is None else f", {b.percent:.0f}% used")
    )
    if b.exhausted:
        console.print("[red]The monthly budget is reached: new reviews are not run until it is raised.[/red]")
    elif b.warning:
        console.print(f"[yellow]{b.percent:.0f}% of the monthly budget is used.[/yellow]")


def _empty_json(since: datetime | None, by: Any, windows: bool, include_simulated: bool) -> dict[str, Any]:
    from hunkwise.store.ledger import UsageRow, UsageSummary

    empty = UsageSummary(
        since=since, by=by, runs=0, rows=[], total=UsageRow(key="total"), include_simulated=include_simulated
    )
    return {**empty.as_dict(), "windows": [] if windows else None}


def _print_summary(console: Console, summary: UsageSummary) -> None:
    from rich.table import Table

    period = f"since {_when(summary.since)}" if summary.since else "all time"
    hidden = summary.has_simulated and not summary.include_simulated
    if summary.empty and not (summary.include_simulated and summary.has_simulated):
        if hidden:
            console.print(f"No real calls {_period_phrase(summary)}; {_hidden(summary)}.")
        else:
            console.print(f"No usage recorded {period}.")
        return
    table = Table(title=f"Usage {period}, by {summary.by}", title_justify="left")
    table.add_column(summary.by)
    # Reasoning and cached tokens are in the JSON output; output tokens already include reasoning.
    for name in ("calls", "input", "output", "USD", "failovers"):
        table.add_column(name, justify="right")
    table.add_column("errors", overflow="fold")
    real = [r for r in summary.rows if not r.simulated]
    blocks = [(real, summary.total)]
    if summary.include_simulated and summary.has_simulated:
        # Their own block under their own total: never summed into what was really spent.
        blocks.append(([r for r in summary.rows if r.simulated], summary.simulated))
    for rows, total in blocks:
        for row in [*rows, total]:
            table.add_row(
                _label(row),
                f"{row.calls:,}",
                _compact(row.input_tokens),
                _compact(row.output_tokens),
                f"{row.cost_usd:.4f}",
                f"{row.failovers:,}",
                ", ".join(f"{n} {kind}" for kind, n in sorted(row.errors.items())) or "-",
                style="bold" if row is total else None,
                end_section=row is total or (bool(rows) and row is rows[-1]),
            )
    console.print(table)
    t = summary.total
    shown = summary.include_simulated and summary.has_simulated
    line = (
        f"{summary.runs:,} review run(s), {t.calls:,} call(s), ${t.cost_usd:.4f}, {t.failovers:,} failover(s)"
    )
    console.print(f"real: {line}" if shown else line)
    if shown:
        s = summary.simulated
        console.print(
            f"simulated (no money spent, not in the totals above): {summary.simulated_runs:,} review "
            f"run(s), {s.calls:,} call(s), ${s.cost_usd:.4f} at catalog prices"
        )
    elif hidden:
        console.print(f"[dim]{_hidden(summary)}[/dim]")


_SIM_MARK = " (simulated)"


def _label(row: UsageRow) -> str:
    """Simulated rows carry their mark in the first column, where the eye starts."""
    if not row.simulated:
        return row.key
    return "total" + _SIM_MARK if row.key == "simulated" else row.key + _SIM_MARK


def _period_phrase(summary: UsageSummary) -> str:
    return f"since {_when(summary.since)}" if summary.since else "recorded"


def _hidden(summary: UsageSummary) -> str:
    runs = f" from {summary.simulated_runs:,} offline review run(s)" if summary.simulated_runs else ""
    return f"{summary.simulated.calls:,} simulated call(s){runs} hidden (--include-simulated to show them)"


def _print_windows(console: Console, windows: list[CredentialCapacity], now: datetime) -> None:
    from rich.table import Table

    if not windows:
        console.print("No Coding Plan calls in the last 7 days, so no window is in use.")
        return
    table = Table(title="Coding Plan windows", title_justify="left")
    table.add_column("credential", overflow="fold")
    for name in ("tier", "now", "5 hours sent", "5 hours left", "week sent", "week left"):
        table.add_column(name, no_wrap=True)
    for c in windows:
        w = c.ledger
        table.add_row(
            f"{w.fingerprint}{_SIM_MARK if w.simulated else ''}\n{_host(w.base_url)}\n{', '.join(w.models)}",
            w.tier,
            f"x{c.multiplier}\n{'peak' if c.peak else 'off-peak'}",
            _used(w.five_hour),
            _left(c.five_hour, now),
            _used(w.week),
            _left(c.week, now),
        )
    console.print(table)
    for c in windows:
        w = c.ledger
        for label, count in (("5-hour", w.five_hour), ("weekly", w.week)):
            if count.exhausted:
                console.print(
                    f"[red]exhausted:[/] {label} window of {w.fingerprint} ({w.tier}) is at "
                    f"{count.used}/{count.limit}; back under the ceiling "
                    f"{_relative(count.available_at, now)}. Calls fail over until then."
                )
            elif count.warning:
                console.print(
                    f"[yellow]warning:[/] {label} window of {w.fingerprint} ({w.tier}) is at "
                    f"{_percent(count)} ({count.used}/{count.limit}); the oldest prompt leaves it "
                    f"{_relative(count.resets_at, now)}."
                )
        for label, cap in (("5-hour", c.five_hour), ("weekly", c.week)):
            if cap.forecast.prompts_last_hour or cap.remaining == 0:
                console.print(f"forecast: {label} window of {w.fingerprint}: {cap.forecast.message()}.")
        if c.monitor_diagnosis:
            console.print(f"[dim]quota monitor for {w.fingerprint}: {c.monitor_diagnosis}[/dim]")
        for note in c.notes:
            console.print(f"[yellow]note:[/] {w.fingerprint}: {note}")
        if w.last_quota_error_at:
            console.print(
                f"[red]note:[/] Z.AI reported a spent quota window for {w.fingerprint} "
                f"{_relative(w.last_quota_error_at, now)}."
            )
    console.print(
        f"'sent' counts prompts sent by hunkwise only; 'left' is Z.AI's quota monitor where it answered "
        f"(monitor), else the catalog tier's ceiling minus what hunkwise sent weighted by the peak-hour "
        f"multiplier (ledger). 'now' is how many prompts one request to the key's model counts for "
        f"at this hour (peak hours: {windows[0].peak_hours})."
    )


def _left(cap: WindowCapacity, now: datetime) -> str:
    left = "?" if cap.remaining is None else f"{cap.remaining:,}"
    return f"{left} ({cap.source})\nresets {_in(cap.resets_at, now)}"


def _used(count: WindowCount) -> str:
    limit = "?" if count.limit is None else f"{count.limit:,}"
    text = f"{count.used:,}/{limit}\n{_percent(count)}"
    if count.exhausted:
        return f"[red]{text}[/]"
    return f"[yellow]{text}[/]" if count.warning else text


def _percent(count: WindowCount) -> str:
    return "?" if count.fraction is None else f"{count.fraction * 100:.0f}%"


def _host(base_url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(base_url).netloc or base_url or "?"


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %Z")


def _compact(n: int) -> str:
    """Token counts at a glance (1.3M, 99.8k); the JSON output keeps exact numbers."""
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if abs(n) >= size:
            return f"{n / size:.1f}{suffix}"
    return str(n)


def _in(moment: datetime | None, now: datetime) -> str:
    return "-" if moment is None else _span(moment - now)


def _span(delta: timedelta) -> str:
    seconds = int(abs(delta).total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [f"{days}d"] if days else []
    if hours or days:
        parts.append(f"{hours}h")
    if not days:
        parts.append(f"{minutes}m")
    text = " ".join(parts)
    return f"in {text}" if delta >= timedelta(0) else f"{text} ago"


def _relative(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    local = moment.astimezone().strftime("%a %H:%M")
    return f"at {local} ({_span(moment - now)})"
