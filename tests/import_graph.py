"""hunkwise's imports read from its source, in every form Python imports by, for tests/test_layering.py.

Why our own reader and not import-linter or pydeps: the rules are few and ours, and they need what
a plain ``import`` scan misses. A relative import (``from ..store import jobs``) is resolved to the
module it names; ``from package import name`` counts as an import of ``package.name`` when that is
a module; a module path in a string (``importlib.import_module("hunkwise.x")``, ``__import__``,
``importlib.resources.files("hunkwise.x")``, a ``"hunkwise.x:attr"`` app or entry-point string)
is an import too. Each import knows whether it runs when its module is imported (module level,
class bodies included) or later (inside a function, or under ``if TYPE_CHECKING:``), because
only the first kind can form an import cycle.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

# Calls that import the module named by their first argument.
_IMPORT_CALLS = {"import_module", "__import__", "find_spec", "resolve_name"}
# ``importlib.resources.files("pkg")`` imports ``pkg`` too, but ``files`` is a common name: only a
# string naming one of our modules counts there.
_PACKAGE_CALLS = {"files"}
_ENTRY_POINT = re.compile(r"^(?P<module>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):[A-Za-z_][\w.]*$")


@dataclass(frozen=True)
class Import:
    """One import of one of the tree's modules; ``target`` is absolute and resolved."""

    source: str
    target: str
    line: int
    module_level: bool
    how: str  # "import", "from", "relative" or "string"

    def where(self, tree: SourceTree) -> str:
        return f"{tree.relative(self.source)}:{self.line}"


@dataclass(frozen=True)
class DynamicImport:
    """An import call whose module is computed at run time, so no rule can see what it imports."""

    source: str
    line: int
    call: str


class SourceTree:
    """The modules of one top-level package under ``root`` (``root/<package>/...``)."""

    def __init__(self, root: Path, package: str = "hunkwise") -> None:
        self.root = root
        self.package = package
        self.modules: dict[str, Path] = {}
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            self.modules[".".join(parts)] = path
        self._cache: dict[str, tuple[list[Import], list[DynamicImport]]] = {}

    def relative(self, module: str) -> str:
        return str(self.modules[module].relative_to(self.root))

    def is_package(self, module: str) -> bool:
        return module in self.modules and self.modules[module].name == "__init__.py"

    def ours(self, name: str) -> bool:
        return name == self.package or name.startswith(self.package + ".")

    def under(self, package: str) -> list[str]:
        """Modules of ``package`` (itself and everything below it)."""
        return [m for m in self.modules if m == package or m.startswith(package + ".")]

    def imports(self, module: str) -> list[Import]:
        return self._read(module)[0]

    def dynamic_imports(self, module: str) -> list[DynamicImport]:
        return self._read(module)[1]

    def graph(self) -> dict[str, set[str]]:
        """Module -> modules its import executes (module-level imports only).

        Importing ``a.b.c`` first runs the packages ``a`` and ``a.b``, so they are edges too,
        except the importer's own packages: those are already being imported when it runs.
        """
        edges: dict[str, set[str]] = {m: set() for m in self.modules}
        for module in self.modules:
            own = set(_ancestors(module)) | {module}
            for imp in self.imports(module):
                if not imp.module_level:
                    continue
                for name in [*_ancestors(imp.target), imp.target]:
                    if name in self.modules and name not in own:
                        edges[module].add(name)
        return edges

    def _read(self, module: str) -> tuple[list[Import], list[DynamicImport]]:
        if module not in self._cache:
            path = self.modules[module]
            reader = _Reader(self, module)
            reader.walk(ast.parse(path.read_text("utf-8"), str(path)), module_level=True)
            self._cache[module] = (reader.found, reader.dynamic)
        return self._cache[module]


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


class _Reader:
    def __init__(self, tree: SourceTree, module: str) -> None:
        self.tree = tree
        self.module = module
        self.found: list[Import] = []
        self.dynamic: list[DynamicImport] = []

    def walk(self, node: ast.AST, *, module_level: bool) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            # Decorators and defaults run at definition time; the body only when called.
            later = node.body if isinstance(node.body, list) else [node.body]
            for child in ast.iter_child_nodes(node):
                self.walk(child, module_level=module_level and child not in later)
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                self.walk(child, module_level=False)
            for child in node.orelse:
                self.walk(child, module_level=module_level)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                self._add(alias.name, node.lineno, module_level, "import")
        elif isinstance(node, ast.ImportFrom):
            self._from(node, module_level)
        elif isinstance(node, ast.Call):
            self._call(node, module_level)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = _ENTRY_POINT.match(node.value)
            if match:
                self._add(match["module"], node.lineno, module_level, "string")
        for child in ast.iter_child_nodes(node):
            self.walk(child, module_level=module_level)

    def _from(self, node: ast.ImportFrom, module_level: bool) -> None:
        how = "from"
        base = node.module or ""
        if node.level:
            how = "relative"
            parts = self.module.split(".")
            if not self.tree.is_package(self.module):
                parts = parts[:-1]
            if node.level - 1 >= len(parts):
                raise ValueError(
                    f"{self.tree.relative(self.module)}:{node.lineno}: relative import beyond the top"
                )
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join([*parts, base] if base else parts)
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            self._add(sub if sub in self.tree.modules else base, node.lineno, module_level, how)

    def _call(self, node: ast.Call, module_level: bool) -> None:
        name = _call_name(node.func)
        if name not in _IMPORT_CALLS | _PACKAGE_CALLS or not node.args:
            return
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            target = arg.value.split(":")[0]
            if name in _IMPORT_CALLS or target in self.tree.modules:
                self._add(target, node.lineno, module_level, "string")
        elif name in _IMPORT_CALLS:
            self.dynamic.append(DynamicImport(self.module, node.lineno, ast.unparse(node)))

    def _add(self, target: str, line: int, module_level: bool, how: str) -> None:
        imp = Import(self.module, target, line, module_level, how)
        if self.tree.ours(target) and imp not in self.found:
            self.found.append(imp)


# The rules, each a function of a tree, so tests/test_layering.py runs the same code on the real
# source and on small synthetic trees that must fail.


def layer_of(tree: SourceTree, name: str) -> str | None:
    """The first-level package or root module of ``hunkwise.<layer>...``, if it exists."""
    parts = name.split(".")
    if len(parts) < 2:
        return None
    layer = parts[1]
    placed = (tree.root / tree.package / layer).is_dir() or (
        tree.root / tree.package / f"{layer}.py"
    ).is_file()
    return layer if placed else None


def layer_violations(tree: SourceTree, layer: str, allowed: set[str]) -> list[str]:
    """Imports (of any form, anywhere in the module) from ``layer`` into a layer it may not use."""
    found = []
    for module in tree.under(f"{tree.package}.{layer}"):
        for imp in tree.imports(module):
            target = layer_of(tree, imp.target)
            if target is not None and target not in allowed | {layer}:
                found.append(f"{imp.where(tree)} imports {imp.target} ({imp.how})")
    return found


def surface_violations(tree: SourceTree, package: str) -> list[str]:
    """Imports of ``package``'s inner modules from outside it: only its ``__init__`` is public."""
    full = f"{tree.package}.{package}"
    found = []
    for module in tree.modules:
        if module == full or module.startswith(full + "."):
            continue
        for imp in tree.imports(module):
            if imp.target.startswith(full + "."):
                found.append(f"{imp.where(tree)} imports {imp.target} (use {full})")
    return found


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One concrete cycle per strongly connected component, each as [a, b, ..., a]."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan; the graphs are a few hundred modules deep at most
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_cycle_in(graph, set(c), c[0]) for c in components]


def _cycle_in(graph: dict[str, set[str]], members: set[str], start: str) -> list[str]:
    """A shortest path start -> ... -> start inside one component (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for nxt in sorted(graph[node] & members):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if nxt not in previous:
                    previous[nxt] = node
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    raise AssertionError(f"{start} is in a component but on no cycle")
