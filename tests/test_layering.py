"""The architecture's one-way imports, checked on the source (docs/architecture.md).

A module may import only from its own package and from the packages listed for it here. A new
upward import fails this test: move the code to the right room instead of widening the list.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "hunkwise"

BELOW: dict[str, set[str]] = {
    "catalog": set(),
    "sim": {"catalog"},
    "gateway": {"catalog"},
    "config": {"gateway", "catalog"},
    "store": {"config", "gateway", "catalog"},
    "review": {"config", "gateway", "catalog"},
    "platforms": {"config", "gateway", "catalog"},
    "evaluation": {"review", "config", "gateway", "catalog"},
    "jobs": {"review", "platforms", "store", "config", "gateway", "catalog"},
    "server": {"jobs", "review", "platforms", "store", "config", "gateway", "catalog"},
    "cli": {
        "server",
        "jobs",
        "evaluation",
        "review",
        "platforms",
        "store",
        "config",
        "gateway",
        "catalog",
        "sim",
    },
}
# Root modules every package may import. ``hunkwise.errors`` is the one error vocabulary (the
# tree, the HTTP classifier, the backoff): every layer raises and catches it, so it depends on
# nothing of hunkwise.
ANYWHERE = {"errors"}


def _imports(path: Path) -> set[str]:
    """First-level hunkwise packages a module imports (module-level or inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "hunkwise" and len(parts) > 1:
                found.add(parts[1])
    return found


def _placed(target: str) -> bool:
    """Whether ``hunkwise.<target>`` is a package or a root module (what the rules are about)."""
    return (SRC / target).is_dir() or (SRC / f"{target}.py").is_file()


@pytest.mark.parametrize("package", sorted(BELOW))
def test_imports_flow_downward_only(package: str) -> None:
    allowed = BELOW[package] | {package, "__init__"} | ANYWHERE
    violations = []
    for path in sorted((SRC / package).rglob("*.py")):
        for target in _imports(path) - allowed:
            if _placed(target):
                violations.append(f"{path.relative_to(SRC)} imports hunkwise.{target}")
    assert not violations, "upward or sideways imports:\n" + "\n".join(violations)


def test_the_error_vocabulary_depends_on_nothing() -> None:
    for name in sorted(ANYWHERE):
        assert _imports(SRC / f"{name}.py") == set(), f"hunkwise/{name}.py imports other hunkwise modules"


def test_every_root_module_is_placed() -> None:
    modules = {p.stem for p in SRC.glob("*.py")} - {"__init__", "__main__"}
    assert modules <= ANYWHERE, f"root modules missing from the layering map: {modules - ANYWHERE}"


def test_every_package_is_placed() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(BELOW), f"packages missing from the layering map: {packages - set(BELOW)}"
