"""Where hunkwise keeps its files.

One variable moves everything a run writes (``HUNKWISE_HOME``), so tests, CI and several installs
on one machine never share state by accident; the user config file has its own override
(``HUNKWISE_CONFIG``) because people keep it in dotfile repos. Both are read by
:class:`hunkwise.config.settings.Settings` (``home``, ``user_config``, ``state_path``); this module
knows the names and the search for a repository's file.
"""

from __future__ import annotations

from pathlib import Path

APP_NAME = "hunkwise"
REPO_CONFIG_NAME = ".hunkwise.toml"


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
