"""Build the bundled eval cases from their annotated sources.

Why a source format at all: a case's expected issues are given as head-side line numbers, and
hand-counted numbers drift the moment a line is added above them. A source file holds the whole
change once, base and head interleaved, with the issue lines marked; this script derives the
head files, the diff (real ``git diff`` output, so hunk counts and section headings are what
git writes) and the line numbers, so none of them is typed by hand.

Source format (``eval/sources/<case-id>.case``)::

    {JSON header: id, language, title, description, source,
     expected: [{"mark": "A", "severity": ..., "category": ..., "description": ...}]}
    @@@ file src/app/service.py            (or "@@@ file PATH new" for a file the change adds)
    an unprefixed line is in both base and head
    -|a line only in the base (removed by the change)
    +|a line only in the head (added by the change)  «A»

A ``«A»`` mark at the end of an added line puts that line in expected issue ``A``; the issue's
range is its first to its last marked line (all in one file). Usage::

    python eval/tools/build_case.py            # rebuild every case and eval/manifest.json
    python eval/tools/build_case.py ID [ID…]   # rebuild some cases (and the manifest)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parent.parent
SOURCES = EVAL_DIR / "sources"
CASES = EVAL_DIR / "cases"
MANIFEST = EVAL_DIR / "manifest.json"

PERMISSIVE = {"MIT", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "ISC"}
SEVERITIES = {"critical", "high", "medium", "low"}
CATEGORIES = {"bug", "security", "error-handling", "concurrency", "performance"}
_MARK = re.compile(r"\s*«([A-Z])»$")
_FILE = re.compile(r"^@@@ file (\S+)( new)?$")
# git picks the hunk section heading (the text after the second @@) with these drivers.
_GITATTRIBUTES = "*.py diff=python\n*.go diff=golang\n*.java diff=java\n*.ts diff=cpp\n*.js diff=cpp\n"


class CaseSourceError(ValueError):
    """A source file that cannot be turned into a case; the message names the file and line."""


@dataclass
class SourceFile:
    path: str
    new: bool
    base: list[str] = field(default_factory=list)
    head: list[str] = field(default_factory=list)
    marks: dict[str, list[int]] = field(default_factory=dict)  # mark -> head line numbers (1-based)


@dataclass
class CaseSource:
    header: dict
    files: list[SourceFile]


def parse_source(path: Path) -> CaseSource:
    """Split a ``.case`` file into its JSON header and per-file base/head lines with marks."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    first = next((i for i, ln in enumerate(lines) if _FILE.match(ln)), None)
    if first is None:
        raise CaseSourceError(f"{path}: no '@@@ file PATH' line; every case changes at least one file")
    try:
        header = json.loads("\n".join(lines[:first]))
    except json.JSONDecodeError as exc:
        raise CaseSourceError(f"{path}: the JSON header is invalid: {exc}") from None
    files: list[SourceFile] = []
    for no, raw in enumerate(lines[first:], start=first + 1):
        if m := _FILE.match(raw):
            files.append(SourceFile(m.group(1), bool(m.group(2))))
            continue
        cur = files[-1]
        mark = None
        if mm := _MARK.search(raw):
            mark, raw = mm.group(1), raw[: mm.start()]
        if raw.startswith("+|"):
            cur.head.append(raw[2:])
            if mark:
                cur.marks.setdefault(mark, []).append(len(cur.head))
        elif mark:
            raise CaseSourceError(f"{path}:{no}: mark «{mark}» on a line the change does not add")
        elif raw.startswith("-|"):
            if cur.new:
                raise CaseSourceError(f"{path}:{no}: a removed line in a new file")
            cur.base.append(raw[2:])
        else:
            if cur.new:
                raise CaseSourceError(f"{path}:{no}: an unchanged line in a new file (prefix it with '+|')")
            cur.base.append(raw)
            cur.head.append(raw)
    return CaseSource(header, files)


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "eval",
        "GIT_AUTHOR_EMAIL": "eval@example.invalid",
        "GIT_COMMITTER_NAME": "eval",
        "GIT_COMMITTER_EMAIL": "eval@example.invalid",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd),
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def make_diff(src: CaseSource) -> str:
    """The change as ``git diff`` prints it (a throwaway repository holds base, then head)."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        _git(repo, "init", "-q")
        (repo / ".git" / "info" / "attributes").write_text(_GITATTRIBUTES)
        for f in src.files:
            if not f.new:
                (repo / f.path).parent.mkdir(parents=True, exist_ok=True)
                (repo / f.path).write_text("".join(ln + "\n" for ln in f.base))
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "--allow-empty", "-m", "base")
        for f in src.files:
            (repo / f.path).parent.mkdir(parents=True, exist_ok=True)
            (repo / f.path).write_text("".join(ln + "\n" for ln in f.head))
        _git(repo, "add", "-A")
        return _git(repo, "diff", "--cached", "--no-color", "--no-ext-diff", "--no-renames", "-U3")


def case_json(src: CaseSource, name: str) -> dict:
    """The ``case.json`` document: the header with each mark resolved to a path and line range."""
    h = src.header
    if h.get("id") != name:
        raise CaseSourceError(f"{name}.case: header id {h.get('id')!r} differs from the file name")
    expected = []
    for issue in h.get("expected", []):
        mark = issue.get("mark")
        hits = [(f.path, f.marks[mark]) for f in src.files if mark in f.marks]
        if len(hits) != 1:
            raise CaseSourceError(f"{name}.case: mark «{mark}» must be on added lines of exactly one file")
        path, nos = hits[0]
        if issue.get("severity") not in SEVERITIES or issue.get("category") not in CATEGORIES:
            raise CaseSourceError(f"{name}.case: issue «{mark}» has a bad severity or category")
        expected.append(
            {
                "path": path,
                "start_line": min(nos),
                "end_line": max(nos),
                "severity": issue["severity"],
                "category": issue["category"],
                "description": issue["description"],
            }
        )
    used = {m for f in src.files for m in f.marks}
    if unused := used - {i.get("mark") for i in h.get("expected", [])}:
        raise CaseSourceError(f"{name}.case: marks {sorted(unused)} have no expected issue")
    source = h.get("source", {"kind": "original"})
    if source.get("kind") == "derived" and source.get("license") not in PERMISSIVE:
        raise CaseSourceError(f"{name}.case: derived from a non-permissive licence {source.get('license')!r}")
    return {
        "id": name,
        "language": h["language"],
        "title": h["title"],
        "description": h["description"],
        "expected": expected,
        "source": source,
    }


def build(name: str) -> dict:
    """Write ``eval/cases/<name>/`` (case.json, change.diff, head/…) from its source."""
    src = parse_source(SOURCES / f"{name}.case")
    doc = case_json(src, name)
    out = CASES / name
    if out.exists():
        shutil.rmtree(out)
    (out / "head").mkdir(parents=True)
    (out / "case.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    (out / "change.diff").write_text(make_diff(src))
    for f in src.files:
        target = out / "head" / f.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(ln + "\n" for ln in f.head))
    return doc


def manifest_entry(doc: dict) -> dict:
    source = doc["source"]
    return {
        "id": doc["id"],
        "language": doc["language"],
        "categories": sorted({e["category"] for e in doc["expected"]}),
        "issues": len(doc["expected"]),
        "clean": not doc["expected"],
        "source": source,
        "license": source.get("license", "MIT") if source.get("kind") == "derived" else "MIT",
    }


def write_manifest() -> None:
    docs = [json.loads((d / "case.json").read_text()) for d in sorted(CASES.iterdir()) if d.is_dir()]
    MANIFEST.write_text(json.dumps({"cases": [manifest_entry(d) for d in docs]}, indent=2) + "\n")


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in SOURCES.glob("*.case"))
    try:
        for name in names:
            doc = build(name)
            print(f"{name}: {len(doc['expected'])} expected issue(s)")
    except CaseSourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_manifest()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
