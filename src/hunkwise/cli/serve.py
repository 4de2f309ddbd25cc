"""``hunkwise serve``: run the review server (FastAPI under uvicorn).

Settings come from the environment (see docs/server.md), read once into the server's runtime:
they are validated, the database migrated, the master key loaded and the broker
(``HUNKWISE_QUEUE_URL``) checked before the port opens, so a misconfiguration is one red line. The
start-up line states the mode and where jobs go.
"""

from __future__ import annotations

from pathlib import Path

import typer

from hunkwise.cli.service_settings import env_file_option, service_settings


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (0.0.0.0 for all)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    env_file: Path | None = env_file_option(),
) -> None:
    """Run the review server: webhooks, organizations, BYOK and the review API (docs at /docs). Needs the optional 'server' extra (README, Install)."""  # noqa: E501
    from hunkwise.cli.startup import pause_collector, resume_collector

    pause_collector()  # until uvicorn runs: start-up is imports (hunkwise.cli.startup)
    import uvicorn

    from hunkwise.cli.app import configure_logging
    from hunkwise.jobs.distributed.service import describe_jobs, preflight
    from hunkwise.jobs.mode import describe
    from hunkwise.jobs.runtime import Runtime
    from hunkwise.server.app import check_admin_token, create_app

    configure_logging(log_level)
    settings = service_settings(env_file)
    check_admin_token(settings)
    runtime = Runtime.for_server(settings)
    app = create_app(runtime=runtime)
    preflight(runtime)
    typer.secho(
        f"hunkwise server on http://{host}:{port} (API docs: /docs); mode: {describe(runtime.fixed)}; "
        f"jobs: {describe_jobs(runtime)}",
        err=True,
        fg="green",
    )
    # uvicorn would believe X-Forwarded-For from 127.0.0.1 by default; the app decides instead,
    # from HUNKWISE_TRUSTED_PROXIES (sign-in throttling counts per client address).
    resume_collector()
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), proxy_headers=False)
