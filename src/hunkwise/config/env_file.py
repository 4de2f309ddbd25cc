"""The ``.env`` file of ``hunkwise serve`` and ``hunkwise worker``.

A self-hosted deployment configures the API and its workers with the same variables; keeping
them in one file that both read (``--env-file FILE``, or ``.env`` in the working directory) is
how the spec's self-hosted mode is set up, and it lets ``hunkwise config show`` compare two
machines line by line. The file only fills gaps: a variable set in the process environment wins,
so an orchestrator's override is never silently undone by a file on disk.

The file is read with python-dotenv's parser (already installed with pydantic-settings) rather
than its ``dotenv_values``: that one skips a line it cannot parse with a log warning, and a
``HUNKWISE_DATABASE_URL`` lost to a typo would send the server to a default database. Here a bad
line is an error naming the file and the line. Values are taken literally (no ``${VAR}``
expansion), so a secret containing ``$`` reaches us as written. Nothing is written into
``os.environ``: the merged mapping goes to :meth:`hunkwise.config.settings.Settings.from_env`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hunkwise.errors import ConfigurationError

DEFAULT_ENV_FILE = ".env"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_ENV_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class EnvFile:
    """Variables read from one file; ``path`` None when no file was read."""

    path: Path | None = None
    values: Mapping[str, str] = field(default_factory=dict)


def read_env_file(path: Path) -> EnvFile:
    """Parse ``path``; every problem is one :class:`ConfigurationError` naming the file, the line
    and the fix."""
    from dotenv.parser import parse_stream

    where = str(path)
    try:
        if path.stat().st_size > MAX_ENV_FILE_BYTES:
            raise ConfigurationError(
                f"{where} is larger than 1 MiB; an env file holds NAME=value lines only", setting="--env-file"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"env file {where} does not exist; pass an existing file to --env-file", setting="--env-file"
        ) from None
    except IsADirectoryError:
        raise ConfigurationError(
            f"env file {where} is a directory, not a file", setting="--env-file"
        ) from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"env file {where} is not UTF-8 text", setting="--env-file") from None
    except OSError as exc:
        raise ConfigurationError(
            f"env file {where} cannot be read ({exc.strerror or exc})", setting="--env-file"
        ) from None
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            raise ConfigurationError(
                f"{where} line {line}: cannot parse {binding.original.string.strip()[:40]!r}; "
                "write NAME=value (quote values with spaces)",
                setting="--env-file",
            )
        if binding.key is None:  # a comment or a blank line
            continue
        if not _NAME.match(binding.key):
            raise ConfigurationError(
                f"{where} line {line}: {binding.key[:40]!r} is not a variable name "
                "(letters, digits and underscores)",
                setting="--env-file",
            )
        if binding.value is None:
            raise ConfigurationError(
                f"{where} line {line}: {binding.key} has no value; write {binding.key}=value "
                "(or delete the line)",
                setting="--env-file",
            )
        values[binding.key] = binding.value
    return EnvFile(path=path, values=values)


def service_env_file(explicit: Path | None, cwd: Path) -> EnvFile:
    """The file a service reads: ``--env-file`` when given (it must exist), else ``.env`` in the
    working directory when there is one, else none."""
    if explicit is not None:
        return read_env_file(explicit.expanduser())
    candidate = cwd / DEFAULT_ENV_FILE
    return read_env_file(candidate) if candidate.is_file() else EnvFile()


def merged_environment(process: Mapping[str, str], env_file: EnvFile) -> dict[str, str]:
    """The process environment over the file: a variable in both keeps the process's value,
    unless the process's is blank (a blank variable means "not set" everywhere in hunkwise)."""
    merged = dict(env_file.values)
    merged.update({k: v for k, v in process.items() if v.strip() or k not in env_file.values})
    return merged
