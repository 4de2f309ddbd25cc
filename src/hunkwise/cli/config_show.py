"""``hunkwise config show``: the effective settings and where each came from.

An API server and its workers must agree on the database, the broker, the limits store, the
master key and the fixed-mode model; when they do not, reviews fail in ways that are hard to trace
(a worker that cannot decrypt a BYOK key, a cap enforced per process). Run this on each machine
with the same ``--env-file`` and compare the output line by line: every value is shown with its
source (flag / env / .env / file / default), and secrets are masked to their last four
characters, enough to tell two keys apart without revealing either.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from hunkwise.cli.service_settings import env_file_option, service_settings

config_app = typer.Typer(help="Show the effective configuration (what serve and worker would use).")


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


def _shown(value: Any) -> str | int | float | bool | None:
    """A setting's value as people may see it: secrets masked, collections joined."""
    from pydantic import SecretStr

    from hunkwise.gateway import Secret

    if value is None:
        return None
    if isinstance(value, SecretStr):
        value = Secret(value.get_secret_value())
    if isinstance(value, Secret):
        return value.masked()
    if isinstance(value, (frozenset, set, tuple, list)):
        return ", ".join(sorted(str(v) for v in value))
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def settings_rows(settings: Any) -> list[dict[str, Any]]:
    """One row per variable-backed setting: its variable, shown value and source."""
    from pydantic import AliasChoices

    rows: list[dict[str, Any]] = []
    for field, info in type(settings).model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, str):
            names = [alias]
        elif isinstance(alias, AliasChoices):
            names = [a for a in alias.choices if isinstance(a, str)]
        else:
            continue  # not read from a variable (the environment snapshot itself, computed values)
        used = next((n for n in names if str(settings.environ.get(n, "")).strip()), names[0])
        rows.append(
            {
                "setting": used,
                "value": _shown(getattr(settings, field)),
                "source": settings.source_of(used),
            }
        )
    return rows


def slot_rows(settings: Any, cwd: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The fixed-mode model slots as ``review`` and a fixed-mode server would resolve them."""
    from hunkwise.config.resolve import resolve_config
    from hunkwise.config.slots import slot_summary
    from hunkwise.errors import ConfigurationError

    try:
        resolved = resolve_config({}, settings=settings, cwd=cwd, require_key=False)
    except ConfigurationError as exc:
        return [], [f"model slots: {exc}"]
    rows: list[dict[str, Any]] = []
    for slot in resolved.slots:
        for key, value in slot_summary(slot).items():
            if key == "name" or value is None:
                continue
            name = f"{slot.name}.{key}"
            source = resolved.sources.get(name) or "derived"  # from the catalog card, e.g. prices
            rows.append({"setting": name, "value": _shown(value), "source": source})
    return rows, list(resolved.notes)


@config_app.command("show")
def show(
    env_file: Path | None = env_file_option(),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    all_settings: bool = typer.Option(
        False, "--all", help="Also list settings left at their default (by default only those set)."
    ),
) -> None:
    """Print the effective settings with their source (env / .env / file / default), secrets masked, so an API and a worker can be compared line by line."""  # noqa: E501
    from rich.console import Console
    from rich.table import Table

    from hunkwise.cli.slot_options import friendly_errors

    with friendly_errors():
        settings = service_settings(env_file)
        rows = settings_rows(settings)
        slots, notes = slot_rows(settings, Path.cwd())
    if not all_settings:
        rows = [r for r in rows if r["source"] != "default"]
    env_path = str(settings.loaded_env_file.path) if settings.loaded_env_file.path else None
    if as_json:
        typer.echo(
            json.dumps({"env_file": env_path, "settings": rows, "slots": slots, "notes": notes}, indent=2)
        )
        return
    console = Console()
    console.print(f"env file: {env_path or 'none (no --env-file, no .env here)'}", highlight=False)
    table = Table("setting", "value", "source")
    for row in rows + slots:
        value = row["value"]
        table.add_row(row["setting"], "" if value is None else str(value), row["source"])
    console.print(table)
    if not rows:
        console.print("every setting is at its default (--all lists them)", highlight=False)
    for note in notes:
        console.print(f"note: {note}", highlight=False, markup=False)
