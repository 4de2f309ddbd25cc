"""``hunkwise worker``: a distributed review worker consuming the broker (docs/scale-out.md).

Same environment as ``hunkwise serve`` (``HUNKWISE_DATABASE_URL`` on PostgreSQL, the master
key for BYOK secrets, fixed-mode keys, ``HUNKWISE_LIMITS_URL`` for cluster-wide limits) plus
``HUNKWISE_QUEUE_URL``. ``--check`` verifies the database and the broker, prints one line, exits.
"""

from __future__ import annotations

from pathlib import Path

import typer

from hunkwise.cli.service_settings import env_file_option, service_settings


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def worker(
    concurrency: int = typer.Option(4, "--concurrency", "-c", min=1, max=64, help="Jobs run at once."),
    queue_url: str | None = typer.Option(
        None, "--queue-url", help="Broker URL (default: HUNKWISE_QUEUE_URL), amqp://... or redis://..."
    ),
    queue_name: str | None = typer.Option(None, "--queue", help="Queue name (default: HUNKWISE_QUEUE_NAME)."),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", min=0, max=65535, help="Serve /metrics, /healthz, /readyz on this port."
    ),
    metrics_host: str = typer.Option("127.0.0.1", "--metrics-host", help="Interface for --metrics-port."),
    lease: float = typer.Option(
        30.0, "--lease", min=2.0, max=3600.0, help="Seconds a dead worker's job stays locked."
    ),
    grace: float = typer.Option(
        30.0, "--grace", min=0.0, max=3600.0, help="On SIGTERM, seconds to finish jobs before handing back."
    ),
    backoff: float = typer.Option(
        10.0, "--backoff", min=0.1, max=3600.0, help="First retry delay (x3 each)."
    ),
    sweep: float = typer.Option(
        30.0, "--sweep", min=1.0, max=3600.0, help="Seconds between stranded-job sweeps."
    ),
    check: bool = typer.Option(False, "--check", help="Check the database and the broker, then exit."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    env_file: Path | None = env_file_option(),
) -> None:
    """Run review jobs from the broker (HUNKWISE_QUEUE_URL) on this machine; PostgreSQL store. Needs the optional 'worker' extra (README, Install)."""  # noqa: E501
    import json
    import logging
    from dataclasses import replace

    from hunkwise.cli.startup import pause_collector, resume_collector

    pause_collector()  # until the process runs: start-up is imports (hunkwise.cli.startup)
    from hunkwise.cli.app import UsageError, configure_logging
    from hunkwise.jobs.distributed.broker import QUEUE_URL_ENV, QueueSettings
    from hunkwise.jobs.distributed.process import WorkerOptions, WorkerProcess
    from hunkwise.jobs.retry import JOB_BACKOFF
    from hunkwise.jobs.runtime import Runtime

    configure_logging(log_level)
    logging.getLogger("pika").setLevel(logging.WARNING)
    settings = service_settings(env_file)
    url = (queue_url or settings.queue_url or "").strip()
    if not url:
        raise UsageError(
            f"no broker: pass --queue-url amqp://guest:guest@127.0.0.1:5672/ or set {QUEUE_URL_ENV} "
            "(the same value as the server's)"
        )
    queue = QueueSettings.parse(url, queue_name or settings.queue_name, setting="--queue-url")
    runtime = Runtime.for_worker(settings)
    options = WorkerOptions(
        concurrency=concurrency,
        lease_s=lease,
        grace_s=grace,
        backoff=replace(JOB_BACKOFF, base_s=backoff),
        sweep_s=sweep,
        stale_s=max(2 * sweep, lease),
        metrics_host=metrics_host,
        metrics_port=metrics_port,
    )
    process = WorkerProcess(runtime, queue, options)
    if check:
        from hunkwise.jobs.distributed.broker import quiet_libraries
        from hunkwise.jobs.distributed.process import check as run_check

        try:
            report = run_check(runtime.engine, process.publisher, quiet=True)
        finally:
            with quiet_libraries():
                process.broker.close()
        typer.echo(json.dumps({"ok": True, **report}))
        return
    resume_collector()
    raise typer.Exit(process.run())
