"""Settings of the long-running services (``serve``, ``worker``) and of ``config show``.

They read an env file as well as the environment (:mod:`hunkwise.config.env_file`) so an API and
its workers can share one file; the other commands do not, on purpose: ``hunkwise review`` runs
inside the repository under review, whose own ``.env`` (an application's ``OPENAI_API_KEY``) is
none of our business.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from hunkwise.config.settings import Settings

ENV_FILE_HELP = (
    "Read HUNKWISE_* (and provider) variables from this file; default: .env in the working "
    "directory if there is one. Variables set in the environment win over the file."
)


def env_file_option() -> Path | None:
    """The ``--env-file`` option, the same on every command that takes it."""
    return typer.Option(None, "--env-file", help=ENV_FILE_HELP, dir_okay=False)  # type: ignore[no-any-return]


def service_settings(env_file: Path | None) -> Settings:
    """The environment over ``env_file`` (or ``./.env``), read once."""
    from hunkwise.config.env_file import service_env_file
    from hunkwise.config.settings import Settings

    return Settings.from_env(env_file=service_env_file(env_file, Path.cwd()))
