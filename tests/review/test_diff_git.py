"""The diff parser against what real ``git`` writes, in throwaway repositories."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from hunkwise.review.diff import FileDiff, parse_diff

GitRun = Callable[..., bytes]


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, GitRun]:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_SYSTEM": os.devnull,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }

    def git(*args: str) -> bytes:
        return subprocess.run(["git", *args], cwd=tmp_path, env=env, check=True, capture_output=True).stdout

    git("init", "-q")
    git("config", "core.autocrlf", "false")
    return tmp_path, git


def _commit(git: GitRun, msg: str = "c") -> None:
    git("add", "-A")
    git("commit", "-q", "-m", msg)


def _by_path(files: list[FileDiff]) -> dict[str, FileDiff]:
    return {f.path: f for f in files}


def test_modified_added_deleted_files(repo: tuple[Path, GitRun]) -> None:
    root, git = repo
    (root / "keep.py").write_text("a = 1\nb = 2\nc = 3\n")
    (root / "gone.txt").write_text("bye\n")
    _commit(git)
    (root / "keep.py").write_text("a = 1\nb = 20\nc = 3\nd = 4\n")
    (root / "gone.txt").unlink()
    (root / "new.py").write_text("x = 1\ny = 2\n")
    _commit(git)
    files = _by_path(parse_diff(git("diff", "HEAD~1", "HEAD")))
    keep, gone, new = files["keep.py"], files["gone.txt"], files["new.py"]
    assert keep.status == "modified" and keep.changed_lines() == [2, 4]
    assert (keep.added, keep.removed) == (2, 1)
    assert [(ln.kind, ln.text, ln.old_no, ln.new_no) for ln in keep.hunks[0].lines[:3]] == [
        (" ", "a = 1", 1, 1),
        ("-", "b = 2", 2, None),
        ("+", "b = 20", None, 2),
    ]
    assert gone.status == "deleted" and gone.new_path is None and gone.old_mode == "100644"
    assert gone.changed_lines() == [] and gone.removed == 1
    assert new.status == "added" and new.old_path is None and new.changed_lines() == [1, 2]


def test_rename_and_copy_with_similarity(repo: tuple[Path, GitRun]) -> None:
    root, git = repo
    body = "".join(f"line {i}\n" for i in range(40))
    (root / "orig.py").write_text(body)
    (root / "src.py").write_text(body.replace("line", "row"))
    _commit(git)
    git("mv", "orig.py", "moved.py")
    (root / "moved.py").write_text(body + "extra\n")
    (root / "copy.py").write_text(body.replace("line", "row"))
    (root / "src.py").write_text(body.replace("line", "row") + "tail\n")
    _commit(git)
    files = _by_path(parse_diff(git("diff", "-M", "-C", "-C", "HEAD~1", "HEAD")))
    moved = files["moved.py"]
    assert (moved.status, moved.old_path, moved.new_path) == ("renamed", "orig.py", "moved.py")
    assert moved.similarity is not None and 90 <= moved.similarity < 100
    assert moved.changed_lines() == [41]
    copied = files["copy.py"]
    assert (copied.status, copied.old_path) == ("copied", "src.py")
    assert copied.similarity == 100 and copied.hunks == []


def test_pure_rename_and_mode_change(repo: tuple[Path, GitRun]) -> None:
    root, git = repo
    (root / "a.sh").write_text("echo hi\n")
    (root / "b.txt").write_text("text\n")
    _commit(git)
    (root / "a.sh").chmod(0o755)
    git("mv", "b.txt", "c.txt")
    _commit(git)
    files = _by_path(parse_diff(git("diff", "-M", "HEAD~1", "HEAD")))
    mode = files["a.sh"]
    assert (mode.status, mode.old_mode, mode.new_mode, mode.hunks) == ("mode_changed", "100644", "100755", [])
    ren = files["c.txt"]
    assert (ren.status, ren.old_path, ren.similarity, ren.hunks) == ("renamed", "b.txt", 100, [])


def test_binary_files_both_formats(repo: tuple[Path, GitRun]) -> None:
    root, git = repo
    (root / "img.bin").write_bytes(bytes(range(256)) * 4)
    (root / "after.txt").write_text("x\n")
    _commit(git)
    (root / "img.bin").write_bytes(bytes(reversed(range(256))) * 4)
    (root / "new.bin").write_bytes(b"\x00\x01\x02" * 50)
    (root / "after.txt").write_text("x\ny\n")
    _commit(git)
    for extra in ([], ["--binary"]):
        files = _by_path(parse_diff(git("diff", *extra, "HEAD~1", "HEAD")))
        assert files["img.bin"].binary and files["img.bin"].status == "binary"
        assert files["new.bin"].binary and files["new.bin"].status == "added"
        # The file after a GIT binary patch is parsed normally.
        assert files["after.txt"].changed_lines() == [2]


def test_no_newline_at_end_of_file(repo: tuple[Path, GitRun]) -> None:
    root, git = repo
    (root / "f.txt").write_text("one\ntwo")
    _commit(git)
    (root / "f.txt").write_text("one\ntwo\nthree")
    _commit(git)
    (f,) = parse_diff(git("diff", "HEAD~1", "HEAD"))
    lines = f.hunks[0].lines
    assert [(ln.kind, ln.text, ln.no_newline_at_eof) for ln in lines] == [
        (" ", "one", False),
        ("-", "two", True),
        ("+", "two", False),
        ("+", "three", True),
    ]
    assert f.changed_lines() == [2, 3]


def test_crlf_lines_keep_text_clean(repo: tuple[Path, GitRun]) -> None:
    root, git = repo
    (root / "w.txt").write_bytes(b"alpha\r\nbeta\r\n")
    (root / "u.txt").write_bytes(b"plain\n")
    _commit(git)
    (root / "w.txt").write_bytes(b"alpha\r\nBETA\r\n")
    (root / "u.txt").write_bytes(b"plain\nmore\n")
    _commit(git)
    files = _by_path(parse_diff(git("diff", "HEAD~1", "HEAD")))
    w = files["w.txt"]
    assert w.crlf and all(ln.cr for ln in w.hunks[0].lines)
    assert [ln.text for ln in w.hunks[0].lines] == ["alpha", "beta", "BETA"]
    assert not files["u.txt"].crlf


def test_latin1_bytes_are_flagged_not_fatal(repo: tuple[Path, GitRun]) -> None:
    root, git = repo
    (root / "l.txt").write_bytes(b"caf\xe9\n")
    _commit(git)
    (root / "l.txt").write_bytes(b"caf\xe9\nna\xefve\n")
    _commit(git)
    (f,) = parse_diff(git("diff", "HEAD~1", "HEAD"))
    assert f.has_undecodable_bytes
    assert f.hunks[0].lines[1].text == "na\ufffdve" and f.changed_lines() == [2]
    # The same diff given as text decoded with surrogateescape is handled identically.
    (g,) = parse_diff(git("diff", "HEAD~1", "HEAD").decode("utf-8", "surrogateescape"))
    assert g.has_undecodable_bytes and g.hunks[0].lines[1].text == "na\ufffdve"


def test_quoted_unicode_and_space_paths(repo: tuple[Path, GitRun]) -> None:
    root, git = repo
    git("config", "core.quotepath", "true")
    (root / "tést.py").write_text("a\n")
    (root / "with space.txt").write_text("a\n")
    (root / 'quo"te.txt').write_text("a\n")
    _commit(git)
    (root / "tést.py").write_text("a\nb\n")
    (root / "with space.txt").write_text("a\nb\n")
    (root / 'quo"te.txt').write_text("a\nb\n")
    git("mv", "with space.txt", "still spaced.txt")
    _commit(git)
    raw = git("diff", "-M", "HEAD~1", "HEAD")
    assert b'"a/t\\303\\251st.py"' in raw
    files = _by_path(parse_diff(raw))
    assert set(files) == {"tést.py", "still spaced.txt", 'quo"te.txt'}
    assert files["still spaced.txt"].old_path == "with space.txt"
    assert all(f.changed_lines() == [2] for f in files.values())


def test_empty_files_and_new_empty_file(repo: tuple[Path, GitRun]) -> None:
    root, git = repo
    (root / "seed").write_text("s\n")
    _commit(git)
    (root / "empty.txt").write_text("")
    (root / "seed").write_text("")
    _commit(git)
    files = _by_path(parse_diff(git("diff", "HEAD~1", "HEAD")))
    assert files["empty.txt"].status == "added" and files["empty.txt"].hunks == []
    assert files["seed"].status == "modified" and files["seed"].removed == 1 and files["seed"].added == 0


def test_zero_context_and_format_patch(repo: tuple[Path, GitRun]) -> None:
    root, git = repo
    (root / "f.py").write_text("".join(f"{i}\n" for i in range(20)))
    _commit(git)
    (root / "f.py").write_text("".join(f"{i}\n" if i % 7 else f"{i}!\n" for i in range(20)))
    _commit(git, "subject line\n\n+ a commit message line that looks like a diff line\n- and another")
    (f,) = parse_diff(git("diff", "-U0", "HEAD~1", "HEAD"))
    assert f.changed_lines() == [1, 8, 15] and len(f.hunks) == 3
    assert f.hunks[0].old_len == 1 and f.hunks[0].new_len == 1  # "@@ -1 +1 @@": omitted lengths
    (p,) = parse_diff(git("format-patch", "-1", "--stdout"))
    assert p.changed_lines() == [1, 8, 15]
    files = parse_diff(git("log", "-p", "-2", "--format=commit %H%n%n    %s"))
    assert sorted(len(f.changed_lines()) for f in files) == [3, 20]


def test_plain_diff_u_without_git_headers(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "a.txt").write_text("1\n2\n3\n")
    (tmp_path / "new" / "a.txt").write_text("1\ntwo\n3\n4\n")
    (tmp_path / "new" / "b.txt").write_text("fresh\n")
    out = subprocess.run(
        ["diff", "-ruN", "old", "new"], cwd=tmp_path, capture_output=True, check=False
    ).stdout
    files = _by_path(parse_diff(out))
    assert files["new/a.txt"].changed_lines() == [2, 4]
    assert files["new/a.txt"].old_path == "old/a.txt"
    assert files["new/b.txt"].changed_lines() == [1]
