"""``hunkwise test``: probe every configured slot with one tiny request and say what to fix.

Named ``probe`` because a module called ``test`` would be collected by pytest. The diagnosis
words come from :mod:`hunkwise.gateway.probe` (shared with the web console); this module adds
where each setting came from, because "this is a Coding Plan key" is only useful next to "your
plan came from HUNKWISE_PLAN".

Behind a proxy (docs/proxies.md) each line says which proxy the probe went through, and a
failure of the proxy itself (unreachable, ``407``, ``403``) is diagnosed as the proxy's, not the
endpoint's: the probe's clients are built from the same ``Settings.network`` as every command's.

Named like :mod:`hunkwise.gateway.probe` on purpose: this command is the CLI face of that probe.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from hunkwise.cli.slot_options import ModelChoice, with_model_options

if TYPE_CHECKING:
    from hunkwise.config.proxies import Network
    from hunkwise.config.resolve import ResolvedConfig
    from hunkwise.gateway import Diagnosis, Slot


def register(app: typer.Typer) -> None:
    app.command("test")(with_model_options(test_connection))


def test_connection(
    as_json: bool = typer.Option(False, "--json", help="Print the diagnoses as JSON."),
    timeout: float = typer.Option(15.0, "--timeout", min=1.0, max=120.0, help="Seconds to wait per probe."),
    *,
    models: ModelChoice,
) -> None:
    """Probe each configured slot (no retries, short timeout) and diagnose failures.

    Exit code 0 only when every slot is usable, 1 otherwise, 2 for a configuration error.
    """
    from hunkwise.cli.slot_options import (
        friendly_errors,
        print_notes,
        read_settings,
        resolve,
    )

    with friendly_errors():
        flags = models.flags()
        settings = read_settings()
        cfg = resolve(models.profile, flags, settings=settings)
    print_notes(cfg.notes)
    import asyncio

    network = settings.network
    diagnoses = asyncio.run(_probe(cfg, timeout, network))
    name_proxies(cfg, diagnoses, network)
    ok = all(d.ok for d in diagnoses)
    if as_json:
        typer.echo(json.dumps(report_json(cfg, diagnoses, network), indent=2))
    else:
        if network.configured:
            typer.secho(f"network: {'; '.join(network.describe())}", dim=True)
        _print_report(cfg, diagnoses)
    raise typer.Exit(0 if ok else 1)


async def _probe(cfg: ResolvedConfig, timeout_s: float, network: Network) -> list[Diagnosis]:
    from hunkwise.config.outbound import sdk_transports
    from hunkwise.gateway import ClientPool, probe_slots

    factory = sdk_transports(network)
    pool = ClientPool(transport_factory=factory) if factory is not None else None
    try:
        return await probe_slots(cfg.slots, timeout_s=timeout_s, clients=pool)
    finally:
        if pool is not None:
            await pool.aclose()


def name_proxies(cfg: ResolvedConfig, diagnoses: list[Diagnosis], network: Network) -> None:
    """Each summary says which proxy its probe went through (``via proxy http://proxy:3128``,
    credentials masked), by the same routing decision the transport made."""
    for slot, d in zip(cfg.slots, diagnoses, strict=True):
        proxy = network.proxy_for(slot.base_url)
        if proxy is not None:
            d.summary += f" (via proxy {proxy.masked})"


def report_json(
    cfg: ResolvedConfig, diagnoses: list[Diagnosis], network: Network | None = None
) -> dict[str, Any]:
    from hunkwise.config.proxies import Network
    from hunkwise.config.slots import slot_summary

    network = network or Network()
    return {
        "ok": all(d.ok for d in diagnoses),
        "slots": [
            {
                **d.as_dict(),
                "config": slot_summary(s),
                "sources": _sources_for(cfg, s.name),
                "proxy": proxy.masked if (proxy := network.proxy_for(s.base_url)) else None,
            }
            for s, d in zip(cfg.slots, diagnoses, strict=True)
        ],
        "notes": cfg.notes,
        "profile": cfg.profile,
        "fixed_mode": cfg.fixed_mode,
        "network": network.describe(),
    }


def _sources_for(cfg: ResolvedConfig, slot: str) -> dict[str, str]:
    prefix = f"{slot}."
    return {k[len(prefix) :]: v for k, v in cfg.sources.items() if k.startswith(prefix)}


def _describe(slot: Slot, sources: dict[str, str]) -> str:
    plan = f" · plan {slot.plan}" + (f"/{slot.tier}" if slot.tier else "") if slot.plan else ""
    cap = slot.max_concurrent if slot.max_concurrent is not None else "no cap"
    key = sources.get("api_key", "config")
    return f"{slot.base_url}{plan} · max concurrent {cap} · key {slot.api_key.masked()} ({key})"


def _print_report(cfg: ResolvedConfig, diagnoses: list[Diagnosis]) -> None:
    for slot, d in zip(cfg.slots, diagnoses, strict=True):
        mark, colour = ("✓", "green") if d.ok else ("✗", "red")
        typer.secho(f"{mark} {d.summary}", fg=colour)
        typer.secho(f"    {_describe(slot, _sources_for(cfg, slot.name))}", dim=True)
        for line in d.advice:
            typer.echo(f"    → {line}")
    bad = sum(1 for d in diagnoses if not d.ok)
    total = len(diagnoses)
    if bad:
        typer.secho(f"{bad} of {total} slot{'s' if total != 1 else ''} unusable", fg="red", bold=True)
    else:
        typer.secho(f"all {total} slot{'s' if total != 1 else ''} usable", fg="green", bold=True)
