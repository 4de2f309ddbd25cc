"""The bundled eval dataset (eval/) is what the issue promises and internally consistent.

Why these checks: `hunkwise eval` scores findings against expected line ranges, so a case whose
diff does not apply, whose head file disagrees with its diff, or whose issue sits on a line the
reviewer never sees would silently cost recall for every model. The minimums (cases, languages,
categories, clean changes) are the issue's acceptance criteria; the licence check keeps derived
code permissive. Each case is also compared with its annotated source, so nobody edits the
generated files by hand and lets them drift.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from hunkwise.review.diff import FileDiff, parse_diff
from hunkwise.sim.model import review_answer

EVAL = Path(__file__).resolve().parents[2] / "eval"
CASES = EVAL / "cases"
LANGUAGES = {"python", "typescript", "javascript", "go", "java"}
SEVERITIES = {"critical", "high", "medium", "low"}
CATEGORIES = {"bug", "security", "error-handling", "concurrency", "performance"}
PERMISSIVE = {"MIT", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "ISC"}

pytestmark = pytest.mark.skipif(not CASES.is_dir(), reason="the eval/ dataset is not in this tree")


def _case_dirs() -> list[Path]:
    return sorted(d for d in CASES.iterdir() if d.is_dir()) if CASES.is_dir() else []


def _load(d: Path) -> tuple[dict, list[FileDiff]]:
    doc = json.loads((d / "case.json").read_text(encoding="utf-8"))
    return doc, parse_diff((d / "change.diff").read_bytes())


def _head_lines(d: Path, path: str) -> list[str]:
    return (d / "head" / path).read_text(encoding="utf-8").split("\n")[:-1]


def _base_from_head(head: list[str], fd: FileDiff) -> list[str]:
    """Undo the diff on the head file: outside the hunks lines are shared, inside they are the
    hunk's old side. Fails (IndexError/assert) when the hunks do not fit the head file."""
    base: list[str] = []
    at = 1  # next head line to copy
    for h in fd.hunks:
        start = h.new_start if h.new_len else h.new_start + 1
        base.extend(head[at - 1 : start - 1])
        base.extend(ln.text for ln in h.lines if ln.kind != "+")
        at = start + h.new_len
    base.extend(head[at - 1 :])
    return base


def _build_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_build_case", EVAL / "tools" / "build_case.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("case_dir", _case_dirs(), ids=lambda d: d.name)
def test_case_is_well_formed(case_dir: Path) -> None:
    doc, files = _load(case_dir)
    assert set(doc) == {"id", "language", "title", "description", "expected", "source"}
    assert doc["id"] == case_dir.name
    assert doc["language"] in LANGUAGES
    assert doc["title"].strip() and doc["description"].strip()
    assert len(doc["expected"]) <= 3, "a case expects one to three issues, or none (a clean change)"
    diff_paths = {f.path for f in files}
    head_paths = {
        str(p.relative_to(case_dir / "head")) for p in (case_dir / "head").rglob("*") if p.is_file()
    }
    assert diff_paths == head_paths, "head/ must hold exactly the files the diff changes"
    changed = sum(f.added + f.removed for f in files)
    assert 10 <= changed <= 120, f"{changed} changed lines; a case's diff has 10-120"
    by_path = {f.path: f for f in files}
    for issue in doc["expected"]:
        assert set(issue) == {"path", "start_line", "end_line", "severity", "category", "description"}
        assert issue["severity"] in SEVERITIES and issue["category"] in CATEGORIES
        assert len(issue["description"]) > 40
        fd = by_path[issue["path"]]
        added = set(fd.changed_lines())
        start, end = issue["start_line"], issue["end_line"]
        assert start <= end
        assert start in added and end in added, (
            f"{issue['path']}:{start}-{end} must start and end on added lines"
        )
        shown = {ln.new_no for h in fd.hunks for ln in h.lines if ln.new_no is not None}
        assert set(range(start, end + 1)) <= shown, "the whole range must be visible in the diff"


@pytest.mark.parametrize("case_dir", _case_dirs(), ids=lambda d: d.name)
def test_diff_matches_head_files(case_dir: Path) -> None:
    """Every line the diff shows on the new side is the head file's line at that number, and
    undoing then redoing the hunks gives the head file back."""
    _, files = _load(case_dir)
    for fd in files:
        head = _head_lines(case_dir, fd.path)
        for h in fd.hunks:
            for ln in h.lines:
                if ln.new_no is not None:
                    assert head[ln.new_no - 1] == ln.text, f"{fd.path}:{ln.new_no} differs from the diff"
        base = _base_from_head(head, fd)
        if fd.status == "added":
            assert base == []
        redone: list[str] = []
        at = 1
        for h in fd.hunks:
            start = h.old_start if h.old_len else h.old_start + 1
            redone.extend(base[at - 1 : start - 1])
            old_side = [ln.text for ln in h.lines if ln.kind != "+"]
            assert base[start - 1 : start - 1 + h.old_len] == old_side
            redone.extend(ln.text for ln in h.lines if ln.kind != "-")
            at = start + h.old_len
        redone.extend(base[at - 1 :])
        assert redone == head


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("case_dir", _case_dirs(), ids=lambda d: d.name)
def test_git_applies_the_diff_to_the_base(case_dir: Path, tmp_path: Path) -> None:
    """`git apply` (the strictest reader of a diff) accepts it on the reconstructed base and
    produces exactly the head files."""
    _, files = _load(case_dir)
    for fd in files:
        if fd.status != "added":
            target = tmp_path / fd.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("".join(s + "\n" for s in _base_from_head(_head_lines(case_dir, fd.path), fd)))
    subprocess.run(
        ["git", "apply", "--whitespace=nowarn", str(case_dir / "change.diff")],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    for fd in files:
        assert (tmp_path / fd.path).read_bytes() == (case_dir / "head" / fd.path).read_bytes()


@pytest.mark.parametrize("case_dir", _case_dirs(), ids=lambda d: d.name)
def test_case_matches_its_source(case_dir: Path) -> None:
    tool = _build_tool()
    src = tool.parse_source(EVAL / "sources" / f"{case_dir.name}.case")
    doc, _ = _load(case_dir)
    assert tool.case_json(src, case_dir.name) == doc, "case.json drifted from its source: rerun build_case.py"
    for f in src.files:
        assert _head_lines(case_dir, f.path) == f.head


def test_dataset_meets_the_issue_minimums() -> None:
    docs = [_load(d)[0] for d in _case_dirs()]
    assert len(docs) >= 40
    langs = Counter(
        "typescript/javascript" if d["language"] in {"typescript", "javascript"} else d["language"]
        for d in docs
    )
    for lang in ("python", "typescript/javascript", "go", "java"):
        assert langs[lang] >= 8, f"{lang}: {langs[lang]} cases, the dataset needs at least 8"
    categories = Counter(e["category"] for d in docs for e in d["expected"])
    for cat in CATEGORIES:
        assert categories[cat] >= 5, f"{cat}: {categories[cat]} expected issues, at least 5 needed"
    assert sum(1 for d in docs if not d["expected"]) >= 10, "at least 10 clean changes"
    assert len({d["id"] for d in docs}) == len(docs)


def test_simulator_rules_find_only_a_few_cases() -> None:
    """The dataset measures real models: the simulator's fixed rules (secrets, eval, bare
    except, TODO) may hit a few issue cases but never a clean one."""
    hit = []
    for d in _case_dirs():
        doc = json.loads((d / "case.json").read_text(encoding="utf-8"))
        answer = review_answer("Review this change.\n" + (d / "change.diff").read_text(encoding="utf-8"))
        if answer is not None and answer.findings:
            assert doc["expected"], f"{d.name} is a clean change but the simulator flags it"
            hit.append(d.name)
    assert 1 <= len(hit) <= len(_case_dirs()) // 8, hit


def test_manifest_lists_every_case_with_a_permissive_licence() -> None:
    manifest = json.loads((EVAL / "manifest.json").read_text(encoding="utf-8"))
    entries = {e["id"]: e for e in manifest["cases"]}
    assert sorted(entries) == [d.name for d in _case_dirs()]
    for d in _case_dirs():
        doc = json.loads((d / "case.json").read_text(encoding="utf-8"))
        e = entries[d.name]
        assert e["language"] == doc["language"]
        assert e["categories"] == sorted({i["category"] for i in doc["expected"]})
        assert e["issues"] == len(doc["expected"]) and e["clean"] == (not doc["expected"])
        assert e["source"] == doc["source"]
        assert e["license"] in PERMISSIVE
        if doc["source"]["kind"] == "derived":
            assert doc["source"]["license"] in PERMISSIVE
            assert all(doc["source"].get(k) for k in ("repository", "path", "commit"))
        else:
            assert doc["source"] == {"kind": "original"} and e["license"] == "MIT"


def test_build_tool_names_the_line_of_a_bad_source(tmp_path: Path) -> None:
    """An author's mistake (a mark on a line the change does not add, a mark with no issue)
    is reported with the file and line, never written into a case with wrong numbers."""
    tool = _build_tool()
    header = {"id": "x", "language": "go", "title": "t", "description": "d", "expected": []}
    bad = tmp_path / "x.case"
    bad.write_text(json.dumps(header) + "\n@@@ file a.go\npackage a\nvar x = 1  «A»\n")
    with pytest.raises(tool.CaseSourceError, match=r"x\.case:4: mark «A» on a line the change does not add"):
        tool.parse_source(bad)
    bad.write_text(json.dumps(header) + "\n@@@ file a.go\npackage a\n+|var x = 1  «A»\n")
    with pytest.raises(tool.CaseSourceError, match=r"marks \['A'\] have no expected issue"):
        tool.case_json(tool.parse_source(bad), "x")
    src = tool.parse_source(bad)
    assert (src.files[0].base, src.files[0].head, src.files[0].marks) == (
        ["package a"],
        ["package a", "var x = 1"],
        {"A": [2]},
    )
