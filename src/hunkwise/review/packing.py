"""Pack a reviewed change into as few requests as fit, without ever losing a changed line.

Budget (tokens of diff text one request may carry)::

    context_window - reserved_output - prompt_overhead - margin
    reserved_output = (max_output_tokens or 8192) + thinking budget (budget-style cards)
    margin          = 10% of what is left after output and prompt

With several slots (Main + Fallbacks) the smallest budget wins and the smallest calibrated
chars-per-token ratio is used: a chunk must fit whichever slot ends up serving it.

Algorithm: each file is rendered once with the shared findings format. A file that fits is one
piece; a larger file is cut at hunk boundaries; a hunk larger than a whole request is cut into
windows whose first and last few lines repeat the neighbours' lines *as context* (numbered,
marked ' ', never '+'). Pieces are then packed first-fit decreasing. Every added line is
*assigned* to exactly one chunk (``Chunk.assigned``) or listed in ``skipped`` with a rule;
:meth:`ReviewPlan.coverage_check` proves it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hunkwise.catalog.findings_contract import iter_added_lines, render_file_header, render_line
from hunkwise.catalog.loader import Catalog, load_catalog
from hunkwise.errors import ConfigurationError
from hunkwise.gateway import Slot
from hunkwise.review.context import ContextMode, FileContext, HeadFiles, file_context
from hunkwise.review.diff import FileDiff, Hunk
from hunkwise.review.filters import FilterConfig, Skipped, filter_files
from hunkwise.review.languages import language_of
from hunkwise.review.tokens import TokenEstimator

DEFAULT_OUTPUT_TOKENS = 8192
DEFAULT_MARGIN = 0.10
DEFAULT_OVERLAP_LINES = 3
TOO_LARGE = "too-large-for-context"
# Shown before a file's context lines (review/context.py): unchanged code from the head revision.
CONTEXT_MARKER = "CONTEXT (unchanged code around the change, from its new revision; not under review):"
CONTEXT_GAP = "      ..."
# Characters str.splitlines() treats as line breaks: inside a rendered line (a lone CR in a line's
# text, a hunk header's section) they would split it and shift every number after it, so they are
# shown escaped.
_BREAKS_RE = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


# --- budget -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Budget:
    """Tokens of rendered diff one request may carry, with the arithmetic that produced it."""

    tokens: int
    context_window: int = 0
    reserved_output: int = 0
    prompt_overhead: int = 0
    margin_tokens: int = 0
    models: tuple[str, ...] = ()  # models whose chars-per-token ratio sizes the chunks
    slot: str | None = None  # the slot that set the limit

    @classmethod
    def fixed(cls, tokens: int, models: Sequence[str] = ()) -> Budget:
        """A budget of exactly ``tokens``, for tests and benchmarks that want a known chunk size without a
        catalog.
        """
        if tokens < 1:
            raise ValueError(f"a budget needs at least 1 token, got {tokens}")
        return cls(tokens=tokens, context_window=tokens, models=tuple(models))

    @classmethod
    def for_slot(
        cls,
        slot: Slot,
        *,
        prompt_overhead_tokens: int = 0,
        margin: float = DEFAULT_MARGIN,
        default_output_tokens: int = DEFAULT_OUTPUT_TOKENS,
        catalog: Catalog | None = None,
    ) -> Budget:
        """How many tokens of diff fit one request to this slot, after the answer, the thinking reserve, the
        prompt and a safety margin: packing against it never overflows the context.
        """
        if not 0 <= margin < 1:
            raise ValueError(f"margin must be in [0, 1), got {margin}")
        reserved = (slot.max_output_tokens or default_output_tokens) + thinking_reserve(
            slot, catalog or load_catalog()
        )
        left = slot.context_window - reserved - max(0, prompt_overhead_tokens)
        margin_tokens = math.ceil(left * margin) if left > 0 else 0
        tokens = left - margin_tokens
        if tokens < 1:
            raise ConfigurationError(
                f"slot '{slot.name}' ({slot.model}): a context window of {slot.context_window} tokens "
                f"leaves no room for the diff after {reserved} reserved for output and thinking and "
                f"{prompt_overhead_tokens} for the prompt; raise context_window or lower "
                "max_output_tokens / the thinking level",
                setting=f"{slot.name}.context_window",
            )
        return cls(
            tokens,
            slot.context_window,
            reserved,
            prompt_overhead_tokens,
            margin_tokens,
            (slot.model,),
            slot.name,
        )

    @classmethod
    def for_slots(cls, slots: Sequence[Slot], **kw: Any) -> Budget:
        """The most constrained budget across slots a chunk may fail over to."""
        if not slots:
            raise ValueError("for_slots needs at least one slot")
        budgets = [cls.for_slot(s, **kw) for s in slots]
        tightest = min(budgets, key=lambda b: b.tokens)
        models = tuple(dict.fromkeys(m for b in budgets for m in b.models))
        return cls(**{**{f: getattr(tightest, f) for f in cls.__slots__}, "models": models})

    def describe(self) -> str:
        """The budget's arithmetic as one line, for the dry-run plan and error messages."""
        return (
            f"{self.context_window} context - {self.reserved_output} output - {self.prompt_overhead} prompt "
            f"- {self.margin_tokens} margin = {self.tokens} tokens of diff per request"
        )


def thinking_reserve(slot: Slot, catalog: Catalog) -> int:
    """Tokens to reserve for thinking on top of the output: the Anthropic-style budget when
    thinking is on with a budget-style card, or an explicit ``budget_tokens`` in a custom
    thinking override. Toggle/effort reasoning is billed inside max output tokens."""
    if isinstance(slot.thinking, dict):
        return _find_budget_tokens(slot.thinking)
    card = catalog.card(slot.model)
    style = card.thinking if card else ("budget" if slot.provider == "anthropic" else "none")
    level = slot.thinking if slot.thinking is not None else (card.thinking_default if card else "off")
    if style == "budget" and level != "off":
        return int(catalog.thinking_budgets.get(level, 0))
    return 0


def _find_budget_tokens(obj: Any) -> int:
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            if key == "budget_tokens" and isinstance(value, int) and not isinstance(value, bool):
                return max(0, value)
            if found := _find_budget_tokens(value):
                return found
    return 0


def lower_bound(total_tokens: int, budget_tokens: int) -> int:
    """No packing can use fewer requests than this."""
    return -(-total_tokens // budget_tokens) if total_tokens > 0 else 0


# --- plan -------------------------------------------------------------------------------------
@dataclass(slots=True)
class Chunk:
    """One request's worth of diff and the new-file lines it is responsible for, so each finding is kept by
    exactly one chunk.
    """

    index: int
    text: str
    estimated_tokens: int
    files: list[str]
    assigned: dict[str, set[int]]  # path -> new-file line numbers this chunk is responsible for

    @property
    def assigned_lines(self) -> int:
        """How many changed lines this chunk is responsible for, for the plan and progress."""
        return sum(len(v) for v in self.assigned.values())


class CoverageError(AssertionError):
    """The plan lost or duplicated a changed line: a bug in the planner, never user error."""


@dataclass(slots=True)
class ReviewPlan:
    """The chunks to send, what was skipped, and the budget they were sized for: enough to estimate cost
    before any call and to explain the plan in a dry run.
    """

    chunks: list[Chunk]
    skipped: list[Skipped]
    budget: Budget
    total_tokens: int = 0  # estimate for all reviewed files rendered whole, one copy each
    files_reviewed: list[str] = field(default_factory=list)
    # Removed lines of removal-only pieces of split files that found no room in a chunk; they
    # are context, not lines under the guarantee, so they never cost a request of their own.
    removed_lines_not_shown: int = 0
    context: ContextMode = "hunk"
    context_lines: int = 0  # head-revision lines sent around the changes (review/context.py)
    context_lines_left_out: int = 0  # ... that did not fit next to their change

    @property
    def lower_bound(self) -> int:
        """The fewest chunks any packing could use, to show how close this one comes."""
        return lower_bound(self.total_tokens, self.budget.tokens)

    @property
    def estimated_tokens(self) -> int:
        """The input tokens the chunks are estimated to cost, for the pre-call cost estimate."""
        return sum(c.estimated_tokens for c in self.chunks)

    def coverage_check(self, files: Iterable[FileDiff], *, check_text: bool = False) -> int:
        """Verify every added line of ``files`` is assigned to exactly one chunk or skipped
        exactly once; return the number of lines checked. With ``check_text`` also verify each
        chunk's text shows exactly its assigned lines as added lines."""
        expected: dict[str, set[int]] = {}
        for f in files:
            expected.setdefault(f.path, set()).update(f.changed_lines())
        seen: dict[str, set[int]] = {}
        problems: list[str] = []

        def claim(path: str, lines: Iterable[int], who: str) -> None:
            have = seen.setdefault(path, set())
            for n in lines:
                if n in have:
                    problems.append(f"{path}:{n} claimed twice (again by {who})")
                have.add(n)

        for c in self.chunks:
            for path, lines in c.assigned.items():
                claim(path, lines, f"chunk {c.index}")
            if check_text:
                shown: dict[str, set[int]] = {}
                for path, n, _ in iter_added_lines(c.text):
                    shown.setdefault(path, set()).add(n)
                want = {p: s for p, s in c.assigned.items() if s}
                if shown != want:
                    problems.append(f"chunk {c.index}: added lines in its text differ from its assignment")
        for s in self.skipped:
            claim(s.path, s.changed_lines, f"skip rule {s.rule}")
        for path in expected.keys() | seen.keys():
            want, got = expected.get(path, set()), seen.get(path, set())
            if missing := sorted(want - got):
                problems.append(
                    f"{path}: {len(missing)} line(s) neither reviewed nor skipped: {missing[:10]}"
                )
            if extra := sorted(got - want):
                problems.append(
                    f"{path}: {len(extra)} line(s) claimed that are not added lines: {extra[:10]}"
                )
        if problems:
            raise CoverageError("coverage check failed:\n  " + "\n  ".join(problems[:20]))
        return sum(len(v) for v in expected.values())


# --- rendering --------------------------------------------------------------------------------
def _escape_break(m: re.Match[str]) -> str:
    c = ord(m.group(0))
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def _clean(text: str) -> str:
    return _BREAKS_RE.sub(_escape_break, text)


@dataclass(slots=True)
class _Piece:
    file: int
    seq: int
    body: list[str]
    chars: int  # including the file header line
    assigned: set[int]
    context: list[str] = field(default_factory=list)  # rendered context lines, after the body


def _distance(assigned: set[int], lo: int, hi: int) -> int:
    """How far a piece's changed lines are from a context run (0: the run surrounds some)."""
    if not assigned:
        return 10**9
    return min(0 if lo <= n <= hi else min(abs(n - lo), abs(n - hi)) for n in assigned)


def _without_unchanged(file: FileDiff) -> FileDiff:
    """``--context none``: the file with its hunks' unchanged lines left out (numbers kept)."""
    hunks = [
        Hunk(
            h.old_start,
            h.old_len,
            h.new_start,
            h.new_len,
            h.section,
            [ln for ln in h.lines if ln.kind != " "],
        )
        for h in file.hunks
    ]
    return FileDiff(
        file.old_path, file.new_path, file.path, file.status, file.binary, file.old_mode, file.new_mode,
        file.similarity, hunks, file.has_undecodable_bytes, file.crlf,
    )  # fmt: skip


class _Planner:
    def __init__(
        self,
        budget: Budget,
        estimator: TokenEstimator,
        overlap: int,
        context: ContextMode = "hunk",
        contexts: Mapping[str, FileContext] | None = None,
    ) -> None:
        self.ratio = estimator.ratio_for(budget.models)
        self.cap = estimator.capacity(budget.tokens, self.ratio)
        self.budget = budget
        self.overlap = max(0, overlap)
        self.pieces: list[_Piece] = []
        self.too_large: dict[int, list[int]] = {}
        self.context_dropped = 0
        self.hunk_context = context != "none"  # "none": the diff's own unchanged lines go too
        self.contexts = contexts or {}
        self.context_lines = 0  # head-revision lines sent (review/context.py)
        self.context_lines_left_out = 0  # ... that found no room next to their change

    def add_file(self, idx: int, file: FileDiff) -> int:
        """Cut one file into pieces; return its whole rendered size in characters."""
        first = len(self.pieces)
        total = self._add_diff(idx, file)
        if (context := self.contexts.get(file.path)) is not None:
            total += self._attach(context, self.pieces[first:])
        return total

    def _attach(self, context: FileContext, pieces: list[_Piece]) -> int:
        """Add each context run to the piece holding the changes it surrounds, while it fits;
        the diff always comes first. Returns the characters of every run (for the lower bound)."""
        total = 0
        for run in context.runs:
            lines = [render_line(" ", _clean(text), n) for n, text in run]
            cost = sum(len(s) + 1 for s in lines) + len(CONTEXT_GAP) + 1
            total += cost
            lo, hi = run[0][0], run[-1][0]
            owners = [p for p in pieces if p.assigned] or pieces
            piece = min(owners, key=lambda p: _distance(p.assigned, lo, hi))
            marker = 0 if piece.context else len(CONTEXT_MARKER) + 1
            if piece.chars + cost + marker > self.cap:
                self.context_lines_left_out += len(run)
                continue
            if not piece.context:
                piece.context.append(CONTEXT_MARKER)
            else:
                piece.context.append(CONTEXT_GAP)
            piece.context.extend(lines)
            piece.chars += cost + marker
            self.context_lines += len(run)
        return total

    def _add_diff(self, idx: int, file: FileDiff) -> int:
        header = render_file_header(file.path, language_of(file))
        hcost = len(header) + 1
        if not self.hunk_context:
            file = _without_unchanged(file)
        rendered = [self._render_hunk(h) for h in file.hunks]
        total = hcost + sum(sum(len(s) + 1 for s in r) for r in rendered)
        seq = 0
        body: list[str] = []
        chars = hcost
        assigned: set[int] = set()
        for hunk, lines in zip(file.hunks, rendered, strict=True):
            cost = sum(len(s) + 1 for s in lines)
            if chars + cost > self.cap and body:
                self.pieces.append(_Piece(idx, seq, body, chars, assigned))
                seq, body, chars, assigned = seq + 1, [], hcost, set()
            if chars + cost <= self.cap:
                body.extend(lines)
                chars += cost
                assigned.update(ln.new_no for ln in hunk.lines if ln.kind == "+" and ln.new_no is not None)
                continue
            seq = self._windows(idx, seq, hunk, lines, hcost)
        if body:
            self.pieces.append(_Piece(idx, seq, body, chars, assigned))
        return total

    @staticmethod
    def _render_hunk(h: Hunk) -> list[str]:
        out = [_clean(h.header)]
        for ln in h.lines:
            out.append(render_line(ln.kind, _clean(ln.text), ln.new_no))
            if ln.no_newline_at_eof:
                out.append("\\ No newline at end of file")
        return out

    def _windows(self, idx: int, seq: int, hunk: Hunk, rendered: list[str], hcost: int) -> int:
        """Cut a hunk too large for one request into windows; returns the next piece seq."""
        lines = hunk.lines
        # rendered[0] is the header; map each diff line to its rendered text (+ eof marker).
        texts: list[str] = []
        j = 1
        for ln in lines:
            texts.append(rendered[j] + ("\n\\ No newline at end of file" if ln.no_newline_at_eof else ""))
            j += 2 if ln.no_newline_at_eof else 1
        costs = [len(t) + 1 for t in texts]
        old_pos, new_pos = [], []
        o, n = (
            hunk.old_start if hunk.old_len else hunk.old_start + 1,
            hunk.new_start if hunk.new_len else hunk.new_start + 1,
        )
        for ln in lines:
            old_pos.append(o)
            new_pos.append(n)
            o += ln.kind != "+"
            n += ln.kind != "-"
        tail = f" {_clean(hunk.section)}" if hunk.section else ""
        fixed = hcost + len(f"@@ -{o},{hunk.old_len} +{n},{hunk.new_len} @@{tail}") + 1  # upper bound
        avail = self.cap - fixed
        s, count = 0, len(lines)
        while s < count:
            if costs[s] > avail:
                if lines[s].kind == "+" and lines[s].new_no is not None:
                    self.too_large.setdefault(idx, []).append(lines[s].new_no)
                s += 1
                continue
            before = max(0, s - self.overlap)
            while before < s and sum(costs[before:s]) + costs[s] > avail:
                before += 1
            room = avail - sum(costs[before:s])
            e, used = s, 0
            while e < count and used + costs[e] + sum(costs[e + 1 : e + 1 + self.overlap]) <= room:
                used += costs[e]
                e += 1
            if e == s:  # the line fits but not with its trailing context
                used, e = costs[s], s + 1
            after = e
            while after < count and after < e + self.overlap and used + costs[after] <= room:
                used += costs[after]
                after += 1
            body, assigned = [], set()
            for k in range(before, after):
                ln = lines[k]
                if s <= k < e or ln.kind != "+":
                    body.append(texts[k])
                    if s <= k < e and ln.kind == "+" and ln.new_no is not None:
                        assigned.add(ln.new_no)
                else:  # overlap: shown for context, owned by the neighbouring window
                    body.append(render_line(" ", _clean(ln.text), ln.new_no))
            ol = sum(1 for k in range(before, after) if lines[k].kind != "+")
            nl = sum(1 for k in range(before, after) if lines[k].kind != "-")
            head = f"@@ -{old_pos[before]},{ol} +{new_pos[before]},{nl} @@{tail}"
            chars = hcost + len(head) + 1 + sum(len(b) + 1 for b in body)
            self.pieces.append(_Piece(idx, seq, [head, *body], chars, assigned))
            seq += 1
            s = e
        return seq

    def pack(self) -> list[list[_Piece]]:
        """First-fit decreasing; ties keep file order so plans are deterministic.

        A piece with no added lines (a removal-only hunk of a split file) is context only: it
        rides along where there is room but never costs a request of its own."""
        bins: list[list[_Piece]] = []
        free: list[int] = []
        order = sorted(self.pieces, key=lambda p: (not p.assigned, -p.chars, p.file, p.seq))
        for p in order:
            for b, room in enumerate(free):
                if p.chars <= room:
                    bins[b].append(p)
                    free[b] -= p.chars
                    break
            else:
                if p.assigned:
                    bins.append([p])
                    free.append(self.cap - p.chars)
                else:
                    self.context_dropped += sum(1 for line in p.body if line.startswith("       - "))
        for b in bins:
            b.sort(key=lambda p: (p.file, p.seq))
        bins.sort(key=lambda b: (b[0].file, b[0].seq))
        return bins


def plan_chunks(
    files: Sequence[FileDiff],
    budget: Budget,
    estimator: TokenEstimator | None = None,
    *,
    overlap_lines: int = DEFAULT_OVERLAP_LINES,
    skipped: Iterable[Skipped] = (),
    context: ContextMode = "hunk",
    contexts: Mapping[str, FileContext] | None = None,
) -> ReviewPlan:
    """Pack already-filtered ``files``; ``skipped`` (the filter's records) is carried into the
    plan so :meth:`ReviewPlan.coverage_check` can be run against every parsed file. ``contexts``
    (path -> head-revision lines, review/context.py) ride with their file's changes where they fit."""
    estimator = estimator or TokenEstimator()
    planner = _Planner(budget, estimator, overlap_lines, context, contexts)
    total_chars = 0
    headers: list[str] = []
    for idx, f in enumerate(files):
        headers.append(render_file_header(f.path, language_of(f)))
        if len(headers[-1]) + 1 > planner.cap:
            planner.too_large[idx] = f.changed_lines()
            continue
        total_chars += planner.add_file(idx, f)
    chunks: list[Chunk] = []
    for i, pieces in enumerate(planner.pack()):
        out: list[str] = []
        assigned: dict[str, set[int]] = {}
        paths: list[str] = []
        prev = -1
        for p in pieces:
            path = files[p.file].path
            if p.file != prev:
                out.append(headers[p.file])
                paths.append(path)
                prev = p.file
            out.extend(p.body)
            out.extend(p.context)
            assigned.setdefault(path, set()).update(p.assigned)
        text = "\n".join(out)
        chunks.append(Chunk(i, text, estimator.estimate_chars(len(text), planner.ratio), paths, assigned))
    skips = list(skipped)
    for idx, lines in sorted(planner.too_large.items()):
        if not lines:
            continue
        f = files[idx]
        skips.append(
            Skipped(
                f.path,
                sorted(lines),
                TOO_LARGE,
                f"{len(lines)} added line(s) too long to fit a request of {budget.tokens} tokens "
                "even alone (with the file header)",
            )
        )
    return ReviewPlan(
        chunks,
        skips,
        budget,
        estimator.estimate_chars(total_chars, planner.ratio),
        [f.path for f in files],
        planner.context_dropped,
        context,
        planner.context_lines,
        planner.context_lines_left_out,
    )


def plan_review(
    files: Sequence[FileDiff],
    budget: Budget,
    estimator: TokenEstimator | None = None,
    *,
    filters: FilterConfig | None = None,
    overlap_lines: int = DEFAULT_OVERLAP_LINES,
    context: ContextMode = "hunk",
    head: HeadFiles | None = None,
) -> ReviewPlan:
    """Filter then pack: the one call the review engine needs. With ``context`` ``function`` or
    ``file``, each kept file's head revision is read from ``head`` (once) for its context."""
    result = filter_files(files, filters)
    contexts: dict[str, FileContext] = {}
    if head is not None and context in ("function", "file"):
        for f in result.kept:
            text = head.read(f.path)
            if text is not None and (c := file_context(f, language_of(f) or "", text, context)) is not None:
                contexts[f.path] = c
    return plan_chunks(
        result.kept,
        budget,
        estimator,
        overlap_lines=overlap_lines,
        skipped=result.skipped,
        context=context,
        contexts=contexts,
    )
