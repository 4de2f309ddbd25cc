"""``hunkwise test``: probe every configured slot with one tiny request and say what to fix.

Named ``probe`` because a module called ``test`` would be collected by pytest. The diagnosis
words come from :mod:`hunkwise.gateway.probe` (shared with the web console); this module adds
where each setting came from, because "this is a Coding Plan key" is only useful next to "your
plan came from HUNKWISE_PLAN".

Named like :mod:`hunkwise.gateway.probe` on purpose: this command is the CLI face of that probe.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from hunkwise.cli.slot_options import ModelChoice, with_model_options

if TYPE_CHECKING:
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
        cfg = resolve(models.profile, flags, settings=read_settings())
    print_notes(cfg.notes)
    import asyncio

    diagnoses = asyncio.run(_probe(cfg, timeout))
    ok = all(d.ok for d in diagnoses)
    if as_json:
        typer.echo(json.dumps(report_json(cfg, diagnoses), indent=2))
    else:
        _print_report(cfg, diagnoses)
    raise typer.Exit(0 if ok else 1)


async def _probe(cfg: ResolvedConfig, timeout_s: float) -> list[Diagnosis]:
    from hunkwise.gateway import probe_slots

    return await probe_slots(cfg.slots, timeout_s=timeout_s)


def report_json(cfg: ResolvedConfig, diagnoses: list[Diagnosis]) -> dict[str, Any]:
    from hunkwise.config.slots import slot_summary

    return {
        "ok": all(d.ok for d in diagnoses),
        "slots": [
            {**d.as_dict(), "config": slot_summary(s), "sources": _sources_for(cfg, s.name)}
            for s, d in zip(cfg.slots, diagnoses, strict=True)
        ],
        "notes": cfg.notes,
        "profile": cfg.profile,
        "fixed_mode": cfg.fixed_mode,
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
