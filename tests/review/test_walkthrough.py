"""The summary's walkthrough: groups, what changed and risk areas, from the diff and findings."""

from __future__ import annotations

from hunkwise.review import walkthrough as wt
from hunkwise.review.diff import parse_diff
from hunkwise.review.findings import Finding
from hunkwise.review.report import SkippedLines


def _new(path: str, lines: int) -> str:
    body = "".join(f"+line {i}\n" for i in range(lines))
    head = f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
    return f"{head}@@ -0,0 +1,{lines} @@\n{body}"


def _deleted(path: str) -> str:
    head = f"diff --git a/{path} b/{path}\ndeleted file mode 100644\n--- a/{path}\n+++ /dev/null\n"
    return f"{head}@@ -1 +0,0 @@\n-gone\n"


def test_code_groups_first_then_tests_then_docs_with_their_risks() -> None:
    diff = _new("src/auth/session.py", 5) + _new("src/util.py", 2) + _new("tests/test_x.py", 3)
    diff += _new("docs/guide.md", 4) + _deleted("src/old.py")
    finding = Finding("src/auth/session.py", 2, 2, "high", "security", "Token | compared with ==")
    skipped = [SkippedLines.of("src/util.py", [1, 2], "size-limit:1")]
    groups = wt.walkthrough(parse_diff(diff), [finding], skipped)
    assert [g.name for g in groups] == ["src/auth", "src", "tests", "docs and configuration"]
    auth, src, tests, docs = groups
    assert auth.changed() == "1 added (+5 -0)"
    assert auth.risks[0] == "1 high finding(s), worst: Token / compared with =="  # no table break
    assert "security-relevant path(s): `src/auth/session.py`" in auth.risks
    assert "1 file(s) deleted" in src.risks and "2 changed line(s) not reviewed" in src.risks
    assert not any("no test changed" in r for g in groups for r in g.risks)  # a test changed
    assert tests.risks == [] and docs.risks == []
    table = wt.render(groups)
    assert table[0] == "| files | what changed | risk areas |" and "**src** (2 files)" in table[3]


def test_no_test_changed_is_a_risk_and_many_groups_are_capped() -> None:
    diff = "".join(_new(f"pkg{i}/mod.py", 1) for i in range(wt.MAX_GROUPS + 3))
    groups = wt.walkthrough(parse_diff(diff), [])
    assert len(groups) == wt.MAX_GROUPS and groups[-1].name == "other files"
    assert len(groups[-1].paths) == 4
    assert all("no test changed alongside" in g.risks for g in groups)
