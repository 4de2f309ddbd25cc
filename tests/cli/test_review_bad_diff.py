"""``hunkwise review`` on a diff it cannot read: exit 2 and one line naming the diff line, never a
traceback (issue 11, item 8: numbers too long for int() escaped as a ValueError, exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hunkwise.cli.app import app

HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("diff", "line"),
    [
        (f"--- a/x\n+++ b/x\n@@ -1 +{HUGE} @@\n+a\n", 3),
        (f"diff --git a/x b/y\nsimilarity index {HUGE}%\nrename from x\nrename to y\n", 2),
        ("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n-a\n+b\n", 6),
    ],
    ids=["hunk-number", "similarity", "truncated"],
)
def test_an_unreadable_diff_exits_2_naming_the_line(tmp_path: Path, diff: str, line: int) -> None:
    path = tmp_path / "change.diff"
    path.write_text(diff)
    result = CliRunner().invoke(app, ["review", "--offline", "--diff", str(path)], env={})
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # no exception escaped the command
    assert f"diff line {line}:" in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
