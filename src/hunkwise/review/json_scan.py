"""Find the JSON values in a model's free-form answer, in linear time and without recursion.

A model's answer is prose, Markdown fences and JSON in any mix; prose holds brackets of its own
(``files[0]``, ``useEffect(() => {...}, []);``) and JSON strings hold code. Trying ``json.loads``
at every bracket is quadratic and takes the first stray ``[]`` as the answer; a regex for
balanced brackets backtracks; a recursive descent dies on 500 nested brackets. Instead one
scanner walks the text once, aware of JSON strings and escapes only *inside* a bracket (a quote
in prose means nothing), and records every balanced ``{...}``/``[...]`` with its nesting depth and
the kinds of keys written directly in it. When prose turns out to have opened a value (a stray
``{``, a quote that flipped which text is inside strings), the scan reads again just after the
culprit, within a fixed budget, so the JSON that follows is read with the right string state; the
budget keeps the work linear whatever the input.

Fenced blocks are scanned on their own as well, since a fence is where a careful model puts its
answer. Which value *is* the answer is decided by the caller (:mod:`hunkwise.review.answer`),
which knows the findings contract; this module knows only JSON's shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Inside a bracket, after optional whitespace: a whole string (possessive, so never backtracking;
# a string cut off by the end of the text matches to the end without its closing quote) with an
# optional ':' after it (then it is a key), or a run of opening or of closing brackets.
_TOKEN_RE = re.compile(
    r'\s*+(?:(?P<quote>")(?:[^"\\]++|\\.)*+(?:(?P<closed>")(?P<colon>\s*+:)?|\\?\Z)'
    r"|(?P<open>[{\[](?:\s*+[{\[])*+)|(?P<close>[}\]](?:\s*+[}\]])*+))",
    re.DOTALL,
)
# Where a value may start: an opening bracket followed by what JSON allows next (a key or the
# end for an object, a value or the end for an array), so prose such as "{{" or "{...}" is not.
_OPEN_RE = re.compile(r'\{(?=\s*+["}])|\[(?=\s*+[\[{"\d\-tfn\]])')
# What JSON allows between strings and brackets: separators, numbers, literals.
_GAP_RE = re.compile(r"(?:[\s,:]++|-?\d++(?:\.\d++)?(?:[eE][+-]?\d++)?|true|false|null|NaN|-?Infinity)*+")
# A fence line: up to three spaces, three or more backticks or tildes, an optional info string.
_FENCE_RE = re.compile(r"^[ \t]{0,3}(?P<marker>`{3,}|~{3,})(?P<info>[^`\n]*)$", re.MULTILINE)
_MATCHING = {"}": "{", "]": "["}
_RESTART_ALLOWANCE = 4_096  # characters a scan may re-read after prose left a bracket open
# Nesting past _MAX_NESTING is not JSON anyone means: the scan drops those values and carries on
# after them, so a megabyte of "[[[[" stays cheap. A pass reads at most _MAX_ROOTS top-level
# values (prose with code has dozens), so a megabyte of "[][][]" is not 500,000 candidates, and
# records at most _MAX_VALUES values inside them (an answer's top-level value is always kept).
_MAX_NESTING = 4_096
_MAX_ROOTS = 10_000
_MAX_VALUES = 10_000


@dataclass(slots=True)
class Span:
    """A balanced ``{...}`` or ``[...]``: ``text[start:end]``."""

    start: int
    end: int
    depth: int  # nesting levels: 1 for ``[]`` or ``{"a": 1}``
    keys: int  # the caller's key flags for keys written directly in this object
    fenced: bool = False  # found in a fenced block
    whole: bool = False  # the whole answer, or a fenced block's whole body
    children: list[Span] = field(default_factory=list)


@dataclass(slots=True)
class Scan:
    """Every balanced value found, as a forest ordered by position."""

    roots: list[Span]
    # Key flags of values still open when the text ended (an answer cut off mid-way), per value.
    open_at_end: list[int]
    # Key flags of every object found, closed or not: what the text visibly contains.
    all_keys: list[int]
    overnested: bool = False  # a value nested past _MAX_NESTING was dropped


def scan_json(text: str, classify_key: Callable[[str], int]) -> Scan:
    """Find the balanced JSON-looking values of ``text`` and of its fenced blocks.

    ``classify_key`` maps a key (the raw text between the quotes) to the caller's flag bits."""
    scanner = _Scanner(text, classify_key)
    bodies = _fence_bodies(text)
    for lo, hi in bodies:
        scanner.scan(lo, hi, fenced=True)
    scanner.scan(0, len(text), fenced=False)
    whole = {_trim(text, 0, len(text))} | {_trim(text, lo, hi) for lo, hi in bodies}
    for key, span in scanner.found.items():
        span.whole = key in whole
    return Scan(
        _forest(list(scanner.found.values())), scanner.open_at_end, scanner.all_keys, scanner.overnested
    )


def _trim(text: str, lo: int, hi: int) -> tuple[int, int]:
    body = text[lo:hi]
    return lo + (len(body) - len(body.lstrip())), lo + len(body.rstrip())


def _fence_bodies(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each fenced block's body. A fence opened in prose and never closed does
    not swallow the answer's own fence: a fence line *with* an info string (```` ```json ````)
    inside an open block starts a new block, as a model means it to."""
    bodies: list[tuple[int, int]] = []
    opened: tuple[str, int] | None = None  # (marker, body start)
    for m in _FENCE_RE.finditer(text):
        marker, info = m.group("marker"), m.group("info").strip()
        if opened is not None and not info and marker[0] == opened[0][0] and len(marker) >= len(opened[0]):
            bodies.append((opened[1], m.start()))
            opened = None
        elif opened is None or info:
            opened = (marker, min(m.end() + 1, len(text)))
    return bodies


class _Scanner:
    """What the passes over one text found: values by ``(start, end)``, and key flags."""

    def __init__(self, text: str, classify_key: Callable[[str], int]) -> None:
        self.text = text
        self.classify_key = classify_key
        self.found: dict[tuple[int, int], Span] = {}
        self.open_at_end: list[int] = []
        self.all_keys: list[int] = []
        self.overnested = False

    def scan(self, lo: int, hi: int, *, fenced: bool) -> None:
        """One left-to-right pass over ``text[lo:hi]``, re-reading (within a budget) after prose
        that looked like the start of a value.

        A value read with the wrong string state shows itself by prose between its tokens (then
        its brackets may close, never match up, or stay open). The usual culprit is a quote in
        prose: the string token before the first prose began there, so reading resumes just
        after it (just after the value's first bracket if no string came before). A value
        without prose that stays open was cut off: what it holds is recorded already, nothing is
        read twice. A fenced block's end is not the answer's end, so only
        the whole-text pass reports values left open. Stack entries are ``[start, bracket, key
        flags, depth]`` lists: this loop is the hot path."""
        text, classify_key, found, all_keys = self.text, self.classify_key, self.found, self.all_keys
        stack: list[list[Any]] = []
        pos = lo
        budget = (hi - lo) + _RESTART_ALLOWANCE  # at most one more read of the text
        token_iter, open_search, gap_match = _TOKEN_RE.finditer, _OPEN_RE.search, _GAP_RE.fullmatch

        def retry(restart: int, resume: int, at_end: bool = False) -> int:
            """Give up the open values; read again from ``restart`` (-1: prose was never seen in
            them, so the reading was right and they were only cut off or mismatched) if the
            budget allows, else go on from ``resume``."""
            nonlocal budget
            for entry in stack:
                if entry[1] == "{":
                    all_keys.append(entry[2])
                    if at_end and not fenced:
                        self.open_at_end.append(entry[2])
            stack.clear()
            if 0 <= restart < resume and resume - restart <= budget:
                budget -= resume - restart
                return restart
            return resume

        for _ in range(_MAX_ROOTS):
            opener = open_search(text, pos, hi)  # outside any value, only a value's start matters
            if opener is None:
                return
            root = prev = last_string = opener.start()
            restart = -1  # where to read again if this value turns out to be prose
            for m in token_iter(text, root, hi):
                if restart < 0 and m.start() > prev and gap_match(text, prev, m.start()) is None:
                    # Prose between the brackets: what closes them is not JSON. A quote before it
                    # may have flipped the string state, so read again just after that quote;
                    # with no string before it, only brackets came before the prose (none of them
                    # can start the answer), so read again where the prose starts.
                    restart = last_string + 1 if last_string > root else prev
                prev = m.end()
                kind = m.lastgroup
                if kind == "closed":  # a string value
                    last_string = m.start("quote")
                    continue
                if kind == "colon":  # a key
                    last_string = m.start("quote")
                    if stack[-1][1] == "{":
                        stack[-1][2] |= classify_key(text[last_string + 1 : m.start("closed")])
                    continue
                if kind == "open":
                    start, end = m.span("open")
                    if len(stack) + end - start > _MAX_NESTING:
                        self.overnested = True
                        pos = retry(hi, end)
                        break
                    for k in range(start, end):
                        if text[k] in "{[":
                            stack.append([k, text[k], 0, 1])
                    continue
                if kind == "quote":  # the text ends inside a string
                    pos = retry(restart, hi, at_end=True)
                    break
                pos = _close_run(text, m.start("close"), m.end(), stack, found, all_keys, fenced)
                if pos < 0:  # a closer of the other kind: the open values were prose brackets
                    pos = retry(restart, -pos)
                    break
                if not stack:  # closed; if it held prose, the real JSON may be inside: read again
                    if restart >= 0:
                        pos = retry(restart, pos)
                    break
            else:  # the text ends inside a value
                pos = retry(restart, hi, at_end=True)


def _close_run(
    text: str,
    start: int,
    end: int,
    stack: list[list[Any]],
    found: dict[tuple[int, int], Span],
    all_keys: list[int],
    fenced: bool,
) -> int:
    """Apply a run of closing brackets; return where scanning goes on, negated on a mismatch."""
    for k in range(start, end):
        if text[k] not in "}]":
            continue
        if not stack:  # closers in prose after a value: nothing to match
            return k
        entry = stack[-1]
        if entry[1] != _MATCHING[text[k]]:
            return -(k + 1)
        stack.pop()
        if entry[1] == "{":
            all_keys.append(entry[2])
        if (not stack or len(found) < _MAX_VALUES) and (entry[0], k + 1) not in found:
            found[(entry[0], k + 1)] = Span(entry[0], k + 1, entry[3], entry[2], fenced)
        if stack and stack[-1][3] <= entry[3]:
            stack[-1][3] = entry[3] + 1
    return end


def _forest(spans: list[Span]) -> list[Span]:
    """Nest spans by position (a span inside another becomes its child); return the roots."""
    spans.sort(key=lambda s: (s.start, -s.end))
    roots: list[Span] = []
    stack: list[Span] = []
    for span in spans:
        while stack and not (span.start >= stack[-1].start and span.end <= stack[-1].end):
            stack.pop()
        if stack:
            stack[-1].children.append(span)
        else:
            roots.append(span)
        stack.append(span)
    return roots
