"""The ``hunkwise`` command.

Each command (group) lives in its own module under ``hunkwise.cli`` and exposes
``register(app)``; this module only assembles them (plain imports, so the layering test sees
them) and turns expected errors into one clear line and exit code 2 instead of a traceback.
Command modules import heavy dependencies (SDKs, FastAPI, SQLAlchemy, Dramatiq) inside their
functions, so importing every command module stays cheap and ``hunkwise --help`` fast.

Named like :mod:`hunkwise.server.app` and :mod:`hunkwise.sim.app` on purpose: in each runnable
package, ``app`` is the application object that package runs (here the Typer command).
"""

from __future__ import annotations

import sys

import typer

from hunkwise import __version__
from hunkwise.cli import (
    chat,
    config_show,
    evaluate,
    jobs,
    models,
    plan_advise,
    probe,
    review,
    secrets,
    serve,
    sim,
    usage,
    worker,
)
from hunkwise.cli.startup import arm, resume_collector
from hunkwise.errors import ConfigurationError, HunkwiseError, TransientError

# Order here is the order in ``hunkwise --help``.
COMMANDS = (
    review,
    evaluate,
    models,
    chat,
    probe,
    sim,
    usage,
    plan_advise,
    serve,
    secrets,
    worker,
    jobs,
    config_show,
)

app = typer.Typer(
    name="hunkwise",
    help="Self-hosted AI code reviewer with a bring-your-own-key model gateway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hunkwise {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """hunkwise reviews changes with the models you configure (Main + Fallback)."""


for _command in COMMANDS:
    _command.register(app)


class UsageError(ConfigurationError):
    """A user mistake with a one-line explanation; the CLI prints it and exits 2."""


def exit_code(exc: HunkwiseError) -> int:
    """The exit code of a command stopped by ``exc``: 3 when trying again later can succeed (a
    transient error), else 2 (change a setting or the input first). An error that is both a
    configuration and a transient one (the cluster limits store down) asks the user to act: 2."""
    if isinstance(exc, TransientError) and not isinstance(exc, ConfigurationError):
        return 3
    return 2


def configure_logging(log_level: str) -> None:
    """``--log-level`` of the long-running commands (serve, worker): one format for both."""
    import logging

    level = log_level.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise UsageError(f"--log-level {log_level!r} is not one of debug, info, warning, error")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Entry point: run the app; any error of hunkwise's tree that a command let through is one
    readable line and exit code 2 or 3 (:func:`exit_code`), never a traceback. So is a command
    whose optional dependencies are not installed (``hunkwise serve`` on a core install): the
    line names the extra to install (:mod:`hunkwise.cli.extras`), exit code 2. The process is
    hunkwise's own, so its commands may pause the collector while they start
    (:mod:`hunkwise.cli.startup`)."""
    arm()
    try:
        app()
    except ModuleNotFoundError as exc:
        from hunkwise.cli.extras import missing_extra_line

        line = missing_extra_line(exc)
        if line is None:
            raise
        typer.secho(f"error: {line}", err=True, fg="red")
        sys.exit(2)
    except HunkwiseError as exc:
        from hunkwise.cli.slot_options import error_lines

        for line in error_lines(exc):
            typer.secho(f"error: {line}", err=True, fg="red")
        sys.exit(exit_code(exc))
    finally:
        resume_collector()
