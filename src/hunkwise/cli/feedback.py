"""``hunkwise feedback``: acceptance rates of hunkwise's comments, and demotions undone.

Reads the same store as the server (``HUNKWISE_DATABASE_URL``). Rates come from reactions
(👍/👎) and resolved threads on hunkwise's comments, learned by the server (docs/conversation.md).
``undemote`` keeps a category or path pattern inline whatever its rate, ``redemote`` lets the
rate decide again, ``unignore`` removes an ``@hunkwise ignore``.

Named like :mod:`hunkwise.store.feedback` (the rows) and :mod:`hunkwise.server.routes.feedback`
(the HTTP routes) on purpose: a module of ``hunkwise.cli`` is named after the command it adds.
"""

from __future__ import annotations

import typer

KINDS = ("category", "path")

feedback_app = typer.Typer(help="Acceptance of hunkwise's comments; demotions and ignores undone.")


def register(app: typer.Typer) -> None:
    app.add_typer(feedback_app, name="feedback")


def _engine():  # type: ignore[no-untyped-def]
    from hunkwise.config.settings import Settings
    from hunkwise.store.db import database_url, open_store

    return open_store(database_url(Settings.from_env())), Settings.from_env()


def _kind(kind: str) -> str:
    from hunkwise.cli.app import UsageError

    if kind not in KINDS:
        raise UsageError(f"KIND {kind!r} is not one of {', '.join(KINDS)}")
    return kind


@feedback_app.callback(invoke_without_command=True)
def show(
    ctx: typer.Context,
    org: str | None = typer.Option(None, "--org", help="One organization's rates."),
    repository: str | None = typer.Option(None, "--repo", help="One repository (owner/name, group/project)."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
) -> None:
    """Acceptance per organization, repository, category and path pattern; what is demoted."""
    if ctx.invoked_subcommand is not None:
        return
    import json

    from hunkwise.store import feedback as store

    engine, settings = _engine()
    rates = store.rates(
        engine,
        org=org.lower() if org else None,
        repository=repository,
        threshold=settings.feedback_threshold,
        min_samples=settings.feedback_min_samples,
    )
    if as_json:
        for r in rates:
            typer.echo(json.dumps(r.as_dict()))
        return
    if not rates:
        typer.echo("no feedback yet (reactions are read when the next review of a pull request runs)")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"acceptance (demoted below {settings.feedback_threshold:.0%} "
        f"over {settings.feedback_min_samples}+ samples)"
    )
    for column in ("org", "repository", "kind", "value", "👍/resolved", "👎", "acceptance", "state"):
        table.add_column(column)
    for r in rates:
        state = "demoted" if r.demoted else "kept inline (override)" if r.overridden else ""
        shown = "-" if r.acceptance is None else f"{r.acceptance:.0%}"
        table.add_row(r.org, r.repository, r.kind, r.value, str(r.accepted), str(r.rejected), shown, state)
    Console().print(table)


@feedback_app.command("undemote")
def undemote(
    org: str = typer.Argument(..., help="The organization."),
    kind: str = typer.Argument(..., help="category or path."),
    value: str = typer.Argument(..., help="The category (security) or path pattern (src/legacy/**)."),
    repository: str = typer.Option("", "--repo", help="Only this repository (default: all of the org)."),
) -> None:
    """Keep a demoted category or path pattern inline, whatever its acceptance."""
    from hunkwise.store import feedback as store

    engine, _ = _engine()
    changed = store.undemote(
        engine, org=org.lower(), repository=repository, kind=_kind(kind), value=value, created_by="cli"
    )  # type: ignore[arg-type]
    typer.echo(f"{kind} {value!r} kept inline" + ("" if changed else " (already was)"))


@feedback_app.command("redemote")
def redemote(
    org: str = typer.Argument(..., help="The organization."),
    kind: str = typer.Argument(..., help="category or path."),
    value: str = typer.Argument(..., help="The category or path pattern."),
    repository: str = typer.Option("", "--repo", help="The repository the override named (default: all)."),
) -> None:
    """Remove an un-demotion: the acceptance rate decides again."""
    from hunkwise.store import feedback as store

    engine, _ = _engine()
    changed = store.redemote(engine, org=org.lower(), repository=repository, kind=_kind(kind), value=value)  # type: ignore[arg-type]
    typer.echo(f"{kind} {value!r}: " + ("the rate decides again" if changed else "no override to remove"))


@feedback_app.command("unignore")
def unignore(
    platform: str = typer.Argument(..., help="github or gitlab."),
    repository: str = typer.Argument(..., help="owner/name or group/project."),
    number: int = typer.Argument(..., help="The pull request number; 0 for a repository-wide ignore."),
    fingerprint: str = typer.Argument(..., help="The fingerprint the ignore answer named."),
) -> None:
    """Undo ``@hunkwise ignore``: the finding may be posted again."""
    from hunkwise.cli.app import UsageError
    from hunkwise.store.posted_findings import PullRef, unsuppress

    if platform not in ("github", "gitlab"):
        raise UsageError(f"PLATFORM {platform!r} is not github or gitlab")
    engine, _ = _engine()
    pr = PullRef(platform, repository, number)
    changed = unsuppress(engine, pr=pr, fingerprint=fingerprint, repository_wide=number == 0)
    typer.echo(f"{fingerprint}: " + ("may be posted again" if changed else "was not ignored there"))
