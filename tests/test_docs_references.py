"""Every file, module and link the docs name exists, so a rename cannot leave the docs pointing nowhere.

Checked in README.md and docs/*.md: repository paths in code spans or anywhere in the text
(``jobs/engine.py``, ``tests/browser/``; tried from the repository root, ``src/hunkwise``, ``src``
and ``docs``), module paths in code spans (``hunkwise.config.byok``, ``config.byok.guarded_clients``:
the module is imported and each further name must be an attribute of it), bare ``*.py`` file
names, relative Markdown links, and ``from hunkwise... import ...`` lines in code blocks.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BASES = (ROOT, ROOT / "src" / "hunkwise", ROOT / "src", ROOT / "docs")
LAYERS = "catalog|sim|gateway|config|store|review|platforms|jobs|server|cli|errors"

# Paths the docs name that are not in this repository, each with the reason.
NOT_OURS = {
    ".github/workflows/hunkwise.yml": "the workflow file a user adds to their own repository (docs/ci.md)",
    "_exceptions.py": "httpx's module, named as the model of the error tree (docs/errors.md)",
    "head/src/db.py": "a file of the example evaluation case in docs/eval.md, not of this repository",
    "src/db.py": "the same example case's file, as its case.json names it (docs/eval.md)",
    "eval/cases/x/case.json": "the case 'x' of an example error message (docs/eval.md)",
    "src/inventory/config.py": "a file of examples/sample.diff, the PR of the thread in docs/conversation.md",
    "src/inventory/pricing.py": "another file of examples/sample.diff (docs/conversation.md)",
    "src/inventory/extra.py": "the file the journey of docs/conversation.md adds to that pull request",
}

_SPAN = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_EXTENSIONS = r"py|md|toml|ya?ml|json|diff|txt|lua|html|css|js|sql|ini|cfg|sh"
# A path: a file with an extension under a directory, or a directory under a directory written with
# its trailing slash (a lone ``dist/`` is a glob of the user's repository; ``owner/name``,
# ``origin/HEAD`` or ``application/json`` are not paths at all).
_PATH = re.compile(rf"^(?:[\w.\-]+/)+[\w.\-]+\.(?:{_EXTENSIONS})$|^[\w.\-]+(?:/[\w.\-]+)+/$")
# The same paths written outside code spans (prose, diagrams); not preceded by ``/``, ``.`` or ``~``,
# so ``~/.config/hunkwise/config.toml`` and URLs are not taken for ours.
_BARE_PATH = re.compile(rf"(?<![\w/.~:-])((?:[\w\-]+/)+[\w\-]+\.(?:{_EXTENSIONS}))\b")
_URL = re.compile(r"https?://\S+")
_FILE_NAME = re.compile(r"^[\w\-]+\.(?:py|md)$")
_MODULE = re.compile(rf"^(?!.*\.(?:{_EXTENSIONS})$)(?:hunkwise\.)?(?:{LAYERS})(?:[./]\w+)*(?:\(.*\))?$")
_IMPORT = re.compile(
    r"^\s*from (hunkwise(?:\.\w+)*) import \(?([\w, ]+)\)?\s*$|^\s*import (hunkwise(?:\.\w+)*)\s*$"
)


def _exists(path: str) -> bool:
    return any((base / path).exists() for base in BASES)


def _resolve(dotted: str) -> str | None:
    """Why ``dotted`` (``hunkwise.a.b.attr``) names nothing, or None when it names something."""
    parts = dotted.split(".")
    module: ModuleType | None = None
    for i in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        break
    if module is None:
        return "no such module"
    target: object = module
    for name in parts[i:]:
        if not hasattr(target, name):
            return f"{'.'.join(parts[:i])} has no {'.'.join(parts[i:])}"
        target = getattr(target, name)
    return None


def references(text: str, doc: Path) -> list[tuple[int, str, str | None]]:
    """(line, reference, why it names nothing or None) for everything a doc points at."""
    found: list[tuple[int, str, str | None]] = []
    for number, line in enumerate(text.splitlines(), 1):
        for span in _SPAN.findall(line):
            token = span.strip()
            if token in NOT_OURS:
                continue
            if _PATH.match(token) and not token.startswith(("HUNKWISE_HOME/", "~", "$")):
                found.append((number, token, None if _exists(token) else "no such file or directory"))
            elif _FILE_NAME.match(token):
                hit = any(ROOT.glob(f"**/{token}"))
                found.append((number, token, None if hit else "no file of that name in the repository"))
            elif _MODULE.match(token):
                dotted = token.split("(")[0].replace("/", ".")
                full = dotted if dotted.startswith("hunkwise.") else f"hunkwise.{dotted}"
                found.append((number, token, _resolve(full)))
        for token in _BARE_PATH.findall(_URL.sub("", _SPAN.sub("", line))):
            if token not in NOT_OURS:
                found.append((number, token, None if _exists(token) else "no such file or directory"))
        for target in _LINK.findall(line):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            path = target.split("#")[0]
            ok = (doc.parent / path).exists()
            found.append((number, target, None if ok else "link to a missing file"))
        match = _IMPORT.match(line)
        if match:
            if match[3]:
                found.append((number, match[3], _resolve(match[3])))
            else:
                for name in (n.strip() for n in match[2].split(",")):
                    if name:
                        found.append((number, f"{match[1]}.{name}", _resolve(f"{match[1]}.{name}")))
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_reference_in_the_docs_exists(doc: Path) -> None:
    broken = [
        f"{doc.relative_to(ROOT)}:{n}: {ref}: {why}"
        for n, ref, why in references(doc.read_text("utf-8"), doc)
        if why
    ]
    assert not broken, "the docs point at things that do not exist:\n" + "\n".join(broken)


def test_the_docs_do_reference_the_code() -> None:
    # If the patterns stopped matching, the test above would pass on anything.
    counted = sum(len(references(doc.read_text("utf-8"), doc)) for doc in DOCS)
    assert counted > 100


def test_a_stale_reference_is_caught(tmp_path: Path) -> None:
    doc = tmp_path / "stale.md"
    text = """\
The engine (`jobs/engine.py`) and the old pool (`jobs/worker.py`, or jobs/worker.py), `store.byok.save_byok`,
`hunkwise.store.byok_slots.save_byok`, `hunkwise.gateway.Router.chat`, `hunkwise.gateway.Nope`,
`HUNKWISE_HOME/secret.key`, `nothing_here.py`, [a link](missing.md).

```python
from hunkwise.gateway import Router, Gone
```
"""
    assert [(n, ref, why) for n, ref, why in references(text, doc) if why] == [
        (1, "jobs/worker.py", "no such file or directory"),
        (1, "store.byok.save_byok", "hunkwise.store has no byok.save_byok"),
        (1, "jobs/worker.py", "no such file or directory"),
        (2, "hunkwise.gateway.Nope", "hunkwise.gateway has no Nope"),
        (3, "nothing_here.py", "no file of that name in the repository"),
        (3, "missing.md", "link to a missing file"),
        (6, "hunkwise.gateway.Gone", "hunkwise.gateway has no Gone"),
    ]
