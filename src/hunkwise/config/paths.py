"""Where hunkwise keeps its files.

One env var moves everything a run writes (``HUNKWISE_HOME``), so tests, CI and several
installs on one machine never share state by accident; the user config file has its own
override (``HUNKWISE_CONFIG``) because people keep it in dotfile repos.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

APP_NAME = "hunkwise"
REPO_CONFIG_NAME = ".hunkwise.toml"


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def hunkwise_home(env: Mapping[str, str] | None = None) -> Path:
    """The data directory: ``HUNKWISE_HOME`` or the platform's user data dir."""
    value = _env(env).get("HUNKWISE_HOME", "").strip()
    if value:
        return Path(value).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def state_path(env: Mapping[str, str] | None = None) -> Path:
    """The local state store (circuits, cooldowns) shared by every CLI run on this machine."""
    return hunkwise_home(env) / "state.db"


def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    """The user-level TOML config: ``HUNKWISE_CONFIG``; else ``$HUNKWISE_HOME/config.toml``
    when ``HUNKWISE_HOME`` is set (one variable moves a whole install); else
    ``<platform user config dir>/hunkwise/config.toml``."""
    value = _env(env).get("HUNKWISE_CONFIG", "").strip()
    if value:
        return Path(value).expanduser()
    home = _env(env).get("HUNKWISE_HOME", "").strip()
    if home:
        return Path(home).expanduser() / "config.toml"
    from platformdirs import user_config_path as _ucp

    return _ucp(APP_NAME, appauthor=False) / "config.toml"


def find_repo_config(cwd: Path) -> Path | None:
    """The nearest ``.hunkwise.toml`` from ``cwd`` up to the git root.

    Outside a git work tree only ``cwd`` itself is checked: walking up to ``/`` would pick up
    a stray file in ``/tmp`` or a home directory that has nothing to do with the project.
    """
    cwd = cwd.resolve()
    chain = [cwd, *cwd.parents]
    root = next((d for d in chain if (d / ".git").exists()), None)
    for directory in chain if root is not None else [cwd]:
        candidate = directory / REPO_CONFIG_NAME
        if candidate.is_file():
            return candidate
        if directory == root:
            break
    return None
