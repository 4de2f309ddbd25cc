"""Parse unified diffs (``git diff`` and plain ``diff -u``) into typed file/hunk/line records.

Why our own parser: review coverage is promised per *added line in new-file numbering*, so the
parser must never guess. It reads every construct git emits (renames, copies, mode changes,
binary patches, quoted paths, ``\\ No newline at end of file``, CRLF, undecodable bytes) and
raises :class:`DiffParseError` with a line number for anything it cannot account for, instead
of silently losing lines the way lenient parsers do.

Input may be ``bytes`` (preferred: what ``git diff`` writes) or ``str``. Bytes are decoded per
line; a line that is not UTF-8 is decoded with replacement characters and its file is flagged
``has_undecodable_bytes`` so a report can say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from hunkwise.errors import PermanentError

LineKind = Literal["+", "-", " "]
FileStatus = Literal["added", "deleted", "modified", "renamed", "copied", "mode_changed", "binary"]

_HUNK_RE = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
# Line numbers and counts longer than this are not a real file (and int() refuses over 4,300
# digits): the hunk header is reported as malformed instead.
_MAX_NUMBER_DIGITS = 9
_BINARY_RE = re.compile(rb"^Binary files (.+) and (.+) differ$")
_INDEX_RE = re.compile(rb"^index [0-9a-fA-F]+\.\.[0-9a-fA-F]+(?: (\d+))?$")
_ESCAPES = {
    ord("a"): 7,
    ord("b"): 8,
    ord("t"): 9,
    ord("n"): 10,
    ord("v"): 11,
    ord("f"): 12,
    ord("r"): 13,
    ord('"'): 34,
    ord("\\"): 92,
}


class DiffParseError(PermanentError, ValueError):
    """The input is not a unified diff we can account for line by line.

    ``line_no`` is 1-based in the input; the message says what was expected there, so a user
    can look at the exact line (the CLI reports it and exits 2).
    """

    def __init__(self, line_no: int, message: str) -> None:
        super().__init__(f"diff line {line_no}: {message}")
        self.line_no = line_no


@dataclass(slots=True)
class DiffLine:
    """One line of a hunk with both line numbers, so findings can be anchored to new-file lines and removed
    lines still shown in context.
    """

    kind: LineKind
    text: str  # without the marker and without the line ending (CR removed too)
    old_no: int | None  # None on added lines
    new_no: int | None  # None on removed lines
    no_newline_at_eof: bool = False
    cr: bool = False  # the line ended with CRLF in the diff


@dataclass(slots=True)
class Hunk:
    """One ``@@`` block; its own lines, so a file too big for one request can be split between hunks without
    re-parsing.
    """

    old_start: int
    old_len: int
    new_start: int
    new_len: int
    section: str  # the function/context text git prints after the second ``@@``
    lines: list[DiffLine] = field(default_factory=list)

    @property
    def header(self) -> str:
        """The ``@@`` line as git prints it, so a rendered chunk reads like
        the diff the model was trained on.
        """
        tail = f" {self.section}" if self.section else ""
        return f"@@ -{self.old_start},{self.old_len} +{self.new_start},{self.new_len} @@{tail}"


@dataclass(slots=True)
class FileDiff:
    """One file of a change as git describes it (paths, status, modes, hunks): the unit filters decide on and
    packing renders.
    """

    old_path: str | None  # None for an added file
    new_path: str | None  # None for a deleted file
    path: str  # the path to report: new path, or old path for a deleted file
    status: FileStatus
    binary: bool = False
    old_mode: str | None = None
    new_mode: str | None = None
    similarity: int | None = None  # percent, for renames and copies
    hunks: list[Hunk] = field(default_factory=list)
    has_undecodable_bytes: bool = False
    crlf: bool = False  # at least one diff line of this file ended with CRLF

    def changed_lines(self) -> list[int]:
        """New-file numbers of every added line: the lines a review must cover."""
        return [ln.new_no for h in self.hunks for ln in h.lines if ln.kind == "+" and ln.new_no is not None]

    @property
    def added(self) -> int:
        """Lines this change adds to the file: what size limits and reports count."""
        return sum(1 for h in self.hunks for ln in h.lines if ln.kind == "+")

    @property
    def removed(self) -> int:
        """Lines this change removes from the file, for the same counts."""
        return sum(1 for h in self.hunks for ln in h.lines if ln.kind == "-")

    def first_lines(self, n: int = 10) -> list[str]:
        """Text of new-file lines 1..n that the diff shows (for shebangs and generated markers)."""
        out: list[str] = []
        for h in self.hunks:
            if h.new_start > n:
                break
            for ln in h.lines:
                if ln.new_no is not None and ln.new_no <= n:
                    out.append(ln.text)
        return out


def unquote_path(raw: bytes) -> bytes:
    """Undo git's C-style quoting (``"a/t\\303\\251st.py"``) to the path's raw bytes."""
    if not (len(raw) >= 2 and raw[:1] == b'"' and raw[-1:] == b'"'):
        return raw
    body, out, i = raw[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c != 0x5C:  # backslash
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        if not nxt:
            raise ValueError("dangling backslash")
        if nxt in b"01234567" and len(body) >= i + 4 and all(d in b"01234567" for d in body[i + 1 : i + 4]):
            out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        elif nxt[0] in _ESCAPES:
            out.append(_ESCAPES[nxt[0]])
            i += 2
        else:
            raise ValueError(f"unknown escape \\{nxt.decode('latin-1')}")
    return bytes(out)


def _decode(raw: bytes) -> tuple[str, bool]:
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), True


def _split_quoted_pair(rest: bytes) -> tuple[bytes, bytes] | None:
    """Split ``X Y`` from a ``diff --git`` line where either side may be quoted."""
    if rest.startswith(b'"'):
        i = 1
        while i < len(rest):
            if rest[i] == 0x5C:
                i += 2
                continue
            if rest[i] == 0x22:
                break
            i += 1
        first, second = rest[: i + 1], rest[i + 2 :]
        return (first, second) if rest[i + 1 : i + 2] == b" " and second else None
    if rest.endswith(b'"'):
        j = rest.rfind(b' "')
        return (rest[:j], rest[j + 1 :]) if j > 0 else None
    # Unquoted both sides: the path is the same on both sides unless renamed, and then the
    # rename lines say it exactly. Split in the middle where both halves name the same path.
    mid = len(rest) // 2
    if len(rest) % 2 == 1 and rest[mid : mid + 1] == b" ":
        return rest[:mid], rest[mid + 1 :]
    parts = rest.split(b" ")
    return (parts[0], parts[1]) if len(parts) == 2 else None


def _strip_prefix(path: bytes) -> bytes:
    # git's prefixes: a/ b/ by default, i/ w/ c/ o/ with diff.mnemonicPrefix.
    if len(path) > 2 and path[1:2] == b"/" and path[:1] in (b"a", b"b", b"i", b"w", b"c", b"o"):
        return path[2:]
    return path


def _header_path(raw: bytes, line_no: int, *, strip: bool) -> bytes | None:
    """Path from a ``---``/``+++``/``Binary files`` operand: quoted or not; the tab git adds
    after names with spaces, and the timestamp ``diff -u`` adds after a tab, are dropped."""
    raw = raw.rstrip(b"\r")
    if not raw.startswith(b'"'):
        raw = raw.split(b"\t", 1)[0]
    try:
        path = unquote_path(raw)
    except ValueError as exc:
        raise DiffParseError(line_no, f"bad quoted path {raw!r}: {exc}") from None
    if path == b"/dev/null":
        return None
    return _strip_prefix(path) if strip else path


class _Builder:
    """Accumulates one file's header facts, then produces the :class:`FileDiff`."""

    __slots__ = (
        "binary",
        "copy",
        "crlf",
        "deleted",
        "git",
        "hunks",
        "new",
        "new_mode",
        "new_path",
        "old_mode",
        "old_path",
        "rename",
        "seen_headers",
        "similarity",
        "undecodable",
    )

    def __init__(self, git: bool) -> None:
        self.git = git
        self.old_path: bytes | None = None
        self.new_path: bytes | None = None
        self.old_mode: str | None = None
        self.new_mode: str | None = None
        self.new = self.deleted = self.rename = self.copy = self.binary = False
        self.seen_headers = False
        self.similarity: int | None = None
        self.hunks: list[Hunk] = []
        self.undecodable = self.crlf = False

    def build(self, line_no: int) -> FileDiff:
        old_b = None if self.new else self.old_path
        new_b = None if self.deleted else self.new_path
        if old_b is None and new_b is None:
            raise DiffParseError(line_no, "file section names no path (expected 'diff --git a/X b/X')")
        old, bad_old = _decode(old_b) if old_b is not None else (None, False)
        new, bad_new = _decode(new_b) if new_b is not None else (None, False)
        status: FileStatus
        if self.new:
            status = "added"
        elif self.deleted:
            status = "deleted"
        elif self.rename:
            status = "renamed"
        elif self.copy:
            status = "copied"
        elif self.binary:
            status = "binary"
        elif not self.hunks and self.old_mode is not None and self.old_mode != self.new_mode:
            status = "mode_changed"
        else:
            status = "modified"
        return FileDiff(
            old_path=old,
            new_path=new,
            path=new if new is not None else old or "",
            status=status,
            binary=self.binary,
            old_mode=self.old_mode,
            new_mode=self.new_mode,
            similarity=self.similarity,
            hunks=self.hunks,
            has_undecodable_bytes=self.undecodable or bad_old or bad_new,
            crlf=self.crlf,
        )


def parse_diff(data: bytes | str) -> list[FileDiff]:
    """Parse a whole diff. Empty input gives ``[]``; anything unaccountable raises
    :class:`DiffParseError`. Text before the first file (a commit message, ``git
    format-patch`` mail headers) is ignored."""
    if isinstance(data, str):
        data = _encode(data)
    return _Parser(data).run()


def _encode(text: str) -> bytes:
    """``str`` diffs (GitLab's API, a decoded file) back to bytes. Undecodable bytes that Python
    carried as surrogate escapes become those bytes again; any other lone surrogate (JSON allows
    ``"\\ud800"``) is not text at all, so its UTF-8 form is kept and the line decodes with
    replacement characters and ``has_undecodable_bytes``, like any invalid byte."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


class _Parser:
    """One pass over the lines; hunk bodies are consumed by their counts, so a removed line
    that happens to read ``--- x`` can never be mistaken for a file header."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.lines = data.split(b"\n")
        if self.lines and self.lines[-1] == b"":
            self.lines.pop()
        self.files: list[FileDiff] = []
        self.cur: _Builder | None = None

    def finish(self, at: int) -> None:
        if self.cur is not None:
            self.files.append(self.cur.build(at))
        self.cur = None

    def start(self, git: bool) -> _Builder:
        self.finish(0)
        self.cur = _Builder(git)
        return self.cur

    def run(self) -> list[FileDiff]:
        lines, n, i = self.lines, len(self.lines), 0
        skip_binary = False
        while i < n:
            raw = lines[i]
            no = i + 1
            i += 1
            cur = self.cur
            if raw.startswith(b"diff --git "):
                skip_binary = False
                cur = self.start(git=True)
                pair = _split_quoted_pair(raw[11:].rstrip(b"\r"))
                if pair is not None:
                    try:
                        a, b = unquote_path(pair[0]), unquote_path(pair[1])
                    except ValueError as exc:
                        raise DiffParseError(no, f"bad quoted path: {exc}") from None
                    # A best guess when unquoted paths contain spaces; the rename/copy and
                    # ---/+++ lines that follow state them exactly and take precedence.
                    cur.old_path, cur.new_path = _strip_prefix(a), _strip_prefix(b)
                continue
            if raw.startswith((b"diff --cc ", b"diff --combined ")):
                raise DiffParseError(
                    no,
                    "combined (merge) diffs are not supported; diff against one parent instead, "
                    "e.g. 'git diff BASE...HEAD'",
                )
            if skip_binary:
                continue
            if raw.startswith(b"@@"):
                if cur is None:
                    raise DiffParseError(no, "hunk header before any file header ('--- a/X' / '+++ b/X')")
                i = self.hunk(cur, raw, no, i)
                continue
            if raw.startswith(b"--- ") and i < n and lines[i].startswith(b"+++ "):
                if cur is None or cur.hunks or not cur.git or cur.seen_headers:
                    cur = self.start(git=False)
                plus = lines[i]
                i += 1
                cur.seen_headers = True
                strip = cur.git or (raw[4:].startswith(b"a/") and plus[4:].startswith(b"b/"))
                old = _header_path(raw[4:], no, strip=strip)
                new = _header_path(plus[4:], no + 1, strip=strip)
                exact = cur.rename or cur.copy
                if old is None:
                    cur.new = True
                elif not exact:
                    cur.old_path = old
                if new is None:
                    cur.deleted = True
                elif not exact:
                    cur.new_path = new
                continue
            if raw.startswith((b"+++ ", b"--- ")):
                raise DiffParseError(
                    no, f"{_show(raw)} must be a '--- a/X' line directly followed by '+++ b/X'"
                )
            if m := _BINARY_RE.match(raw.rstrip(b"\r")):
                if cur is None or not cur.git:
                    cur = self.start(git=False)
                    old = _header_path(m.group(1), no, strip=True)
                    new = _header_path(m.group(2), no, strip=True)
                    cur.old_path, cur.new_path = old, new
                    cur.new, cur.deleted = old is None, new is None
                cur.binary = True
                continue
            if cur is not None and cur.git and not cur.hunks and _git_header(cur, raw.rstrip(b"\r"), no):
                skip_binary = raw.startswith(b"GIT binary patch")
                continue
            if cur is not None and raw[:1] in (b"+", b"-", b" ") and raw.rstrip() != b"--":
                where = f"after hunk '{cur.hunks[-1].header}'" if cur.hunks else "in the file header"
                raise DiffParseError(
                    no,
                    f"unexpected diff line {_show(raw)} {where}: the hunk header's line counts "
                    "do not match its body (is the diff hand-edited or truncated?)",
                )
            # Anything else (commit messages of 'git log -p', a mail signature '-- ', 'Only
            # in ...' from 'diff -r', blank separators) ends the file; such text is ignored
            # until the next file header.
            self.finish(no)
        self.finish(n)
        if not self.files and self.data.strip():
            raise DiffParseError(
                1,
                "no unified diff found; expected 'diff --git a/X b/X' or '--- X' / '+++ X' file "
                "headers followed by '@@ -A,B +C,D @@' hunks",
            )
        return self.files

    def hunk(self, cur: _Builder, raw: bytes, no: int, i: int) -> int:
        """Consume one hunk starting after its header; return the index of the next line."""
        if raw.startswith(b"@@@"):
            raise DiffParseError(no, "combined (merge) diff hunk '@@@' is not supported")
        m = _HUNK_RE.match(raw.rstrip(b"\r"))
        if m is None:
            raise DiffParseError(no, f"malformed hunk header {_show(raw)}; expected '@@ -A,B +C,D @@'")
        os_, ol, ns, nl, section = m.groups()
        if any(g is not None and len(g) > _MAX_NUMBER_DIGITS for g in (os_, ol, ns, nl)):
            raise DiffParseError(
                no,
                f"malformed hunk header {_show(raw)}: a line number or count has more than "
                f"{_MAX_NUMBER_DIGITS} digits",
            )
        o_start, n_start = int(os_), int(ns)
        old_left = 1 if ol is None else int(ol)
        new_left = 1 if nl is None else int(nl)
        sec, bad = _decode(section)
        cur.undecodable |= bad
        hunk = Hunk(o_start, old_left, n_start, new_left, sec)
        # A side of length 0 is numbered from the line *before* the change.
        old_no = o_start if old_left else o_start + 1
        new_no = n_start if new_left else n_start + 1
        if cur.hunks and new_no < (prev := cur.hunks[-1]).new_start + prev.new_len + (prev.new_len == 0):
            # Two hunks numbering the same new lines (diffs joined, or a count edited): each line
            # must have one number, or the review could not say which line it covered.
            raise DiffParseError(
                no, f"hunk {_show(raw)} overlaps the previous hunk '{prev.header}'; hunks must be in order"
            )
        cur.hunks.append(hunk)
        out = hunk.lines
        lines, n = self.lines, len(self.lines)
        last: DiffLine | None = None
        while old_left > 0 or new_left > 0:
            if i >= n:
                raise DiffParseError(
                    n + 1,
                    f"diff ends inside hunk '{hunk.header}' ({old_left} old and {new_left} new "
                    "line(s) missing); is the diff truncated?",
                )
            raw = lines[i]
            i += 1
            marker = raw[:1]
            if marker == b"\\":
                if last is None:
                    raise DiffParseError(i, "'\\ No newline at end of file' before any line of the hunk")
                last.no_newline_at_eof = True
                continue
            body = raw[1:]
            cr = body.endswith(b"\r")
            if cr:
                body = body[:-1]
                cur.crlf = True
            if body.isascii():
                text = body.decode("ascii")
            else:
                text, bad = _decode(body)
                cur.undecodable |= bad
            if marker == b"+" and new_left > 0:
                last = DiffLine("+", text, None, new_no, False, cr)
                new_no += 1
                new_left -= 1
            elif marker == b"-" and old_left > 0:
                last = DiffLine("-", text, old_no, None, False, cr)
                old_no += 1
                old_left -= 1
            elif (marker == b" " or raw == b"") and old_left > 0 and new_left > 0:
                # An empty line is a context line whose space an editor trimmed; git apply
                # accepts it too.
                last = DiffLine(" ", text, old_no, new_no, False, cr)
                old_no += 1
                new_no += 1
                old_left -= 1
                new_left -= 1
            else:
                raise DiffParseError(
                    i,
                    f"hunk '{hunk.header}' expects {old_left} more old and {new_left} more new "
                    f"line(s) (starting with ' ', '-' or '+'), found {_show(raw)}",
                )
            out.append(last)
        if i < n and lines[i][:1] == b"\\" and last is not None:
            last.no_newline_at_eof = True
            i += 1
        return i


def _git_header(cur: _Builder, raw: bytes, no: int) -> bool:
    """Apply one git extended header line; False if the line is not one."""
    if raw.startswith(b"old mode "):
        cur.old_mode = raw[9:].decode("ascii", "replace")
    elif raw.startswith(b"new mode "):
        cur.new_mode = raw[9:].decode("ascii", "replace")
    elif raw.startswith(b"new file mode "):
        cur.new, cur.new_mode = True, raw[14:].decode("ascii", "replace")
    elif raw.startswith(b"deleted file mode "):
        cur.deleted, cur.old_mode = True, raw[18:].decode("ascii", "replace")
    elif raw.startswith((b"rename from ", b"copy from ")):
        cur.rename |= raw.startswith(b"rename")
        cur.copy |= raw.startswith(b"copy")
        cur.old_path = _path_arg(raw.split(b" ", 2)[2], no)
    elif raw.startswith((b"rename to ", b"copy to ")):
        cur.new_path = _path_arg(raw.split(b" ", 2)[2], no)
    elif raw.startswith((b"similarity index ", b"dissimilarity index ")):
        pct = raw.rsplit(b" ", 1)[1].rstrip(b"%")
        if not (pct.isdigit() and len(pct) <= 3 and int(pct) <= 100):
            raise DiffParseError(
                no, f"bad similarity {_show(raw)}; expected 'similarity index N%' with N from 0 to 100"
            )
        cur.similarity = int(pct) if raw.startswith(b"similarity") else 100 - int(pct)
    elif m := _INDEX_RE.match(raw):
        if m.group(1):
            cur.old_mode = cur.new_mode = m.group(1).decode("ascii")
    elif raw.startswith(b"GIT binary patch"):
        cur.binary = True
    else:
        return False
    return True


def _path_arg(raw: bytes, no: int) -> bytes:
    try:
        return unquote_path(raw)
    except ValueError as exc:
        raise DiffParseError(no, f"bad quoted path {raw!r}: {exc}") from None


def _show(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return repr(text[:60] + ("…" if len(text) > 60 else ""))
