"""``hunkwise jobs``: list review jobs (dead letters with their reasons) and retry them.

Reads the same store as the server (``HUNKWISE_DATABASE_URL``). ``retry`` queues a dead job with
fresh attempts and, when ``HUNKWISE_QUEUE_URL`` is set, publishes it to the workers.

Named like :mod:`hunkwise.store.jobs` (the rows) and :mod:`hunkwise.server.routes.jobs` (the HTTP
routes) on purpose: a module of ``hunkwise.cli`` is named after the command it adds.
"""

from __future__ import annotations

import typer

STATUS_CHOICES = ("queued", "running", "done", "failed", "dead")

jobs_app = typer.Typer(
    help="Review jobs: list them (e.g. dead letters) and retry them.", no_args_is_help=False
)


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")


@jobs_app.callback(invoke_without_command=True)
def list_jobs(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status", "-s", help="queued, running, done, failed or dead."),
    org: str | None = typer.Option(None, "--org", help="One organization's jobs."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
) -> None:
    """List review jobs, newest first (``--status dead``: dead letters with their reasons)."""
    if ctx.invoked_subcommand is not None:
        return
    import json

    from hunkwise.cli.app import UsageError
    from hunkwise.config.settings import Settings
    from hunkwise.store import jobs as repo
    from hunkwise.store.db import database_url, open_store

    wanted = status.strip().lower() if status else None
    if wanted is not None and wanted not in STATUS_CHOICES:
        raise UsageError(f"--status {status!r} is not one of {', '.join(STATUS_CHOICES)}")
    engine = open_store(database_url(Settings.from_env()))
    rows = repo.list_jobs(
        engine,
        org=org.lower() if org else None,
        status="failed" if wanted == "dead" else wanted,
        limit=limit,
    )
    if as_json:
        for job in rows:
            typer.echo(json.dumps(_as_dict(job)))
        return
    if not rows:
        typer.echo("no jobs" + (f" with status {wanted}" if wanted else ""))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "status", "org", "change", "attempts", "updated", "reason / error")
    for job in rows:
        d = _as_dict(job)
        table.add_row(
            str(job.id),
            d["status"],
            job.org,
            f"{d['repository']}#{d['number']}",
            f"{job.attempts}/{job.max_attempts}",
            job.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
            (job.error or "")[:200],
        )
    Console(width=200).print(table)


@jobs_app.command("retry")
def retry(job_id: int = typer.Argument(..., help="The id of a dead (failed) job.")) -> None:
    """Queue a dead job again with fresh attempts (after fixing its cause)."""
    from hunkwise.cli.app import UsageError
    from hunkwise.config.settings import Settings
    from hunkwise.jobs.distributed.broker import Publisher, QueueSettings
    from hunkwise.store import jobs as repo
    from hunkwise.store.db import database_url, open_store

    settings = Settings.from_env()
    engine = open_store(database_url(settings))
    job = repo.get_job(engine, job_id)
    if job is None:
        raise UsageError(f"no job {job_id} (see `hunkwise jobs --status dead`)")
    if not repo.retry(engine, job_id):
        raise UsageError(f"job {job_id} is {job.status}; only a dead (failed) job can be retried")
    queue = QueueSettings.configured(settings)
    if queue is not None:
        publisher = Publisher(queue)
        try:
            publisher.publish(job_id)
        finally:
            publisher.close()
        typer.echo(f"job {job_id} queued and published to {queue.queue_name}")
    else:
        typer.echo(f"job {job_id} queued")


def _as_dict(job: object) -> dict[str, object]:
    from hunkwise.store.jobs import Job

    assert isinstance(job, Job)
    p = job.payload
    return {
        "id": job.id,
        "status": "dead" if job.status == "failed" else job.status,
        "org": job.org,
        "kind": job.kind,
        "repository": p.get("repository") or p.get("project_path"),
        "number": p.get("number") if p.get("number") is not None else p.get("iid"),
        "head_sha": p.get("head_sha"),
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "error": job.error,
        "reason": job.error if job.status == "failed" else None,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
    }
