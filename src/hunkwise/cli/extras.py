"""Which optional part of hunkwise (an extra) a missing import belongs to, for a one-line error.

``pip install hunkwise`` is the CLI reviewer, the gateway and the simulator; ``hunkwise[server]``
and ``hunkwise[worker]`` add the web server and the distributed workers (pyproject.toml). A
command that needs an extra imports it inside its function, so on a core install the first
missing module surfaces as ``ModuleNotFoundError`` there; :func:`missing_extra_line` turns it into
``pip install 'hunkwise[server]'`` instead of a traceback.

The extras and their requirements are read from the installed distribution's own metadata (the
``Requires-Dist`` lines that pyproject.toml's ``optional-dependencies`` become), so this module
holds no second copy of that list: only the few module names that differ from their
distribution's name.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

DIST = "hunkwise"
# Import names that are not their distribution's (normalized) name.
MODULE_DISTRIBUTIONS = {
    "multipart": "python-multipart",
    "python_multipart": "python-multipart",
    "jwt": "pyjwt",
}
# Extras that are tool sets, never what a command "needs".
NOT_SUGGESTED = {"dev", "bench"}
# The extra a command comes with, preferred when it provides the missing module.
COMMAND_EXTRAS = {"serve": "server", "worker": "worker", "secrets": "server", "jobs": "worker"}

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def extras_providing(module: str) -> list[str]:
    """The extras of the installed hunkwise that install ``module``'s distribution (smallest
    extra first); empty when none does or hunkwise's metadata is not available (a bare checkout)."""
    top = module.split(".")[0]
    wanted = _normalize(MODULE_DISTRIBUTIONS.get(top, top))
    try:
        requirements = metadata.requires(DIST) or []
    except metadata.PackageNotFoundError:
        return []
    sizes: dict[str, int] = {}
    providing: set[str] = set()
    for requirement in requirements:
        name, extra = _NAME.match(requirement), _EXTRA.search(requirement)
        if name is None or extra is None or extra.group(1) in NOT_SUGGESTED:
            continue
        sizes[extra.group(1)] = sizes.get(extra.group(1), 0) + 1
        if _normalize(name.group(1)) == wanted:
            providing.add(extra.group(1))
    return sorted(providing, key=lambda e: (sizes[e], e))


def missing_extra_line(exc: ModuleNotFoundError, argv: list[str] | None = None) -> str | None:
    """One line naming the extra to install for the module ``exc`` could not import, or None
    when no extra provides it (then it is a bug or a broken install, and the traceback stays)."""
    if not exc.name:
        return None
    extras = extras_providing(exc.name)
    if not extras:
        return None
    args = sys.argv[1:] if argv is None else argv
    command = next((a for a in args if not a.startswith("-")), None)
    own = COMMAND_EXTRAS.get(command or "")
    extra = own if own in extras else extras[0]
    what = f"`hunkwise {command}`" if command else "this command"
    top = exc.name.split(".")[0]
    # Built from DIST and a declared extra, so test_install_commands.py (which reads literal
    # commands) cannot see it: tests/packaging/test_dependencies.py checks these lines instead.
    hint = "install it with: pip install"
    return f"{what} needs {top!r}, part of the optional {DIST}[{extra}] install; {hint} '{DIST}[{extra}]'"
