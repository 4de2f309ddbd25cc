"""The change to review on a developer's machine: a git range, the index, or a diff file.

The default answers "what would my pull request show?": the current branch against its
merge-base with the repository's default branch. On the default branch itself there is no
branch to compare, so the last commit is reviewed (``HEAD~1..HEAD``; the whole tree for a first
commit). The default branch is ``origin/HEAD`` when the clone has one, else the first of
``main``, ``master``, ``trunk`` that exists (locally, then on ``origin``).

Git runs with options that make its output predictable whatever the user's config says: no
colour, no external diff tools or textconv filters, ``a/``/``b/`` prefixes, unquoted UTF-8 paths,
rename and copy detection.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from hunkwise.errors import PermanentError

DEFAULT_CONTEXT_LINES = 5
DEFAULT_BRANCH_CANDIDATES = ("main", "master", "trunk")
_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known empty tree object
_DIFF_OPTIONS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "-M",
    "-C",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)

MAX_CONTEXT_FILE_BYTES = 2_000_000  # a larger head file is not read for context
ChangeKind = Literal["branch", "last_commit", "range", "staged", "file", "stdin"]


class GitInputError(PermanentError, ValueError):
    """The change cannot be read (not a repository, unknown ref, unreadable file). The message
    says what to do; the CLI prints it and exits 2."""


@dataclass(frozen=True, slots=True)
class ChangeDescription:
    """Where the diff came from, for the report header and the usage ledger."""

    kind: ChangeKind
    summary: str  # one human line: "feature/x (a1b2c3d) vs merge-base with main (9f8e7d6)"
    repo_root: str | None = None
    base_ref: str | None = None
    base_sha: str | None = None
    head_ref: str | None = None
    head_sha: str | None = None
    source_file: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True, slots=True)
class LocalChange:
    diff: bytes
    description: ChangeDescription


@dataclass(frozen=True, slots=True)
class GitHead:
    """Head-revision files for code context (hunkwise.review.context): ``git show REV:path``,
    the index for ``rev == ""`` (a staged review). A path git does not know reads as ``None``."""

    root: Path
    rev: str

    def read(self, path: str) -> str | None:
        if not path or path.startswith("/") or "\0" in path:
            return None
        done = _git(self.root, "show", "--no-textconv", f"{self.rev}:{path}", check=False)
        if done.returncode != 0 or len(done.stdout) > MAX_CONTEXT_FILE_BYTES or b"\0" in done.stdout[:8000]:
            return None
        return done.stdout.decode("utf-8", errors="replace")


# --- git plumbing -----------------------------------------------------------------------------
def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=cwd,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitInputError("git is not installed or not on PATH; install git, or pass --diff FILE") from exc
    if check and proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitInputError(
            f"git {' '.join(args[:2])} failed: {err[-1] if err else 'exit ' + str(proc.returncode)}"
        )
    return proc


def _out(cwd: Path, *args: str) -> str:
    return _git(cwd, *args).stdout.decode("utf-8", "replace").strip()


def repo_root(cwd: Path | str) -> Path:
    cwd = Path(cwd)
    if not cwd.is_dir():
        raise GitInputError(f"{cwd} is not a directory")
    proc = _git(cwd, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        raise GitInputError(
            f"{cwd.resolve()} is not inside a git repository: run hunkwise review in a repository, "
            "or review a diff file with --diff FILE (or --diff - to read stdin)"
        )
    return Path(proc.stdout.decode().strip())


def resolve_ref(root: Path, ref: str) -> str:
    """Full commit sha of ``ref``; a clear error for a typo."""
    if not ref or ref.startswith("-"):
        raise GitInputError(f"invalid git ref {ref!r}")
    proc = _git(
        root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False
    )
    if proc.returncode != 0:
        raise GitInputError(
            f"unknown git ref {ref!r}: no branch, tag or commit by that name "
            "(check `git branch -a`; fetch it first if it only exists on the remote)"
        )
    return proc.stdout.decode().strip()


def _ref_exists(root: Path, ref: str) -> bool:
    return _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).returncode == 0


def default_branch(root: Path) -> str | None:
    """The default branch as a ref name (``origin/main``, ``main``...), or None if none exists."""
    proc = _git(root, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD", check=False)
    if proc.returncode == 0:
        ref = proc.stdout.decode().strip().removeprefix("refs/remotes/")
        if _ref_exists(root, ref):
            return ref
    for name in DEFAULT_BRANCH_CANDIDATES:
        if _ref_exists(root, f"refs/heads/{name}"):
            return name
    for name in DEFAULT_BRANCH_CANDIDATES:
        if _ref_exists(root, f"refs/remotes/origin/{name}"):
            return f"origin/{name}"
    return None


def _current_branch(root: Path) -> str | None:
    proc = _git(root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def _has_commits(root: Path) -> bool:
    return _ref_exists(root, "HEAD")


def _merge_base(root: Path, a: str, b: str) -> str:
    proc = _git(root, "merge-base", a, b, check=False)
    if proc.returncode != 0:
        raise GitInputError(
            f"{a} and {b} have no common ancestor; pass --base with a ref that shares history with {b}"
        )
    return proc.stdout.decode().strip()


def _diff(root: Path, context: int, *args: str) -> bytes:
    return _git(root, "diff", *_DIFF_OPTIONS, f"-U{context}", *args).stdout


def _short(sha: str | None) -> str:
    return sha[:10] if sha else "?"


# --- public entry points ----------------------------------------------------------------------
def read_git_change(
    cwd: Path | str = ".",
    *,
    base: str | None = None,
    head: str | None = None,
    staged: bool = False,
    context_lines: int = DEFAULT_CONTEXT_LINES,
) -> LocalChange:
    """The diff to review in the repository containing ``cwd`` (see the module doc for the rule).

    ``base``/``head`` review ``merge-base(base, head)..head`` (what a pull request from head into
    base shows); ``staged`` reviews the index against HEAD.
    """
    if staged and (base or head):
        raise GitInputError(
            "--staged reviews the index against HEAD; it cannot be combined with --base/--head"
        )
    root = repo_root(cwd)
    if staged:
        has_head = _has_commits(root)
        head_sha = _out(root, "rev-parse", "HEAD") if has_head else None
        data = _diff(root, context_lines, "--cached", *(["HEAD"] if has_head else [_EMPTY_TREE]))
        return LocalChange(
            data,
            ChangeDescription(
                "staged", f"staged changes vs HEAD ({_short(head_sha)})", str(root), "HEAD", head_sha
            ),
        )
    if not _has_commits(root):
        raise GitInputError(
            f"the repository at {root} has no commits yet: commit something, "
            "or use --staged to review the index"
        )
    head_ref = head or "HEAD"
    head_sha = resolve_ref(root, head_ref)
    if base:
        base_sha = resolve_ref(root, base)
        merge_base = _merge_base(root, base_sha, head_sha)
        summary = f"{head_ref} ({_short(head_sha)}) vs merge-base with {base} ({_short(merge_base)})"
        return LocalChange(
            _diff(root, context_lines, merge_base, head_sha),
            ChangeDescription("range", summary, str(root), base, merge_base, head_ref, head_sha),
        )
    default = default_branch(root)
    branch = _current_branch(root) if head is None else head
    on_default = default is not None and (
        branch in (default, default.removeprefix("origin/"))
        or (branch is None and resolve_ref(root, default) == head_sha)
    )
    if default is None or on_default:
        return _last_commit(root, head_ref, head_sha, context_lines, default)
    merge_base = _merge_base(root, resolve_ref(root, default), head_sha)
    label = branch or head_ref
    summary = f"{label} ({_short(head_sha)}) vs merge-base with {default} ({_short(merge_base)})"
    return LocalChange(
        _diff(root, context_lines, merge_base, head_sha),
        ChangeDescription("branch", summary, str(root), default, merge_base, label, head_sha),
    )


def _last_commit(root: Path, head_ref: str, head_sha: str, context: int, default: str | None) -> LocalChange:
    parent = _git(root, "rev-parse", "--verify", "--quiet", f"{head_sha}^", check=False)
    base_sha = parent.stdout.decode().strip() if parent.returncode == 0 else None
    why = f"on the default branch {default}" if default else "no default branch (main/master/trunk) found"
    summary = f"last commit {head_ref} ({_short(head_sha)}) — {why}"
    data = _diff(root, context, base_sha or _EMPTY_TREE, head_sha)
    return LocalChange(
        data,
        ChangeDescription("last_commit", summary, str(root), f"{head_ref}~1", base_sha, head_ref, head_sha),
    )


def read_diff_file(path: str, *, stdin: BinaryIO | None = None) -> LocalChange:
    """A diff from a file, or from stdin for ``-``; bytes are kept as they are (the parser handles
    encodings and CRLF)."""
    if path == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        try:
            data = stream.read()
        except (OSError, ValueError) as exc:
            raise GitInputError(f"cannot read the diff from stdin: {exc}") from exc
        if isinstance(data, str):
            data = data.encode("utf-8")
        _check_looks_like_diff(data, "stdin")
        return LocalChange(data, ChangeDescription("stdin", "diff read from stdin", source_file="-"))
    file = Path(path)
    if not file.exists():
        raise GitInputError(f"--diff {path}: no such file")
    if file.is_dir():
        raise GitInputError(f"--diff {path} is a directory; pass a diff file (git diff > change.diff)")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise GitInputError(f"--diff {path}: cannot read it ({exc.strerror or exc})") from exc
    _check_looks_like_diff(data, path)
    return LocalChange(data, ChangeDescription("file", f"diff file {path}", source_file=str(file)))


_DIFF_MARKERS = (b"diff --git ", b"--- ", b"+++ ", b"@@ ", b"Binary files ")


def _check_looks_like_diff(data: bytes, where: str) -> None:
    """Refuse input that is clearly not a diff (a wrong file name is a common slip) instead of
    reporting "nothing to review". Empty input is a valid, empty change."""
    if not data.strip():
        return
    if not any(line.startswith(_DIFF_MARKERS) for line in data.splitlines()[:5000]):
        raise GitInputError(
            f"{where} does not look like a unified diff (no 'diff --git', '---'/'+++' or '@@' lines); "
            "create one with `git diff > change.diff`"
        )
