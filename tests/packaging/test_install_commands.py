"""Every install command we show installs *our* distribution.

The project's first name (CHANGELOG.md) belongs to an unrelated project on the package index: an
install command with it in our docs would have run someone else's code with the reader's API keys
in the environment. This test reads every ``pip install`` in README, docs,
examples, the Makefile, CI glue and the source's own hints, and accepts a package only if it is
``hunkwise`` (with real extras, pinned to the current version), this checkout, a built
``hunkwise`` wheel, a Git URL of hunkwise, or a dependency ``pyproject.toml`` declares.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

import hunkwise

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DIST = "hunkwise"
# Options of `pip install` that take a value; the value is not a package.
VALUED_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "--index-url", "-i", "--extra-index-url"}
# Placeholders in docs/releasing.md for "the version being released".
VERSION_PLACEHOLDERS = {"X.Y.Z"}


def _declared_dependencies() -> set[str]:
    project = PYPROJECT["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs.extend(extra)
    specs.extend(PYPROJECT["build-system"]["requires"])
    return {canonicalize_name(Requirement(spec).name) for spec in specs} | {"pip"}


def _scanned_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "Makefile", ROOT / ".ci" / "run", ROOT / "CHANGELOG.md"]
    files += sorted((ROOT / "docs").rglob("*.md"))
    files += sorted(p for p in (ROOT / "examples").rglob("*") if p.is_file())
    files += sorted((ROOT / "src" / "hunkwise").rglob("*.py"))
    return [f for f in files if f.exists()]


def _install_commands() -> Iterator[tuple[str, str]]:
    pattern = re.compile(r"\bpip3?\s+install\b([^\n`#;&|]*)")
    for path in _scanned_files():
        for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            for match in pattern.finditer(line):
                yield f"{path.relative_to(ROOT)}:{lineno}", match.group(1)


def _packages(arguments: str) -> list[str]:
    try:
        words = shlex.split(arguments.replace('"', "'"), posix=True)
    except ValueError:  # an unbalanced quote in prose: take the words as they are
        words = arguments.split()
    packages, skip_next = [], False
    for word in words:
        word = word.strip("'\",")
        if skip_next:
            skip_next = False
        elif word in VALUED_OPTIONS:
            skip_next = True
        elif word.startswith("-") or word in {"", "-e"}:
            continue
        elif re.fullmatch(r"[A-Za-z]+", word) and word.lower() in {"anything", "else", "it"}:
            continue  # prose such as "never pip install anything else"
        else:
            packages.append(word)
    return packages


def _problem(package: str) -> str | None:
    """None when ``package`` installs hunkwise or a declared dependency, else why not."""
    if package.startswith((".", "./")) and not package.endswith(".whl"):
        return None if re.fullmatch(r"\.(\[[a-z,]+\])?", package) else f"{package!r} is not this checkout"
    if package.endswith(".whl"):
        name = Path(package).name
        return None if name.startswith(f"{DIST}-") else f"wheel {name!r} is not a {DIST} wheel"
    if package.startswith("git+"):
        return None if f"/{DIST}" in package else f"{package!r} is not a {DIST} repository"
    placeholder = next((p for p in VERSION_PLACEHOLDERS if p in package), None)
    spec = package.replace(placeholder, hunkwise.__version__) if placeholder else package
    try:
        req = Requirement(spec)
    except InvalidRequirement:
        return f"{package!r} is not a package name"
    name = canonicalize_name(req.name)
    if name == DIST:
        unknown = set(req.extras) - set(PYPROJECT["project"]["optional-dependencies"])
        if unknown:
            return f"{package!r} names extras {sorted(unknown)} that pyproject.toml does not declare"
        pins = [s.version for s in req.specifier if s.operator == "=="]
        if pins and pins != [hunkwise.__version__]:
            return f"{package!r} pins a version other than the current {hunkwise.__version__}"
        return None
    if name in _declared_dependencies():
        return None
    return f"{package!r} is neither {DIST} nor a dependency pyproject.toml declares"


def test_the_distribution_is_hunkwise() -> None:
    assert PYPROJECT["project"]["name"] == DIST
    assert PYPROJECT["project"]["scripts"] == {DIST: "hunkwise.cli.app:main"}


def test_every_install_command_names_our_distribution() -> None:
    commands = list(_install_commands())
    # The scan has to see the commands users copy, or it proves nothing.
    where = {w.split(":")[0] for w, _ in commands}
    assert {"README.md", "examples/github-workflow.yml", "Makefile"} <= where
    problems = [
        f"{where}: {problem}"
        for where, arguments in commands
        for package in _packages(arguments)
        if (problem := _problem(package))
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "package",
    ["reviewbot", "reviewbot[redis]", "hunkwise==0.0.1", "hunkwise[nope]", "./dist/other-1.0-py3.whl"],
)
def test_the_check_refuses_someone_elses_package(package: str) -> None:
    assert _problem(package) is not None
