"""Names a reader can trust: one class per name, file names that say which file, documented APIs.

A class name used twice makes every traceback, log line and ``import`` ambiguous; a file named like
its neighbour's sends a reader (and an editor's "open file") to the wrong one. Where a repeated file
name is the clearer choice (``routes/jobs.py`` serves what ``store/jobs.py`` keeps), the package
makes it obvious, it is listed below with the reason, and each file's docstring names the others.
The public API of the gateway, the review engine and the store is what the other layers build on,
so each of its classes and functions says why it exists.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "hunkwise"

# File name -> (the files allowed to carry it, relative to src/hunkwise; why the package makes it clear).
ALLOWED_REPEATS: dict[str, tuple[set[str], str]] = {
    "__init__.py": (set(), "every package has one"),
    "app.py": (
        {"cli/app.py", "server/app.py", "sim/app.py"},
        "the application object of each runnable package: the Typer command, the server's and the "
        "simulator's ASGI apps",
    ),
    "base.py": (
        {"gateway/adapters/base.py", "gateway/limits/base.py"},
        "the interface of its subpackage (adapters, limits backends)",
    ),
    "byok.py": (
        {"config/byok.py", "server/routes/byok.py"},
        "the BYOK rules, and the routes serving them (route modules are named after their resource)",
    ),
    "engine.py": (
        {"jobs/engine.py", "review/engine.py"},
        "each package's engine runs what the package is about: a job, a review",
    ),
    "errors.py": (
        {"errors.py", "gateway/errors.py", "review/errors.py"},
        "the one error tree and the gateway's and the review layer's branches of it",
    ),
    "jobs.py": (
        {"cli/jobs.py", "server/routes/jobs.py", "store/jobs.py"},
        "the command, the routes and the rows of review jobs (cli modules are named after their "
        "command, route modules after their resource, store modules after their rows)",
    ),
    "metrics.py": (
        {"jobs/metrics.py", "server/routes/metrics.py"},
        "the numbers, and the route serving them",
    ),
    "orgs.py": ({"server/routes/orgs.py", "store/orgs.py"}, "the routes and the rows of organizations"),
    "probe.py": ({"cli/probe.py", "gateway/probe.py"}, "the connection probe, and the command running it"),
    "secrets.py": (
        {"cli/secrets.py", "store/secrets.py"},
        "the keys at rest, and the command managing them",
    ),
    "signin.py": (
        {"server/signin.py", "store/signin.py"},
        "sign-in throttling at the HTTP edge, and its counters' rows",
    ),
    "tokens.py": (
        {"review/tokens.py", "sim/tokens.py"},
        "the review's token estimate, and the simulator's stand-in for a provider's tokenizer",
    ),
    "runner.py": (
        {"evaluation/runner.py", "jobs/distributed/runner.py"},
        "each package's runner runs its unit of work: an evaluation over a dataset, a job per message",
    ),
    "usage.py": (
        {"cli/usage.py", "server/routes/usage.py"},
        "the command and the routes of the usage view (cli modules are named after their command, "
        "route modules after their resource)",
    ),
    "anthropic_wire.py": (
        {"gateway/adapters/anthropic_wire.py", "sim/anthropic_wire.py"},
        "the client and the simulated server side of one wire",
    ),
    "openai_wire.py": (
        {"gateway/adapters/openai_wire.py", "sim/openai_wire.py"},
        "the client and the simulated server side of one wire",
    ),
}

DOCUMENTED_PACKAGES = ("gateway", "review", "store")


def _files_by_name(root: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        found[path.name].append(path)
    return found


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def repeated_name_problems(root: Path, allowed: dict[str, tuple[set[str], str]]) -> list[str]:
    """File names used more than once under ``root`` that are not allowed exactly where they are."""
    problems = []
    for name, paths in _files_by_name(root).items():
        if len(paths) < 2 or name == "__init__.py":
            continue
        where = {str(p.relative_to(root)) for p in paths}
        if name not in allowed:
            problems.append(f"{name} is used by {sorted(where)}: rename the one whose name misleads")
        elif where != allowed[name][0]:
            problems.append(f"{name} is allowed in {sorted(allowed[name][0])} but used in {sorted(where)}")
    return sorted(problems)


def duplicate_classes(root: Path) -> dict[str, list[str]]:
    """Class names defined more than once anywhere under ``root`` (nested classes included)."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef):
                found[node.name].append(f"{path.relative_to(root)}:{node.lineno}")
    return {name: where for name, where in found.items() if len(where) > 1}


def _public(body: list[ast.stmt]) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return [n for n in body if isinstance(n, kinds) and not n.name.startswith("_")]


def undocumented(root: Path) -> tuple[int, list[str]]:
    """(how many public classes and functions there are, those without a docstring) under ``root``.

    Public: no leading underscore, at module level or a method of a public class, in a module
    whose path has no private part. Alembic migrations are scripts, not API.
    """
    total, missing = 0, []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if "migrations" in parts or any(p.startswith("_") and p != "__init__.py" for p in parts):
            continue
        pending = [(node, "") for node in _public(ast.parse(path.read_text("utf-8")).body)]
        while pending:
            node, prefix = pending.pop(0)
            total += 1
            if ast.get_docstring(node) is None:
                missing.append(f"{path.relative_to(root.parent)}:{node.lineno} {prefix}{node.name}")
            if isinstance(node, ast.ClassDef):
                pending += [(child, f"{prefix}{node.name}.") for child in _public(node.body)]
    return total, missing


def test_no_file_name_repeats_without_a_listed_reason() -> None:
    problems = repeated_name_problems(PACKAGE, ALLOWED_REPEATS)
    assert not problems, "\n".join(problems)
    assert all(reason for _, reason in ALLOWED_REPEATS.values())


@pytest.mark.parametrize("name", sorted(set(ALLOWED_REPEATS) - {"__init__.py"}))
def test_each_repeated_file_names_its_namesakes(name: str) -> None:
    paths, _ = ALLOWED_REPEATS[name]
    modules = {path: _module(PACKAGE / path) for path in paths}
    for path, module in modules.items():
        doc = ast.get_docstring(ast.parse((PACKAGE / path).read_text("utf-8"))) or ""
        missing = [other for other in modules.values() if other != module and other not in doc]
        assert not missing, f"{path}'s docstring should say why it is named like {missing}"


def test_no_two_classes_share_a_name() -> None:
    assert duplicate_classes(PACKAGE) == {}


@pytest.mark.parametrize("package", DOCUMENTED_PACKAGES)
def test_the_public_api_is_documented(package: str) -> None:
    _, missing = undocumented(PACKAGE / package)
    assert not missing, (
        "public classes and functions without a docstring (say why they exist):\n" + "\n".join(missing)
    )


# The checks on small trees that break them.


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, "utf-8")
    return root


def test_a_new_namesake_is_caught(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {"store/jobs.py": "", "cli/jobs.py": "", "jobs/jobs.py": "", "a/util.py": "", "b/util.py": ""},
    )
    assert repeated_name_problems(root, {"jobs.py": ({"store/jobs.py", "cli/jobs.py"}, "why")}) == [
        "jobs.py is allowed in ['cli/jobs.py', 'store/jobs.py'] but used in "
        "['cli/jobs.py', 'jobs/jobs.py', 'store/jobs.py']",
        "util.py is used by ['a/util.py', 'b/util.py']: rename the one whose name misleads",
    ]


def test_a_class_defined_twice_is_caught(tmp_path: Path) -> None:
    root = _write(
        tmp_path, {"a.py": "class CallRecord:\n    class Inner: ...\n", "b/c.py": "\nclass CallRecord: ...\n"}
    )
    assert duplicate_classes(root) == {"CallRecord": ["a.py:1", "b/c.py:2"]}


def test_an_undocumented_public_api_is_caught(tmp_path: Path) -> None:
    text = '''\
class Router:
    """Why."""

    def chat(self): ...
    def _pick(self): ...

def build(): ...
def _helper(): ...
class _Private:
    def visible(self): ...
'''
    root = _write(tmp_path, {"gateway/router.py": text, "gateway/_impl.py": "def bare(): ...\n"})
    total, missing = undocumented(root / "gateway")
    assert (total, missing) == (3, ["gateway/router.py:7 build", "gateway/router.py:4 Router.chat"])
