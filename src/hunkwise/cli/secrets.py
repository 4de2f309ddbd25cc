"""``hunkwise secrets``: manage the master key that encrypts organizations' API keys.

Named like :mod:`hunkwise.store.secrets` on purpose: a module of ``hunkwise.cli`` is named after the
command it adds, and this command manages that module's keys.
"""

from __future__ import annotations

import typer

secrets_app = typer.Typer(help="Manage the master key that encrypts stored API keys.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(secrets_app, name="secrets")


@secrets_app.command("rotate")
def rotate(
    new_key: str | None = typer.Option(
        None,
        "--new-key",
        help=(
            "The new master key (base64 of 32 bytes, or a 32+ character passphrase; default: "
            "HUNKWISE_NEW_SECRET_KEY, else generate one)."
        ),
        show_default=False,
    ),
) -> None:
    """Re-encrypt every stored API key under a new master key, in one transaction."""
    from hunkwise.config.settings import Settings
    from hunkwise.store.db import database_url, open_store
    from hunkwise.store.secrets import rotate_master_key

    settings = Settings.from_env()
    if new_key is None and settings.new_secret_key is not None:
        new_key = settings.new_secret_key.get_secret_value()
    engine = open_store(database_url(settings))
    try:
        result = rotate_master_key(engine, settings, new_key=new_key)
    finally:
        engine.dispose()
    typer.echo(f"re-encrypted {result.rows} stored key(s) under master key {result.new_key_id}")
    old = ", ".join(result.old_key_ids) or "none"
    if result.key_file is not None:
        typer.echo(
            f"the key file {result.key_file} holds the new key (encrypts) and the old one(s) ({old}, "
            "still decrypt, so running servers keep working); back it up. Once every server has "
            "picked up the new key (they reload the file on their own), run: hunkwise secrets prune"
        )
        return
    typer.secho(
        'HUNKWISE_SECRET_KEY still holds the OLD key: set it to "<new key>,<old key>" (both decrypt, '
        "the first encrypts) and restart the servers now; then run `hunkwise secrets prune` and "
        "finally keep only the new key",
        fg="yellow",
        err=True,
    )
    if result.new_key_text:
        typer.echo(f"new HUNKWISE_SECRET_KEY={result.new_key_text}")


@secrets_app.command("prune")
def prune() -> None:
    """Finish a rotation: re-encrypt keys still under an old master key, then drop the old keys."""
    from hunkwise.config.settings import Settings
    from hunkwise.store.db import database_url, open_store
    from hunkwise.store.secrets import prune_old_keys

    settings = Settings.from_env()
    engine = open_store(database_url(settings))
    try:
        result = prune_old_keys(engine, settings)
    finally:
        engine.dispose()
    dropped = ", ".join(result.dropped_key_ids) or "none"
    typer.echo(f"re-encrypted {result.rows} stored key(s) still under an old master key ({dropped})")
    if result.key_file is not None:
        typer.echo(f"the key file {result.key_file} now holds only master key {result.key_id}; back it up")
        return
    typer.secho(
        f"every stored key is under master key {result.key_id}: remove the old key(s) from "
        "HUNKWISE_SECRET_KEY and restart the servers",
        fg="yellow",
        err=True,
    )
