"""A file path from a diff is untrusted when it reaches a platform URL (code context reads)."""

from __future__ import annotations

import pytest

from hunkwise.platforms.identity import IdentityError, repository_file_path


@pytest.mark.parametrize("path", ["src/app.py", "a b/c%2F.py", "docs/ünïcode.md", "..hidden/x", "x/..y"])
def test_paths_inside_a_repository(path: str) -> None:
    assert "/".join(repository_file_path(path)) == path


@pytest.mark.parametrize(
    "path", ["", "/etc/passwd", "../x", "a/../../b", "a//b", "a/./b", "a/", "x\0y", "a" * 5000]
)
def test_paths_that_could_leave_the_repository_are_refused(path: str) -> None:
    with pytest.raises(IdentityError):
        repository_file_path(path)
