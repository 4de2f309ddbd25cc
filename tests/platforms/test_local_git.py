"""Local git inputs against real temporary repositories."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from hunkwise.platforms.local_git import (
    GitInputError,
    default_branch,
    read_diff_file,
    read_git_change,
)


def git(cwd: Path, *args: str) -> str:
    env_args = ["-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    return subprocess.run(
        ["git", *env_args, *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def commit(repo: Path, name: str, text: str, message: str) -> str:
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    # A user config that would break naive parsing must not leak into our diffs.
    git(r, "config", "color.diff", "always")
    git(r, "config", "diff.noprefix", "true")
    commit(r, "app.py", "print('one')\n", "first")
    commit(r, "app.py", "print('one')\nprint('two')\n", "second on main")
    return r


def test_default_branch_rule_feature_branch_vs_merge_base(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "feat.py", "x = 1\n", "feature work")
    git(repo, "checkout", "-q", "main")
    commit(repo, "app.py", "print('one')\nprint('two')\nprint('main moved')\n", "main moves on")
    git(repo, "checkout", "-q", "feature")

    change = read_git_change(repo)
    text = change.diff.decode()
    assert "b/feat.py" in text and "+x = 1" in text
    assert "main moved" not in text  # main's later commit is not part of the branch's change
    assert "\x1b[" not in text  # color.diff=always in the repo config is overridden
    assert change.description.kind == "branch"
    assert change.description.base_sha == base
    assert change.description.base_ref == "main"


def test_on_default_branch_reviews_last_commit(repo: Path) -> None:
    change = read_git_change(repo)
    text = change.diff.decode()
    assert change.description.kind == "last_commit"
    assert "+print('two')" in text and "+print('one')" not in text


def test_origin_head_wins_over_local_names(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    assert default_branch(clone) == "origin/main"
    git(clone, "checkout", "-q", "-b", "topic")
    commit(clone, "t.py", "y = 2\n", "topic")
    change = read_git_change(clone)
    assert change.description.base_ref == "origin/main"
    assert "+y = 2" in change.diff.decode()


def test_master_and_no_default_branch(tmp_path: Path) -> None:
    r = tmp_path / "r"
    r.mkdir()
    git(r, "init", "-q", "-b", "dev")
    commit(r, "a.txt", "a\n", "only commit")
    assert default_branch(r) is None
    change = read_git_change(r)  # no default branch: the last commit (here: the whole first commit)
    assert change.description.kind == "last_commit" and "+a" in change.diff.decode()
    git(r, "branch", "master")
    assert default_branch(r) == "master"


def test_base_and_head_refs(repo: Path) -> None:
    first = git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    change = read_git_change(repo, base=first, head="HEAD")
    assert change.description.kind == "range"
    assert "+print('two')" in change.diff.decode()
    with pytest.raises(GitInputError, match="unknown git ref 'nope'"):
        read_git_change(repo, base="nope")
    with pytest.raises(GitInputError, match="unknown git ref"):
        read_git_change(repo, head="does-not-exist")


def test_staged_changes(repo: Path) -> None:
    (repo / "app.py").write_text("print('one')\nprint('two')\nprint('staged')\n")
    (repo / "untracked.py").write_text("nope\n")
    git(repo, "add", "app.py")
    (repo / "app.py").write_text("print('one')\nprint('two')\nprint('staged')\nprint('unstaged')\n")
    change = read_git_change(repo, staged=True)
    text = change.diff.decode()
    assert "+print('staged')" in text and "unstaged" not in text and "untracked" not in text
    with pytest.raises(GitInputError, match="cannot be combined"):
        read_git_change(repo, staged=True, base="main")


def test_rename_detected(repo: Path) -> None:
    git(repo, "mv", "app.py", "main_app.py")
    git(repo, "commit", "-q", "-m", "rename")
    text = read_git_change(repo).diff.decode()
    assert "rename from app.py" in text and "rename to main_app.py" in text


def test_not_a_repo(tmp_path: Path) -> None:
    with pytest.raises(GitInputError, match=r"not inside a git repository.*--diff"):
        read_git_change(tmp_path)


def test_diff_file_and_stdin(tmp_path: Path) -> None:
    diff = b"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\xff\r\n"
    f = tmp_path / "c.diff"
    f.write_bytes(diff)
    assert read_diff_file(str(f)).diff == diff  # bytes kept exactly (non-UTF-8, CRLF)
    assert read_diff_file("-", stdin=io.BytesIO(diff)).description.kind == "stdin"
    assert read_diff_file("-", stdin=io.BytesIO(b"")).diff == b""
    with pytest.raises(GitInputError, match="no such file"):
        read_diff_file(str(tmp_path / "missing.diff"))
    with pytest.raises(GitInputError, match="is a directory"):
        read_diff_file(str(tmp_path))
    (tmp_path / "notes.txt").write_text("just some notes\n")
    with pytest.raises(GitInputError, match="does not look like a unified diff"):
        read_diff_file(str(tmp_path / "notes.txt"))
