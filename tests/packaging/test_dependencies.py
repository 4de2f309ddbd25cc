"""Every distribution the code imports is declared, in the part of the install that needs it.

``pip install hunkwise`` must be enough for the CLI reviewer, the gateway and the simulator;
the server and the workers come with ``hunkwise[server]`` / ``hunkwise[worker]``. A module that
imports a distribution only an extra declares must live where that extra is required (the
server's package, the distributed job engine, ...), and an import that nothing declares works
here only by accident (it arrived through another package, as ``httpx2`` did through the SDKs).

Imports are read from the source (module level and inside functions); each top-level name is
mapped to the distribution that installs it with ``importlib.metadata.packages_distributions()``
in this (dev) environment, where every extra is installed.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
import tomllib
from collections.abc import Mapping
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from hunkwise.cli.extras import extras_providing, missing_extra_line

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "hunkwise"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

# Modules imported by name at run time rather than by an import statement:
# ``ClientPool._client`` imports the SDK of a slot's wire (``importlib.import_module(wire)``).
STRING_IMPORTS = {"gateway/adapters/base.py": {"openai", "anthropic"}}

# Where an extra's distributions may be imported: path prefix under src/hunkwise -> the extras, any
# one of which must provide the distribution (so it must be declared in each). The longest
# matching prefix wins; everything else may import core distributions only.
EXTRA_AREAS: dict[str, set[str]] = {
    "server/": {"server"},
    "jobs/": {"server", "worker"},  # the job engine runs in `serve` (embedded) and `worker`
    "jobs/distributed/": {"worker"},
    "store/secrets.py": {"server", "worker"},  # encrypted BYOK keys
    "config/github_app_key.py": {"server", "worker"},  # the GitHub App's key (serve/worker only)
    "platforms/github_app.py": {"server", "worker"},  # the GitHub App's JWT (docs/github.md)
    "gateway/limits/redis_backend.py": {"redis", "worker"},  # HUNKWISE_LIMITS_URL=redis://
}


def _names(specs: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(s).name) for s in specs}


CORE = _names(PROJECT["dependencies"])
EXTRAS = {name: _names(specs) for name, specs in PROJECT["optional-dependencies"].items()}


def _top_level_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _third_party_imports() -> dict[str, set[str]]:
    """Module path (relative to src/hunkwise) -> the third-party top-level names it imports."""
    out: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        names = _top_level_imports(path) | STRING_IMPORTS.get(rel, set())
        names = {n for n in names if n not in sys.stdlib_module_names and n not in {"hunkwise", "__future__"}}
        if names:
            out[rel] = names
    return out


@functools.cache
def imports() -> dict[str, set[str]]:
    """The scan, made once per process and only by the tests that read it: parsing every module
    at collection cost each test worker half a second, and one worker runs this module."""
    return _third_party_imports()


@functools.cache
def distributions() -> Mapping[str, list[str]]:
    return packages_distributions()


def _distribution(module: str) -> str:
    """The distribution providing ``module``; when several do (typer 0.12 shipped ``typer`` as
    ``typer`` and ``typer-slim``), the declared one."""
    dists = [canonicalize_name(d) for d in distributions().get(module, [])]
    assert dists, f"{module!r} is imported but no installed distribution provides it"
    declared = CORE.union(*EXTRAS.values())
    return next((d for d in dists if d in declared), dists[0])


def _area(rel: str) -> set[str]:
    matches = [prefix for prefix in EXTRA_AREAS if rel.startswith(prefix)]
    return EXTRA_AREAS[max(matches, key=len)] if matches else set()


def test_the_scan_sees_the_imports_we_know_of() -> None:
    """The scan is not vacuous: it finds the imports the architecture is built on."""
    found = imports()
    assert {"httpx2", "httpcore2"} <= found["config/ssrf_connect.py"]
    assert "fastapi" in found["server/app.py"]
    assert "openai" in found["gateway/adapters/base.py"]
    assert "dramatiq" in set().union(*(v for k, v in found.items() if k.startswith("jobs/distributed/")))


def test_every_import_is_declared_where_it_is_needed() -> None:
    """Each module's third-party imports are core dependencies, or declared in every extra of the
    area the module belongs to; one failure lists every module that breaks the rule."""
    problems = [p for rel, names in sorted(imports().items()) for p in _undeclared(rel, names)]
    assert not problems, "\n".join(problems)


def _undeclared(rel: str, names: set[str]) -> list[str]:
    area = _area(rel)
    problems = []
    for module in sorted(names):
        dist = _distribution(module)
        if dist in CORE:
            continue
        if not area:
            where = sorted(e for e, extra in EXTRAS.items() if dist in extra)
            problems.append(
                f"src/hunkwise/{rel}: {module} ({dist}) is not a core dependency"
                + (f" (only in extras {where})" if where else " and is declared nowhere")
            )
            continue
        lacking = sorted(e for e in area if dist not in EXTRAS.get(e, set()))
        if lacking:
            problems.append(f"src/hunkwise/{rel}: {module} ({dist}) is missing from extras {lacking}")
    return problems


def test_every_core_dependency_is_imported_by_the_code() -> None:
    """No dead weight in `pip install hunkwise`: each core distribution is imported somewhere."""
    imported = {_distribution(m) for names in imports().values() for m in names}
    assert CORE - imported == set()


def test_a_missing_extra_is_named_from_the_installed_metadata() -> None:
    """The CLI's "install hunkwise[...]" line (hunkwise.cli.extras) finds the extra for every
    module an extra area imports, from the same declarations this test reads."""
    for rel, names in imports().items():
        area = _area(rel)
        for module in names:
            dist = _distribution(module)
            if dist in CORE or not area:
                continue
            offered = set(extras_providing(module))
            assert offered & area, f"{module} ({rel}): the CLI would suggest {sorted(offered)}, not {area}"


@pytest.mark.parametrize(
    ("module", "argv", "extra"),
    [
        ("fastapi", ["serve"], "server"),
        ("prometheus_client", ["serve", "--port", "8000"], "server"),
        ("prometheus_client", ["worker"], "worker"),
        ("dramatiq", ["serve"], "worker"),  # the server publishing to HUNKWISE_QUEUE_URL
        ("cryptography", ["secrets", "rotate"], "server"),
        ("psycopg", ["usage"], "postgres"),
        ("redis", ["serve"], "redis"),  # HUNKWISE_LIMITS_URL on a server without workers
        ("multipart", ["serve"], "server"),
    ],
)
def test_the_missing_extra_line_names_a_declared_extra(module: str, argv: list[str], extra: str) -> None:
    line = missing_extra_line(ModuleNotFoundError(f"No module named {module!r}", name=module), argv)
    assert line is not None
    assert line.endswith(f"pip install 'hunkwise[{extra}]'"), line
    assert extra in PROJECT["optional-dependencies"]
    assert f"`hunkwise {argv[0]}`" in line and "\n" not in line


def test_a_missing_core_module_is_not_blamed_on_an_extra() -> None:
    """A core module missing is a broken install or a bug: the traceback stays."""
    assert missing_extra_line(ModuleNotFoundError("x", name="openai"), ["review"]) is None
    assert missing_extra_line(ModuleNotFoundError("x", name="nonexistent_mod"), ["serve"]) is None


def test_sdk_floors_are_the_first_releases_on_httpx2() -> None:
    """The gateway speaks httpx2 (transports, the SSRF guard, the error classifier); the SDK
    floors must not admit a release built on httpx (openai < 3, anthropic < 1)."""
    floors = {}
    for spec in PROJECT["dependencies"]:
        req = Requirement(spec)
        lower = [s.version for s in req.specifier if s.operator == ">="]
        if lower:
            floors[canonicalize_name(req.name)] = lower[0]
    assert int(re.split(r"\D", floors["openai"])[0]) >= 3
    assert int(re.split(r"\D", floors["anthropic"])[0]) >= 1
    assert {"httpx2", "httpcore2"} <= set(floors)
