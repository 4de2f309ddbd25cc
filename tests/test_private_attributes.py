"""No code in ``src`` writes another library's private attributes.

A private attribute is not part of a library's contract: the next release may rename it, read it
before our overwrite lands, or build it differently (``config/ssrf_connect.py`` once replaced
``httpx2.AsyncHTTPTransport._pool`` to get its own network backend in; an httpx2 release that
built the pool lazily would have silently dropped the SSRF guard). Checked on the source:

- an assignment to ``<anything but self/cls>._name`` (or ``setattr(x, "_name", ...)``): the
  object may be anyone's, so only an object's own methods write its private attributes;
- ``self._name = ...`` in a class with a base from outside hunkwise, when ``_name`` belongs to
  that base (in its class dict, its ``__slots__``, or written as ``self._name`` in its source).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

SRC = Path(__file__).resolve().parents[1] / "src" / "hunkwise"
OWN = ("self", "cls")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@dataclass(frozen=True)
class Write:
    line: int
    owner: str  # the expression whose attribute is written: "self", "client", ...
    name: str
    cls: ast.ClassDef | None


def _writes(tree: ast.Module) -> list[Write]:
    found: list[Write] = []

    def visit(node: ast.AST, cls: ast.ClassDef | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, ast.ClassDef) else cls
            targets: list[ast.expr] = []
            if isinstance(child, ast.Assign):
                targets = list(child.targets)
            elif isinstance(child, (ast.AugAssign, ast.AnnAssign)):
                targets = [child.target]
            while targets:  # the attribute itself is set (``x._a[k] = v`` only mutates its value)
                t = targets.pop()
                if isinstance(t, (ast.Tuple, ast.List)):
                    targets += t.elts
                elif isinstance(t, ast.Starred):
                    targets.append(t.value)
                elif isinstance(t, ast.Attribute) and _private(t.attr):
                    found.append(Write(t.lineno, ast.unparse(t.value), t.attr, cls))
            if isinstance(child, ast.Call) and len(child.args) >= 2:
                func = ast.unparse(child.func)
                name = child.args[1]
                literal = name.value if isinstance(name, ast.Constant) else None
                if (
                    func in ("setattr", "object.__setattr__")
                    and isinstance(literal, str)
                    and _private(literal)
                ):
                    found.append(Write(child.lineno, ast.unparse(child.args[0]), literal, cls))
            visit(child, inner)

    visit(tree, None)
    return found


def _foreign_bases(cls: ast.ClassDef, namespace: dict[str, Any]) -> list[type]:
    bases: list[type] = []
    for expr in cls.bases:
        try:
            base = eval(ast.unparse(expr), namespace)  # a name or attribute the module imported
        except Exception:
            continue
        base = typing.get_origin(base) or base  # Generic[T], TypeDecorator[datetime]
        if not isinstance(base, type):
            continue
        for klass in base.__mro__:
            if klass is not object and not klass.__module__.startswith("hunkwise"):
                bases.append(klass)
    return bases


def _methods_source(klass: type) -> str:
    """The source of the class's own methods, found through their code objects: a class's
    ``__module__`` may be rewritten to its package's (httpx2 does), which ``getsource(klass)``
    would search instead of the file that defines it."""
    parts: list[str] = []
    for value in vars(klass).values():
        func = getattr(value, "__func__", value)  # classmethod, staticmethod
        func = getattr(func, "fget", func)  # property
        if inspect.isfunction(func):
            try:
                parts.append(inspect.getsource(func))
            except (OSError, TypeError):
                continue
    return "\n".join(parts)


def _belongs_to(name: str, klass: type) -> bool:
    if name in vars(klass) or name in getattr(klass, "__slots__", ()):
        return True
    written = re.compile(rf"\bself\.{re.escape(name)}\s*(?::[^=]*)?=(?!=)")
    return bool(written.search(_methods_source(klass)))


def violations(source: str, namespace: dict[str, Any] | None, where: str) -> list[str]:
    """What ``source`` writes that is another library's; ``namespace``: the module's globals
    (to resolve base classes), or None to import lazily only when a class needs it."""
    out: list[str] = []
    for write in _writes(ast.parse(source)):
        if write.owner not in OWN:
            owned = f"{write.owner}.{write.name}"
            out.append(f"{where}:{write.line}: writes {owned}, a private attribute of another object")
            continue
        if write.cls is None or not write.cls.bases:
            continue
        if namespace is None:
            module = where.removesuffix(".py").replace("/", ".")
            namespace = vars(importlib.import_module(module))
        for klass in _foreign_bases(write.cls, namespace):
            if _belongs_to(write.name, klass):
                out.append(
                    f"{where}:{write.line}: {write.cls.name} overwrites {klass.__module__}."
                    f"{klass.__qualname__}'s private {write.name}"
                )
    return out


def test_no_module_writes_a_private_attribute_of_a_third_party_object() -> None:
    found: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "__main__.py":
            continue
        where = str(path.relative_to(SRC.parent))
        found += violations(path.read_text("utf-8"), None, where)
    assert found == []


# The code this check was written for (config/ssrf_connect.py before it used httpx2's transport
# interface), and two other ways of doing the same: each must be caught.
_OLD_GUARDED_TRANSPORT = """
class GuardedTransport(httpx2.AsyncHTTPTransport):
    def __init__(self, policy, *, limits):
        super().__init__(limits=limits)
        self._pool = httpcore2.AsyncConnectionPool(network_backend=GuardedBackend(policy))
"""
_FROM_OUTSIDE = """
def guard(transport):
    transport._pool = make_pool()
    setattr(transport, "_pool", make_pool())
    first, transport._pool = None, make_pool()
    transport._pool[0] = None  # mutating a value is not setting the attribute: not counted
"""
_OWN_STATE = """
class GuardedTransport(httpx2.AsyncBaseTransport):
    def __init__(self):
        self._connections = object()
"""


def test_the_check_catches_the_old_overwrite_and_allows_own_state() -> None:
    namespace = {"httpx2": httpx2}
    [old] = violations(_OLD_GUARDED_TRANSPORT, namespace, "old.py")
    assert "GuardedTransport overwrites httpx2.AsyncHTTPTransport's private _pool" in old
    assert len(violations(_FROM_OUTSIDE, namespace, "outside.py")) == 3
    assert violations(_OWN_STATE, namespace, "own.py") == []
