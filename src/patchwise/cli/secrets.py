"""``patchwise secrets``: manage the master key that encrypts organizations' API keys."""

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
        envvar="PATCHWISE_NEW_SECRET_KEY",
        help="The new master key (base64 of 32 bytes, or a 32+ character passphrase). Default: generate one.",
        show_default=False,
    ),
) -> None:
    """Re-encrypt every stored API key under a new master key, in one transaction."""
    from patchwise.store.db import open_store
    from patchwise.store.secrets import rotate_master_key

    engine = open_store()
    try:
        result = rotate_master_key(engine, new_key=new_key)
    finally:
        engine.dispose()
    typer.echo(f"re-encrypted {result.rows} stored key(s) under master key {result.new_key_id}")
    if result.key_file is not None:
        typer.echo(f"the key file {result.key_file} now holds only the new key; back it up")
        return
    typer.secho(
        "PATCHWISE_SECRET_KEY still holds the OLD key: set it to the new key and restart the server now",
        fg="yellow",
        err=True,
    )
    if result.new_key_text:
        typer.echo(f"new PATCHWISE_SECRET_KEY={result.new_key_text}")
