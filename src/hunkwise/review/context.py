"""Code context beyond the hunk: the enclosing function or class of each change, from the head revision.

A diff shows three lines around each change; a reviewer reads the whole function. Reviewers that
lead on quality send the enclosing definition with each hunk; so can we, within the packing
budget (:mod:`hunkwise.review.packing` counts these lines and drops them first when a request is
full). Context lines are rendered as unchanged lines, so the coverage guarantee is untouched:
they are never a review target and a finding on them is not anchored.

Modes (``--context``, ``[review] context``):

- ``none``: the changed lines only (the diff's own unchanged lines are left out);
- ``hunk``: the diff as git wrote it (the default);
- ``function``: plus the innermost enclosing function, method or class of every changed line;
- ``file``: plus the whole head file, where it fits.

The enclosing definition is found with tree-sitter's maintained grammars for Python, Go, Java,
JavaScript and TypeScript, and with an indentation heuristic for other languages. Head files
come from a :class:`HeadFiles` source (the local repository at the reviewed revision, a
directory, the platform's API); a file whose text does not match the diff's added lines is from
another revision and gets no context, so a stale source can cost context, never correctness.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

from hunkwise.review.diff import FileDiff

ContextMode = Literal["none", "hunk", "function", "file"]
CONTEXT_MODES: tuple[str, ...] = get_args(ContextMode)
DEFAULT_CONTEXT: ContextMode = "hunk"
MAX_BLOCK_LINES = 150  # an enclosing definition longer than this is cut around the change
MAX_HEAD_BYTES = 2_000_000  # a larger head file is not read for context

# Definition nodes per tree-sitter grammar: the innermost one around a change is its context.
_DEFINITIONS: dict[str, frozenset[str]] = {
    "python": frozenset({"function_definition", "class_definition"}),
    "go": frozenset({"function_declaration", "method_declaration", "type_declaration", "func_literal"}),
    "java": frozenset(
        {
            "method_declaration",
            "constructor_declaration",
            "class_declaration",
            "interface_declaration",
            "enum_declaration",
            "record_declaration",
            "lambda_expression",
        }
    ),
    "javascript": frozenset(
        {
            "function_declaration",
            "function_expression",
            "arrow_function",
            "method_definition",
            "class_declaration",
            "generator_function_declaration",
        }
    ),
}
_DEFINITIONS["typescript"] = _DEFINITIONS["javascript"] | {
    "interface_declaration",
    "abstract_class_declaration",
}
_DEFINITIONS["tsx"] = _DEFINITIONS["typescript"]

# The heuristic's idea of a definition's first line, for languages without a grammar here.
_HEADER_RE = re.compile(
    r"^\s*(?:(?:export|public|private|protected|internal|static|async|final|abstract|override|"
    r"open|suspend|inline|pub(?:\([^)]*\))?|unsafe|extern|virtual)\s+)*"
    r"(?:def|class|func|fun|fn|function|module|interface|struct|enum|impl|trait|object|sub|proc|"
    r"procedure|method|record)\b"
)


class HeadFiles(Protocol):
    """Where the head revision's files are read from (``None``: not available)."""

    def read(self, path: str) -> str | None:
        """A file of the head revision, or None when it cannot be had: context is
        best effort and never fails a review.
        """


@dataclass(frozen=True, slots=True)
class DirectoryHead:
    """Head files in a directory (a checkout, an eval case's ``head/``). Paths from a diff are
    untrusted: one that would leave the directory is not read."""

    root: Path

    def read(self, path: str) -> str | None:
        """Read inside the directory only, and nothing over ``MAX_HEAD_BYTES``:
        the path comes from an untrusted diff.
        """
        root = self.root.resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return None
        if target.stat().st_size > MAX_HEAD_BYTES:
            return None
        return target.read_text("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class MappingHead:
    """Head files given as text (tests, the eval's JSONL cases)."""

    files: Mapping[str, str]

    def read(self, path: str) -> str | None:
        """The given text for the path, so tests and the eval need no checkout."""
        return self.files.get(path)


@dataclass(frozen=True, slots=True)
class FileContext:
    """Context lines for one file: runs of ``(line number, text)``, each run one definition."""

    runs: tuple[tuple[tuple[int, str], ...], ...]

    @property
    def lines(self) -> int:
        """How many context lines this file adds, charged to the packing budget."""
        return sum(len(run) for run in self.runs)


def _grammar(language: str, path: str) -> str | None:
    if language == "typescript" and path.endswith((".tsx", ".jsx")):
        return "tsx"
    return language if language in _DEFINITIONS else None


@lru_cache(maxsize=8)
def _parser(grammar: str) -> Any | None:
    """A tree-sitter parser, or ``None`` when the grammar package is not installed (then the
    indentation heuristic stands in)."""
    try:
        import tree_sitter

        if grammar == "python":
            import tree_sitter_python as module

            handle = module.language()
        elif grammar == "go":
            import tree_sitter_go as module

            handle = module.language()
        elif grammar == "java":
            import tree_sitter_java as module

            handle = module.language()
        elif grammar == "javascript":
            import tree_sitter_javascript as module

            handle = module.language()
        else:
            import tree_sitter_typescript as module

            handle = module.language_tsx() if grammar == "tsx" else module.language_typescript()
        return tree_sitter.Parser(tree_sitter.Language(handle))
    except ImportError:
        return None


def enclosing_blocks(language: str, path: str, text: str, targets: Iterable[int]) -> list[tuple[int, int]]:
    """1-based inclusive line ranges of the innermost definitions around ``targets`` (merged)."""
    lines = text.split("\n")
    wanted = sorted({n for n in targets if 1 <= n <= len(lines)})
    if not wanted:
        return []
    grammar = _grammar(language, path)
    parser = _parser(grammar) if grammar else None
    if parser is not None and grammar is not None:
        ranges = _tree_blocks(parser, _DEFINITIONS[grammar], text, lines, wanted)
    else:
        ranges = [r for n in wanted if (r := _indent_block(lines, n)) is not None]
    return _merge(_cut(r, wanted) for r in ranges)


def _tree_blocks(
    parser: Any, kinds: frozenset[str], text: str, lines: list[str], wanted: list[int]
) -> list[tuple[int, int]]:
    tree = parser.parse(text.encode("utf-8", "surrogatepass"))
    out: list[tuple[int, int]] = []
    for n in wanted:
        line = lines[n - 1]
        column = len(line.encode("utf-8", "surrogatepass")) - len(
            line.lstrip().encode("utf-8", "surrogatepass")
        )
        node = tree.root_node.descendant_for_point_range((n - 1, column), (n - 1, column))
        while node is not None and node.type not in kinds:
            node = node.parent
        if node is not None:
            out.append((node.start_point[0] + 1, node.end_point[0] + 1))
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _indent_block(lines: list[str], n: int) -> tuple[int, int] | None:
    """The nearest definition header above line ``n`` indented less than it, through the last
    line before the code returns to the header's indentation (a closing brace included)."""
    target = lines[n - 1]
    level = _indent(target) if target.strip() else 10**6
    start = None
    for i in range(n - 1, -1, -1):
        line = lines[i]
        if line.strip() and (_indent(line) < level or i == n - 1) and _HEADER_RE.match(line):
            start = i
            break
        if line.strip() and _indent(line) < level:
            level = _indent(line)
    if start is None:
        return None
    header = _indent(lines[start])
    end = start
    for j in range(start + 1, len(lines)):
        line = lines[j]
        if not line.strip():
            continue
        if _indent(line) <= header:
            if line.strip()[0] in "}])" or line.strip() in ("end", "fi", "esac", "done"):
                end = j
            break
        end = j
    return (start + 1, end + 1)


def _cut(block: tuple[int, int], wanted: list[int]) -> tuple[int, int]:
    """A block longer than :data:`MAX_BLOCK_LINES` is kept around its changes (and its header)."""
    lo, hi = block
    if hi - lo + 1 <= MAX_BLOCK_LINES:
        return block
    inside = [n for n in wanted if lo <= n <= hi] or [lo]
    mid = (min(inside) + max(inside)) // 2
    start = max(lo, mid - MAX_BLOCK_LINES // 2)
    return (start, min(hi, start + MAX_BLOCK_LINES - 1))


def _merge(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def matches_diff(file: FileDiff, head_lines: list[str]) -> bool:
    """Whether ``head_lines`` is the revision the diff ends at: every added line is there, at its
    number (CRs and a missing final newline aside)."""
    for hunk in file.hunks:
        for ln in hunk.lines:
            if ln.new_no is None or ln.kind == "-":
                continue
            if ln.new_no > len(head_lines) or head_lines[ln.new_no - 1].rstrip("\r") != ln.text:
                return False
    return True


def file_context(file: FileDiff, language: str, head: str, mode: ContextMode) -> FileContext | None:
    """The context lines of one file in ``mode`` (lines the diff already shows left out), or
    ``None`` when ``head`` is not the diff's head revision or the mode adds nothing."""
    if mode in ("none", "hunk"):
        return None
    lines = head.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not matches_diff(file, lines):
        return None
    shown = {ln.new_no for h in file.hunks for ln in h.lines if ln.new_no is not None}
    if mode == "file":
        blocks = [(1, len(lines))]
    else:
        blocks = enclosing_blocks(language, file.path, "\n".join(lines), file.changed_lines())
    runs: list[tuple[tuple[int, str], ...]] = []
    for lo, hi in blocks:
        run: list[tuple[int, str]] = []
        for n in range(lo, hi + 1):
            if n in shown:
                if run:
                    runs.append(tuple(run))
                    run = []
                continue
            run.append((n, lines[n - 1].rstrip("\r")))
        if run:
            runs.append(tuple(run))
    return FileContext(tuple(runs)) if runs else None


__all__ = [
    "CONTEXT_MODES",
    "DEFAULT_CONTEXT",
    "ContextMode",
    "DirectoryHead",
    "FileContext",
    "HeadFiles",
    "MappingHead",
    "enclosing_blocks",
    "file_context",
    "matches_diff",
]
