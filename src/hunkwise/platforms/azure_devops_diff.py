"""A git-style unified diff from Azure DevOps pull request changes and file contents.

Azure DevOps has no unified-diff endpoint: a pull request iteration lists its changed files
(path, change type) and the files are read at the base and head commits, then diffed here with
:mod:`difflib`. The review engine reads this text like any ``git diff``, so what it cannot see
must still be IN the text, never silently left out: a file too large to read, a binary file, or
one past the per-review file cap is written as git writes a file it shows no text for
(``Binary files a/X and b/X differ``), which the review's filters list as skipped (rule
``binary``) in the summary's coverage. A deleted file is written as a deletion without its
lines (the review never reviews removed code; its content is not read).

Pure (no httpx): tests build diffs from plain strings.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

from hunkwise.platforms import identity

Kind = Literal["add", "edit", "delete", "rename"]
CONTEXT_LINES = 3


@dataclass(frozen=True, slots=True)
class FileChange:
    """One changed file. Paths are repository paths without the leading ``/`` Azure uses.
    ``old_text``/``new_text``: the contents at base and head (None when not read: a deletion's
    head, an addition's base). ``unreadable``: binary, too large, or past the file cap."""

    kind: Kind
    path: str
    old_path: str
    old_text: str | None = None
    new_text: str | None = None
    unreadable: bool = False


def kind_of(change_type: str) -> Kind | None:
    """Azure's ``changeType`` (flags joined with ``", "``: ``"edit, rename"``) as one kind, or
    None for a change with no content to compare (``none``, ``lock``, ``branch``...)."""
    flags = {f.strip().lower() for f in change_type.split(",")}
    if "delete" in flags:
        return "delete"
    if "add" in flags:
        return "add"
    if "rename" in flags or "sourcerename" in flags:
        return "rename"
    if flags & {"edit", "encoding", "property", "undelete", "merge", "targetrename"}:
        return "edit"
    return None


def lines_of(text: str) -> list[str]:
    """A file's lines as git and Azure number them: split at ``\n`` only (``str.splitlines``
    also splits at form feeds, ``\u2028`` and other separators, which would shift every later
    line number and put comments on the wrong lines), a ``\r`` before it dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def azure_path(path: str) -> str:
    """A repository path from a diff or a change (untrusted) as Azure names it: ``/a/b.py``."""
    return "/" + "/".join(identity.repository_file_path(path.lstrip("/")))


def change_of(entry: dict[str, Any]) -> FileChange | None:
    """An iteration's change entry (``item.path``, ``changeType``, ``originalPath`` of a rename)
    as a file change, contents not read yet; None for a folder or a change without content."""
    item = entry.get("item") if isinstance(entry.get("item"), dict) else {}
    if item.get("isFolder") or item.get("gitObjectType") == "tree":
        return None
    kind = kind_of(str(entry.get("changeType") or ""))
    path = item.get("path")
    if kind is None or not isinstance(path, str):
        return None
    new = azure_path(path).lstrip("/")
    original = entry.get("originalPath") or entry.get("sourceServerItem")
    old = azure_path(original).lstrip("/") if kind == "rename" and isinstance(original, str) else new
    return FileChange(kind, new, old)


def unreadable(data: bytes, limit: int) -> bool:
    """Whether a file is not reviewed as text: longer than ``limit`` bytes, or binary (a NUL
    byte in its first 8,000, git's own test)."""
    return len(data) > limit or b"\0" in data[:8000]


def render(changes: list[FileChange]) -> str:
    """The unified diff of ``changes``, in order, as ``git diff`` would write it."""
    out: list[str] = []
    for c in changes:
        out.extend(_file(c))
    return "\n".join(out) + "\n" if out else ""


def _file(c: FileChange) -> list[str]:
    old = "/dev/null" if c.kind == "add" else f"a/{c.old_path}"
    new = "/dev/null" if c.kind == "delete" else f"b/{c.path}"
    lines = [f"diff --git a/{c.old_path} b/{c.path}"]
    if c.kind == "add":
        lines.append("new file mode 100644")
    elif c.kind == "delete":
        return [*lines, "deleted file mode 100644"]
    elif c.kind == "rename" and c.old_path != c.path:
        lines += [f"rename from {c.old_path}", f"rename to {c.path}"]
    if c.unreadable:
        return [*lines, f"Binary files {old} and {new} differ"]
    before = lines_of(c.old_text or "") if c.kind != "add" else []
    after = lines_of(c.new_text or "")
    hunks = list(difflib.unified_diff(before, after, lineterm="", n=CONTEXT_LINES))[2:]
    if not hunks:
        return lines
    return [*lines, f"--- {old}", f"+++ {new}", *hunks]
