"""The architecture's one-way imports, checked on the source (docs/architecture.md).

A module may import only from its own package and from the packages listed for it here. A new
upward import fails this test: move the code to the right room instead of widening the list.
Every way of importing counts (tests/import_graph.py): absolute, relative, a module path in a
string, inside a function or not. Above the gateway only its public surface, ``hunkwise.gateway``
itself, may be imported. No module-level import may close a cycle.

Each rule is a function of a source tree, and the second half of this file runs it on small
synthetic trees that break it, so a rule that silently stopped seeing anything would fail here.
"""

from __future__ import annotations

import ast
import importlib
import textwrap
import tomllib
from pathlib import Path

import pytest

from import_graph import (
    SourceTree,
    import_cycles,
    layer_violations,
    surface_violations,
)

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
TREE = SourceTree(SRC)

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

# Imports whose module is computed at run time, so no rule above can see them: each needs a reason.
DYNAMIC_IMPORTS = {
    "hunkwise.gateway.adapters.base": "the provider SDK (openai or anthropic) a wire needs, imported "
    "on first use so a CLI run that never calls a model does not pay for loading it",
}


@pytest.mark.parametrize("package", sorted(BELOW))
def test_imports_flow_downward_only(package: str) -> None:
    violations = layer_violations(TREE, package, BELOW[package] | ANYWHERE)
    assert not violations, "upward or sideways imports:\n" + "\n".join(violations)


def test_the_error_vocabulary_depends_on_nothing() -> None:
    for name in sorted(ANYWHERE):
        found = TREE.imports(f"hunkwise.{name}")
        assert found == [], f"hunkwise/{name}.py imports other hunkwise modules: {found}"


def test_every_root_module_is_placed() -> None:
    modules = {p.stem for p in (SRC / "hunkwise").glob("*.py")} - {"__init__", "__main__"}
    assert modules <= ANYWHERE, f"root modules missing from the layering map: {modules - ANYWHERE}"


def test_every_package_is_placed() -> None:
    packages = {p.name for p in (SRC / "hunkwise").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(BELOW), f"packages missing from the layering map: {packages - set(BELOW)}"


def test_layers_above_the_gateway_import_only_its_public_surface() -> None:
    violations = surface_violations(TREE, "gateway")
    assert not violations, "imports of the gateway's inner modules:\n" + "\n".join(violations)


def _all_of(path: Path) -> list[str]:
    for node in ast.parse(path.read_text("utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise AssertionError(f"{path.relative_to(ROOT)} has no __all__")


def test_the_gateway_surface_is_declared_and_is_what_callers_use() -> None:
    exported = _all_of(SRC / "hunkwise" / "gateway" / "__init__.py")
    gateway = importlib.import_module("hunkwise.gateway")
    assert [n for n in exported if not hasattr(gateway, n)] == [], "names in __all__ that do not exist"
    used: dict[str, str] = {}
    for module, path in TREE.modules.items():
        if module.startswith("hunkwise.gateway"):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "hunkwise.gateway":
                for alias in node.names:
                    used[alias.name] = f"{path.relative_to(SRC)}:{node.lineno}"
    hidden = {name: where for name, where in used.items() if name not in exported}
    assert not hidden, f"names imported from hunkwise.gateway but missing from its __all__: {hidden}"


def test_every_import_names_a_module_of_the_tree() -> None:
    # A rename that missed an import (or a merge that brought one back) fails here, not at run time.
    missing = [
        f"{imp.where(TREE)} imports {imp.target}"
        for module in TREE.modules
        for imp in TREE.imports(module)
        if imp.target not in TREE.modules
    ]
    assert not missing, "imports of modules that do not exist:\n" + "\n".join(missing)


def test_no_module_level_import_cycles() -> None:
    cycles = import_cycles(TREE.graph())
    assert not cycles, "module-level import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_dynamic_imports_are_listed_with_a_reason() -> None:
    found = {d.source: d.call for m in TREE.modules for d in TREE.dynamic_imports(m)}
    assert set(found) == set(DYNAMIC_IMPORTS), (
        f"import calls with a computed module name: {found}; import the module by name instead, "
        "or list it in DYNAMIC_IMPORTS with the reason"
    )


def test_entry_points_name_modules_of_the_tree() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    for name, target in scripts.items():
        module, _, attr = target.partition(":")
        assert module in TREE.modules, f"entry point {name} names a missing module: {target}"
        assert hasattr(importlib.import_module(module), attr), f"entry point {name}: no {attr} in {module}"


# The rules on synthetic trees that break them.


def _tree(root: Path, files: dict[str, str]) -> SourceTree:
    """A package ``hunkwise`` under ``root`` with ``files`` (paths below it); every directory gets an
    ``__init__.py`` unless one is given."""
    for name, text in files.items():
        path = root / "hunkwise" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), "utf-8")
    for directory in [root / "hunkwise", *(root / "hunkwise").rglob("*")]:
        if directory.is_dir() and not (directory / "__init__.py").exists():
            (directory / "__init__.py").write_text("", "utf-8")
    return SourceTree(root)


def test_a_relative_import_upward_is_caught(tmp_path: Path) -> None:
    tree = _tree(
        tmp_path,
        {
            "store/jobs.py": "",
            "config/byok.py": "from ..store import jobs\nfrom . import spec\nfrom .spec import X\n",
            "config/spec.py": "X = 1\n",
        },
    )
    assert layer_violations(tree, "config", set()) == [
        "hunkwise/config/byok.py:1 imports hunkwise.store.jobs (relative)"
    ]
    found = [(i.line, i.target) for i in tree.imports("hunkwise.config.byok")]
    assert found == [(1, "hunkwise.store.jobs"), (2, "hunkwise.config.spec"), (3, "hunkwise.config.spec")]


def test_a_relative_import_from_a_package_init_resolves_against_the_package(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"config/__init__.py": "from ..store import rows\n", "store/rows.py": ""})
    assert [i.target for i in tree.imports("hunkwise.config")] == ["hunkwise.store.rows"]


def test_string_imports_are_caught(tmp_path: Path) -> None:
    tree = _tree(
        tmp_path,
        {
            "server/app.py": "",
            "config/wiring.py": """\
                import importlib
                import uvicorn

                def late():
                    return importlib.import_module("hunkwise.server.app")

                def serve():
                    uvicorn.run("hunkwise.server.app:create_app")

                OLD = __import__("hunkwise.server")
                """,
        },
    )
    assert layer_violations(tree, "config", set()) == [
        "hunkwise/config/wiring.py:5 imports hunkwise.server.app (string)",
        "hunkwise/config/wiring.py:8 imports hunkwise.server.app (string)",
        "hunkwise/config/wiring.py:10 imports hunkwise.server (string)",
    ]


def test_a_computed_import_is_reported_as_dynamic(tmp_path: Path) -> None:
    tree = _tree(
        tmp_path,
        {"gateway/sdk.py": "import importlib\n\ndef load(n):\n    return importlib.import_module(n)\n"},
    )
    assert [(d.line, d.call) for d in tree.dynamic_imports("hunkwise.gateway.sdk")] == [
        (4, "importlib.import_module(n)")
    ]


def test_an_inner_gateway_module_imported_from_above_is_caught(tmp_path: Path) -> None:
    tree = _tree(
        tmp_path,
        {
            "gateway/__init__.py": "from hunkwise.gateway.router import Router\n",
            "gateway/router.py": "from hunkwise.gateway.types import Slot\n",
            "gateway/types.py": "Slot = object\n",
            "review/engine.py": """\
                from hunkwise.gateway import Router
                from hunkwise.gateway import types
                from hunkwise.gateway.router import Router as R
                """,
        },
    )
    assert surface_violations(tree, "gateway") == [
        "hunkwise/review/engine.py:2 imports hunkwise.gateway.types (use hunkwise.gateway)",
        "hunkwise/review/engine.py:3 imports hunkwise.gateway.router (use hunkwise.gateway)",
    ]


def test_a_module_level_cycle_is_caught_and_a_deferred_import_is_not(tmp_path: Path) -> None:
    tree = _tree(
        tmp_path,
        {
            "a.py": "import hunkwise.b\n",
            "b.py": "from hunkwise import c\n",
            "c.py": "from hunkwise.a import x\n",
            "d.py": "def f():\n    from hunkwise import e\n",
            "e.py": """\
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from hunkwise import d
                import hunkwise.a
                """,
        },
    )
    assert import_cycles(tree.graph()) == [["hunkwise.a", "hunkwise.b", "hunkwise.c", "hunkwise.a"]]


def test_a_cycle_through_a_package_init_is_caught(tmp_path: Path) -> None:
    # Importing hunkwise.web.pages runs hunkwise.web/__init__ first, which imports routes again.
    tree = _tree(
        tmp_path,
        {
            "routes/__init__.py": "from hunkwise.web import install\n",
            "routes/byok.py": "",
            "web/__init__.py": "from hunkwise.web.pages import install\n",
            "web/pages.py": "from hunkwise.routes import byok\ninstall = 1\n",
        },
    )
    assert import_cycles(tree.graph()) == [
        ["hunkwise.routes", "hunkwise.web", "hunkwise.web.pages", "hunkwise.routes"]
    ]
