"""``hunkwise sim``: run the offline Z.AI-compatible simulator, or self-check it.

Thin by design: parse flags, build a :class:`hunkwise.sim.SimConfig`, print what is served and
run. Everything heavy (FastAPI, uvicorn, SDKs) is imported inside the command.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import typer

TIERS = ("lite", "pro", "max")
DEMO_KEYS: tuple[tuple[str, str, str | None], ...] = (
    ("sim-dev-key-0001", "developer", None),
    ("sim-coding-lite-0001", "coding", "lite"),
    ("sim-coding-pro-0001", "coding", "pro"),
    ("sim-coding-max-0001", "coding", "max"),
    ("sim-openai-key-0001", "openai", None),
    ("sim-anthropic-key-0001", "anthropic", None),
)
_FLAG_FOR = {
    "latency_ms": "--latency-ms",
    "jitter_ms": "--jitter-ms",
    "fault_rate": "--fault-rate",
    "seed": "--seed",
    "concurrency": "--concurrency",
    "quota_5h": "--quota-5h",
    "quota_week": "--quota-week",
    "balance": "--balance",
}


def _usage_error(message: str) -> Exception:
    from hunkwise.cli.app import UsageError

    return UsageError(message)


def _coding_key(spec: str) -> dict[str, Any]:
    key, sep, tier = spec.rpartition(":") if ":" in spec else (spec, "", "")
    if not sep:
        key, tier = spec, "lite"
    tier = tier.strip().lower()
    if tier not in TIERS:
        raise _usage_error(
            f"--coding-key {spec!r}: unknown tier {tier!r}; use KEY, KEY:lite, KEY:pro or KEY:max"
        )
    if not key:
        raise _usage_error(f"--coding-key {spec!r}: the key before ':' is empty")
    return {"key": key, "kind": "coding", "tier": tier}


def _developer_key(spec: str) -> dict[str, Any]:
    """``KEY`` or ``KEY:USD``: a Developer API key, optionally with its own prepaid balance."""
    key, sep, amount = spec.rpartition(":")
    if not sep:
        return {"key": spec, "kind": "developer"}
    if not key:
        raise _usage_error(f"--developer-key {spec!r}: the key before ':' is empty")
    try:
        balance = float(amount)
    except ValueError:
        balance = math.nan
    if not 0 <= balance < math.inf:
        raise _usage_error(
            f"--developer-key {spec!r}: the balance after ':' must be an amount in USD like 5 or 2.50"
        )
    return {"key": key, "kind": "developer", "balance": balance}


def build_sim_config(
    *,
    config_file: Path | None,
    developer_keys: list[str],
    coding_keys: list[str],
    openai_keys: list[str],
    anthropic_keys: list[str],
    flags: dict[str, Any],
    force_errors: list[str] | None = None,
) -> tuple[Any, bool]:
    """Merge ``--config`` and flags (flags win) into a SimConfig; returns ``(config, demo_keys)``
    where ``demo_keys`` says the standard demo keys were used because none were given."""
    from hunkwise.sim.config import SimConfigError, build_config, load_config_file

    data: dict[str, Any] = {}
    if config_file is not None:
        try:
            data = load_config_file(config_file)
        except SimConfigError as exc:
            raise _usage_error(str(exc)) from None
    keys = list(data.get("keys", []))
    keys += [_developer_key(spec) for spec in developer_keys]
    keys += [_coding_key(spec) for spec in coding_keys]
    keys += [{"key": k, "kind": "openai"} for k in openai_keys]
    keys += [{"key": k, "kind": "anthropic"} for k in anthropic_keys]
    demo = not keys
    if demo:
        keys = [{"key": k, "kind": kind, **({"tier": t} if t else {})} for k, kind, t in DEMO_KEYS]
    for spec in force_errors or []:
        _force_error(keys, spec)
    data["keys"] = keys
    data.update({name: value for name, value in flags.items() if value is not None})
    where = f"simulator settings ({config_file})" if config_file else "simulator settings"
    try:
        return build_config(data, where), demo
    except SimConfigError as exc:
        message = str(exc)
        for field, flag in _FLAG_FOR.items():
            # Top-level settings only: "keys.0.balance" is the config file's, not a flag.
            message = re.sub(rf"(?<![.\w]){field}: ", f"{flag}: ", message)
        raise _usage_error(message) from None


def _force_error(keys: list[dict[str, Any]], spec: str) -> None:
    """``KEY:CODE``: make one configured Coding Plan key answer every chat request with CODE."""
    from hunkwise.sim.config import FORCED_ERRORS

    key, _, code = spec.rpartition(":")
    if not key or code not in FORCED_ERRORS:
        raise _usage_error(
            f"--force-error {spec!r}: expected KEY:CODE with CODE one of {', '.join(FORCED_ERRORS)}"
        )
    for entry in keys:
        if entry.get("key") == key:
            entry["force_error"] = code
            return
    raise _usage_error(f"--force-error {spec!r}: no such key; add it with --coding-key first")


def _print_served(server: Any, demo: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]hunkwise simulator[/bold] listening on {server.base_url}  (Ctrl-C to stop)")
    # Plain lines, not a table: URLs must never be cut to fit a narrow terminal.
    for label, url, kind in (
        ("Z.AI Developer API", server.zai_developer_url, "developer keys"),
        ("Z.AI Coding Plan  ", server.zai_coding_url, "coding keys"),
        ("OpenAI-style      ", server.openai_url, "openai keys"),
        ("Anthropic-style   ", server.anthropic_url, "anthropic keys (x-api-key)"),
        ("introspection     ", server.base_url + "/_sim/stats", "no key"),
    ):
        console.print(f"  {label}  {url}  [dim]({kind})[/dim]", soft_wrap=True)
    keys = Table(
        "key (simulator only, not a secret)", "kind", "tier", "concurrency", "prompts 5h / week", "balance"
    )

    def show(value: int | None) -> str:
        return "unlimited" if value is None else str(value)

    for key in server.config.keys:
        limits = server.config.limits_for(key)
        coding = key.kind == "coding"  # windows for a subscription, a balance for pay-per-token
        keys.add_row(
            key.key,
            key.kind,
            key.effective_tier or "-",
            show(limits.concurrency),
            f"{show(limits.quota_5h)} / {show(limits.quota_week)}" if coding else "-",
            "-" if coding else ("unlimited" if limits.balance is None else f"${limits.balance:,.2f}"),
        )
    console.print(keys)
    if demo:
        console.print("No keys given: serving the demo keys above (see --developer-key/--coding-key).")
    cfg = server.config
    console.print(
        f"latency {cfg.latency_ms:g}±{cfg.jitter_ms:g} ms, fault rate {cfg.fault_rate:g}, seed {cfg.seed}"
    )
    console.print(
        "[dim]hunkwise pointed at this URL records its calls as real usage (a server is a server); "
        "`hunkwise review --offline` records them as simulated. See docs/simulator.md.[/dim]"
    )


def _self_check() -> None:
    from rich.console import Console
    from rich.table import Table

    from hunkwise.sim.selfcheck import run_self_check

    checks = run_self_check()
    table = Table("check", "result", "detail", title="hunkwise simulator self-check")
    for c in checks:
        table.add_row(c.name, "[green]pass[/green]" if c.passed else "[red]FAIL[/red]", c.detail)
    Console().print(table)
    failed = [c for c in checks if not c.passed]
    if failed:
        typer.secho(f"{len(failed)} of {len(checks)} checks failed", err=True, fg="red")
        raise typer.Exit(1)
    typer.secho(f"all {len(checks)} checks passed", fg="green")


def register(app: typer.Typer) -> None:
    @app.command("sim")
    def sim(
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
        port: int = typer.Option(8765, "--port", help="Port to listen on (0 = any free port)."),
        developer_key: list[str] = typer.Option(
            [],
            "--developer-key",
            help="Z.AI Developer API key as KEY[:USD], USD its own prepaid balance (repeatable).",
        ),
        coding_key: list[str] = typer.Option(
            [], "--coding-key", help="Z.AI Coding Plan key as KEY[:TIER], TIER lite|pro|max (repeatable)."
        ),
        openai_key: list[str] = typer.Option(
            [], "--openai-key", help="Key for /v1/chat/completions (repeatable)."
        ),
        anthropic_key: list[str] = typer.Option(
            [], "--anthropic-key", help="Key for /v1/messages (repeatable)."
        ),
        latency_ms: float | None = typer.Option(None, "--latency-ms", help="Mean service time per request."),
        jitter_ms: float | None = typer.Option(
            None, "--jitter-ms", help="Uniform jitter around --latency-ms."
        ),
        fault_rate: float | None = typer.Option(
            None, "--fault-rate", help="Fraction of requests given a fault."
        ),
        seed: int | None = typer.Option(None, "--seed", help="Seed for faults and jitter (reproducible)."),
        concurrency: int | None = typer.Option(
            None, "--concurrency", help="Override every key's concurrency."
        ),
        quota_5h: int | None = typer.Option(
            None, "--quota-5h", help="Prompts per rolling 5 hours, for every Coding Plan key (only)."
        ),
        quota_week: int | None = typer.Option(
            None, "--quota-week", help="Prompts per rolling week, for every Coding Plan key (only)."
        ),
        balance: float | None = typer.Option(
            None,
            "--balance",
            help="Prepaid USD of every pay-per-token key (developer, OpenAI, Anthropic), spent at "
            "catalog prices; then 1113 / insufficient_quota.",
        ),
        peak_multiplier: bool | None = typer.Option(
            None,
            "--peak-multiplier/--promotion",
            help="GLM-5.1/GLM-5-Turbo prompts count 3x at peak (14-18 UTC+8) and 2x off-peak "
            "(2026 FAQ); --promotion (the default) counts every prompt once.",
        ),
        monitor_usage_fields: bool | None = typer.Option(
            None,
            "--monitor-usage-fields/--monitor-percentage-only",
            help="Whether the quota monitor adds usage/currentValue/remaining to percentage.",
        ),
        force_error: list[str] = typer.Option(
            [],
            "--force-error",
            help="KEY:CODE, CODE 1309|1313|1316|1317: that coding key answers every chat request "
            "with it (repeatable).",
        ),
        config: Path | None = typer.Option(None, "--config", help="sim.toml with the same settings per key."),
        self_check: bool = typer.Option(
            False, "--self-check", help="Start a private simulator, test it, exit."
        ),
    ) -> None:
        """Run the offline Z.AI-compatible simulator (plus OpenAI- and Anthropic-style endpoints)."""
        if self_check:
            _self_check()
            return
        if not 0 <= port <= 65535:
            raise _usage_error(f"--port: {port} is not a valid port (0-65535)")
        flags = {
            "latency_ms": latency_ms,
            "jitter_ms": jitter_ms,
            "fault_rate": fault_rate,
            "seed": seed,
            "concurrency": concurrency,
            "quota_5h": quota_5h,
            "quota_week": quota_week,
            "balance": balance,
            "peak_multiplier": peak_multiplier,
            "monitor_usage_fields": monitor_usage_fields,
        }
        cfg, demo = build_sim_config(
            config_file=config,
            developer_keys=developer_key,
            coding_keys=coding_key,
            openai_keys=openai_key,
            anthropic_keys=anthropic_key,
            flags=flags,
            force_errors=force_error,
        )
        from hunkwise.sim.server import SimulatorServer

        server = SimulatorServer(cfg, host=host, port=port)
        try:
            server.start()
        except OSError as exc:
            raise _usage_error(f"{exc}; pick another --port (or 0 for any free port)") from None
        _print_served(server, demo)
        server.serve_forever()
