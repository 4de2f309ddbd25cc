"""A model's answer -> its findings, or a precise reason why not (sent back in the repair request).

Models wrap the findings JSON in prose and fences, quote code full of brackets, answer in other
review tools' field names, and get cut off by their output limit. The rules, in order:

- Every JSON value in the text is a candidate (:mod:`hunkwise.review.json_scan` finds them in one
  linear pass); the answer is the candidate that best matches the findings contract (a findings
  list with the most valid findings), never merely the first that parses. A candidate that fails
  validation does not end the search.
- "No findings" is believed only when said clearly: ``{"findings": []}``, or an empty list that
  is the whole answer (or a fenced block's whole body), and nothing in the text looks like a
  finding. A stray ``[]`` from quoted code is not an answer.
- JSON that is *almost* JSON (comments, single quotes, Python's ``True``/``None``, unquoted keys,
  trailing or missing commas, typographic quotes) is read by the maintained ``json_repair``
  library, after the standard decoder refused it; an answer cut off by the output limit is not
  "repaired": the findings after the cut are gone, so the model is asked again.
- Anything else short of a clean answer is a parse problem (:class:`AnswerParseError`): the
  engine sends one repair request. Findings already readable (complete findings before a cut, the
  valid members of a partly invalid list) travel on the error as ``salvaged`` so none are lost.
- Bounded: answers are read up to :data:`MAX_ANSWER_CHARS`, values nested deeper than
  :data:`MAX_VALUE_DEPTH` are not decoded, numbers longer than :data:`MAX_INT_DIGITS` digits are a
  validation error of their finding.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import json_repair
from pydantic import ValidationError

from hunkwise.catalog.findings_contract import (
    CATEGORIES,
    CATEGORY_ALIASES,
    FIELD_ALIASES,
    FIELD_BY_ALIAS,
    LIST_KEY_ALIASES,
    SEVERITIES,
    SEVERITY_ALIASES,
    ModelAnswer,
    ModelFinding,
    alias_key,
)
from hunkwise.errors import TransientError
from hunkwise.review.json_scan import Span, scan_json

MAX_ANSWER_CHARS = 1_000_000  # far above any model's output limit; more is junk or an attack
MAX_VALUE_DEPTH = 32  # a findings answer is 3-4 levels deep
MAX_INT_DIGITS = 18
_DECODE_ALLOWANCE = 65_536
# json_repair is pure Python (bench/answer_parse.py times it): values larger than this that the
# standard decoder refuses are looked into for smaller values instead of repaired whole.
MAX_REPAIR_CHARS = 200_000
_INT_LIMIT = 10**MAX_INT_DIGITS
_TOO_DEEP = f"a JSON value is nested deeper than {MAX_VALUE_DEPTH} levels; a findings answer needs 3"

# Key kinds the scanner reports per object; a "finding-shaped" object has all of PATH|LINE|MESSAGE.
PATH, LINE, MESSAGE, LIST = 1, 2, 4, 8
SHAPE = PATH | LINE | MESSAGE
_FIELD_KIND = {"path": PATH, "start_line": LINE, "end_line": LINE, "title": MESSAGE, "body": MESSAGE}
# For a field a model left out, or filled with another tool's word we do not know.
_DEFAULTS = {"severity": "medium", "category": "maintainability"}
_CONFIDENCE_WORDS = {"high": 0.9, "medium": 0.6, "low": 0.3}
_LINE_RANGE_RE = re.compile(r"L?(\d{1,9})(?:\s*(?:-|–|:|\.\.)\s*L?(\d{1,9}))?")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s|\n")
_SCORE_RE = re.compile(r"(\d{1,2})\s*/\s*10")
_LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_SCORE_SEVERITY = ((9, "critical"), (7, "high"), (4, "medium"), (0, "low"))


class AnswerParseError(TransientError, ValueError):
    """The answer is not a clean findings answer. The message says precisely why (the model reads
    it in the repair request); ``salvaged`` holds the findings that could be read all the same.
    Transient: the next answer (the repair request, another attempt) may be a clean one."""

    def __init__(self, message: str, salvaged: Sequence[ModelFinding] = ()) -> None:
        super().__init__(message)
        self.salvaged = list(salvaged)


def classify_key(key: str) -> int:
    """The kind of a JSON key under the alias table: a path, a line, a message, a findings list."""
    return _classify(key) if len(key) <= 64 else 0


@lru_cache(maxsize=4096)
def _classify(key: str) -> int:
    norm = alias_key(key)
    if norm in LIST_KEY_ALIASES:
        return LIST
    return _FIELD_KIND.get(FIELD_BY_ALIAS.get(norm, ""), 0)


@dataclass(slots=True)
class _Candidate:
    """A findings list found in the answer, with its members validated."""

    start: int
    fenced: bool
    explicit: bool  # under our own "findings" key, or the whole answer
    valid: list[ModelFinding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    size: int = 0

    def rank(self) -> tuple[int, int, bool, int]:
        return (len(self.valid), -len(self.problems), self.fenced, self.start)


def parse_answer(text: str) -> ModelAnswer:
    """Find and validate the findings in ``text``; raise :class:`AnswerParseError` otherwise."""
    if not text or not text.strip():
        raise AnswerParseError('the answer was empty; expected a JSON object {"findings": [...]}')
    oversized = len(text) > MAX_ANSWER_CHARS
    if oversized:
        text = text[:MAX_ANSWER_CHARS]
    scan = scan_json(text, classify_key)
    decoded, decode_error, refused = _decode(text, scan.roots, repair=False)
    if scan.overnested and decode_error is None:
        decode_error = _TOO_DEEP
    lists, loose, chosen = _candidates(decoded)
    # Near-JSON is read again with json_repair when the strict reading found no clean answer, or
    # refused a value that holds findings' keys (a comment inside one finding would otherwise
    # leave the answer one finding short, silently). Not for every refused value: prose brackets
    # around an answer ("[[files[0] is ...") repair into fragments that look like findings.
    if refused and (
        chosen is None or bool(chosen.problems) or any(span.keys & (SHAPE | LIST) for span in refused)
    ):
        repaired = _decode(text, scan.roots, repair=True)[0]
        lists2, loose2, chosen2 = _candidates(repaired)
        if chosen2 is not None and (chosen is None or chosen2.rank() > chosen.rank()):
            decoded, lists, loose, chosen = repaired, lists2, loose2, chosen2
    # A stray quote in the prose before the answer ("the "fix" is...) puts the scanner inside a
    # string for the rest of the text, and our own answer is never seen. Our key written out is
    # unambiguous: decode from each place it starts, when the scan found no clean answer under it
    # (nothing, findings with problems, or loose finding-shaped fragments of our answer).
    unclean = chosen is None or bool(chosen.problems) or not chosen.explicit
    if unclean and (anchored := _anchored(text, {span.start for span, _ in decoded})):
        lists3, loose3, chosen3 = _candidates(decoded + anchored)
        if chosen3 is not None and (chosen is None or chosen3.rank() > chosen.rank()):
            decoded, lists, loose, chosen = decoded + anchored, lists3, loose3, chosen3
        elif chosen is None:
            decoded, lists = decoded + anchored, lists3
    cut = oversized or any(flags & (SHAPE | LIST) for flags in scan.open_at_end)

    if cut:
        salvaged = _salvage(chosen, loose)
        where = (
            f"it is longer than {MAX_ANSWER_CHARS:,} characters and was cut there"
            if oversized
            else "it ends inside its JSON (cut off by the output limit?)"
        )
        raise AnswerParseError(
            f"the answer is incomplete: {where}; {len(salvaged)} complete finding(s) before the cut "
            'were read. Answer again with the whole {"findings": [...]} object, shorter if needed',
            salvaged,
        )
    if chosen is not None:
        if chosen.problems:
            raise AnswerParseError(
                "the findings do not match the schema: " + "; ".join(chosen.problems[:5]), chosen.valid
            )
        return ModelAnswer(findings=chosen.valid)
    if any(c.explicit for c in lists) and not any(flags & SHAPE == SHAPE for flags in scan.all_keys):
        return ModelAnswer(findings=[])
    if any(flags & SHAPE == SHAPE for flags in scan.all_keys):
        raise AnswerParseError(
            "the answer contains objects that look like findings (a path, a line and a message) "
            f"but no findings list could be read from them ({decode_error or 'no valid JSON'})"
        )
    if lists:
        raise AnswerParseError(
            "no findings JSON found: an empty list inside prose or code is not an answer; answer "
            '{"findings": []} when there is nothing to report'
        )
    if objects := [value for _, value in decoded if isinstance(value, dict)]:
        keys = ", ".join(sorted({str(k) for value in objects for k in value})[:8])
        raise AnswerParseError(f'the JSON has no "findings" list (its keys: {keys or "none"})')
    if decode_error:
        raise AnswerParseError(decode_error)
    raise AnswerParseError('no JSON object or array found in the answer; expected {"findings": [...]}')


def _candidates(decoded: list[tuple[Span, Any]]) -> tuple[list[_Candidate], _Candidate, _Candidate | None]:
    """The findings lists in the decoded values, the loose findings, and the best of them."""
    lists: list[_Candidate] = []
    loose = _Candidate(start=-1, fenced=False, explicit=False)
    for span, value in decoded:
        _collect(value, span, lists, loose)
    best = max((c for c in lists if c.size), key=_Candidate.rank, default=None)
    chosen = loose if loose.size and (best is None or loose.rank() > best.rank()) else best
    return lists, loose, chosen


def _salvage(chosen: _Candidate | None, loose: _Candidate) -> list[ModelFinding]:
    out = list(chosen.valid) if chosen is not None else []
    if chosen is not loose:
        out += [f for f in loose.valid if f not in out]
    return out


# --- decoding -----------------------------------------------------------------------------------
class _OversizedNumber:
    """A number too long to be a line number or a confidence: fails its field's validation."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"<number with {self.digits} digits>"


def _bounded_int(digits: str) -> int | _OversizedNumber:
    return int(digits) if len(digits) <= MAX_INT_DIGITS else _OversizedNumber(len(digits))


_DECODER = json.JSONDecoder(strict=False, parse_int=_bounded_int)


def _decode(
    text: str, roots: list[Span], *, repair: bool
) -> tuple[list[tuple[Span, Any]], str | None, list[Span]]:
    """Decode outermost values first; a value that is not valid JSON is looked into (its inner
    values may be) and, with ``repair``, read as near-JSON as well. Returns the values, the
    error of the largest refused value, and the refused values. Work is bounded by a budget
    proportional to the text."""
    out: list[tuple[Span, Any]] = []
    refused: list[Span] = []
    error: str | None = None
    error_size = -1
    budget = 4 * len(text) + _DECODE_ALLOWANCE
    todo = list(reversed(roots))
    while todo:
        span = todo.pop()
        size = span.end - span.start
        if span.depth > MAX_VALUE_DEPTH:
            if size > error_size:
                error, error_size = _TOO_DEEP, size
            todo.extend(reversed(span.children))
            continue
        if size > budget:
            continue
        budget -= size
        raw = text[span.start : span.end]
        try:
            out.append((span, _DECODER.decode(raw)))
            continue
        except (ValueError, RecursionError) as exc:
            refused.append(span)
            if size > error_size:
                error, error_size = _describe(exc), size
        if repair and size <= MAX_REPAIR_CHARS and (value := _repair(raw)) is not None:
            out.append((span, value))
        todo.extend(reversed(span.children))
    return out, error, refused


_ANCHOR_RE = re.compile(r'\{\s*"findings"\s*:')
_MAX_ANCHORS = 64


def _anchored(text: str, decoded_at: set[int]) -> list[tuple[Span, Any]]:
    """The values that start at ``{"findings":`` in ``text`` and were not decoded by the scan (it
    read them as inside a string). Each is read by the standard decoder from its anchor to the
    next one: inside a JSON string our key's quotes would be escaped, so a clean answer never
    spans an anchor, and the pieces are disjoint (the work stays linear in the text, also for
    ``{"findings": {"findings": ...`` repeated). At most :data:`_MAX_ANCHORS` are tried."""
    starts = [m.start() for m in itertools.islice(_ANCHOR_RE.finditer(text), _MAX_ANCHORS)]
    out: list[tuple[Span, Any]] = []
    for start, stop in zip(starts, [*starts[1:], len(text)], strict=False):
        if start in decoded_at:
            continue
        try:
            value, used = _DECODER.raw_decode(text[start:stop])
        except (ValueError, RecursionError):
            continue
        out.append((Span(start=start, end=start + used, depth=1, keys=LIST), value))
    return out


def _repair(raw: str) -> Any:
    """``raw`` read by ``json_repair``, or ``None`` when it is not a JSON object or array even so.
    Numbers get the same bound as the standard decoder's (:data:`MAX_INT_DIGITS`)."""
    try:
        value = json_repair.loads(raw, skip_json_loads=True)
    except Exception:  # the library's own failures on hostile text: "not JSON", as for json.loads
        return None
    return _bound_numbers(value) if isinstance(value, dict | list) and value else None


def _bound_numbers(value: Any) -> Any:
    """Oversized integers as :class:`_OversizedNumber` (iteratively: repaired values are nested
    at most :data:`MAX_VALUE_DEPTH` deep, but a walk never needs the call stack)."""
    todo = [value]
    while todo:
        node = todo.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in list(items):
            if isinstance(item, int) and not isinstance(item, bool) and abs(item) >= _INT_LIMIT:
                node[key] = _OversizedNumber(math.floor(abs(item).bit_length() * math.log10(2)) + 1)
            elif isinstance(item, dict | list):
                todo.append(item)
    return value


def _describe(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    return f"invalid JSON: {exc}"


# --- candidates ---------------------------------------------------------------------------------
def _kinds(item: dict[Any, Any]) -> int:
    out = 0
    for key in item:
        if isinstance(key, str):
            out |= classify_key(key)
    return out


def _has_fields(value: Any) -> bool:
    """A dict with at least one finding field: a member of a findings list, valid or not."""
    return isinstance(value, dict) and bool(_kinds(value) & SHAPE)


def _collect(value: Any, span: Span, lists: list[_Candidate], loose: _Candidate) -> None:
    """Findings lists anywhere in one decoded value (``{"review": {"findings": [...]}}``, an
    answer wrapped in prose brackets); a value that is itself a finding goes to ``loose`` (models
    that write one JSON block per finding). The walk is iterative and visits each node once."""
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        node, depth = todo.pop()
        top = depth == 0
        if isinstance(node, dict):
            if _kinds(node) & SHAPE == SHAPE:
                loose.start = max(loose.start, span.start)
                loose.fenced |= span.fenced
                _validate([node], loose, f"the finding at character {span.start}", indexed=False)
                continue
            for key, item in node.items():
                if isinstance(key, str) and alias_key(key) in LIST_KEY_ALIASES:
                    if isinstance(item, list):
                        members = item if not item or any(_has_fields(v) for v in item) else None
                    else:  # {"review": {<one finding>}}
                        members = [item] if isinstance(item, dict) and _kinds(item) & SHAPE == SHAPE else None
                    if members is not None:
                        explicit = key == "findings" or (top and span.whole)
                        lists.append(_validate(members, _Candidate(span.start, span.fenced, explicit), key))
                        continue
                if isinstance(item, dict | list):
                    todo.append((item, depth + 1))
        elif isinstance(node, list):
            if not node:
                if top:
                    lists.append(_Candidate(span.start, span.fenced, explicit=span.whole))
            elif all(isinstance(v, dict) for v in node) and any(_kinds(v) & SHAPE == SHAPE for v in node):
                cand = _Candidate(span.start, span.fenced, explicit=top and span.whole)
                lists.append(_validate(node, cand, "findings"))
            else:
                todo.extend((item, depth + 1) for item in reversed(node) if isinstance(item, dict | list))


def _validate(items: list[Any], into: _Candidate, where: str, *, indexed: bool = True) -> _Candidate:
    """Validate members into ``into``; problems are named ``where.i.field`` as the model wrote
    them (``where.field`` for a finding standing alone)."""
    for i, item in enumerate(items):
        into.size += 1
        at = f"{where}.{i}" if indexed else where
        if not isinstance(item, dict):
            into.problems.append(f"{at}: expected an object, got {type(item).__name__}")
            continue
        try:
            into.valid.append(ModelFinding.model_validate(normalise_finding(item)))
        except ValidationError as exc:
            into.problems.extend(
                f"{at}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:3]
            )
    return into


# --- one finding --------------------------------------------------------------------------------
def normalise_finding(item: dict[str, Any]) -> dict[str, Any]:
    """Map a finding as a model wrote it onto the contract's fields: alias names (the table in
    :mod:`hunkwise.catalog.findings_contract`), spellings of severity and category, a line range written
    as ``"12-14"``, a 0-10 confidence; a missing title is taken from the body."""
    picked: dict[str, tuple[int, Any]] = {}
    for key, value in item.items():
        name = FIELD_BY_ALIAS.get(alias_key(key)) if isinstance(key, str) else None
        if name is None:
            continue
        rank = [alias_key(a) for a in FIELD_ALIASES[name]].index(alias_key(key))
        if name not in picked or rank < picked[name][0]:
            picked[name] = (rank, value)
    out: dict[str, Any] = {
        name: _LONE_SURROGATE_RE.sub("\ufffd", value) if isinstance(value, str) else value
        for name, (_, value) in picked.items()
    }  # JSON may escape a lone surrogate ("\ud800"): not text, and fatal to print or encode
    _lines(out)
    out["severity"] = _severity_score(out.get("severity"))
    for name, table, known in (
        ("severity", SEVERITY_ALIASES, SEVERITIES),
        ("category", CATEGORY_ALIASES, CATEGORIES),
    ):
        value = out.get(name)
        if isinstance(value, str):
            word = value.strip().lower()
            word = table.get(word, word.replace("-", "_").replace(" ", "_"))  # type: ignore[call-overload]
            # Our own field must hold our words; another tool's label that we do not know is
            # that tool's vocabulary, not an error of the finding.
            out[name] = word if word in known or picked[name][0] == 0 else _DEFAULTS[name]
        elif value is None:
            out[name] = _DEFAULTS[name]
    _title(out)
    if out.get("suggestion") == "":
        out["suggestion"] = None
    confidence = out.get("confidence")
    if isinstance(confidence, str) and confidence.strip().lower() in _CONFIDENCE_WORDS:
        out["confidence"] = _CONFIDENCE_WORDS[confidence.strip().lower()]
    elif isinstance(confidence, int | float) and not isinstance(confidence, bool) and 1 < confidence <= 100:
        out["confidence"] = confidence / 10 if confidence <= 10 else confidence / 100
    elif confidence is None:
        out.pop("confidence", None)
    return out


def _severity_score(value: Any) -> Any:
    """A 0-10 score (``8``, ``"8/10"``, as some review tools rate) -> our severity word."""
    if isinstance(value, str) and (m := _SCORE_RE.fullmatch(value.strip())):
        value = int(m.group(1))
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 10:
        return next(word for floor, word in _SCORE_SEVERITY if value >= floor)
    return value


def _lines(out: dict[str, Any]) -> None:
    start = out.get("start_line")
    if isinstance(start, str) and (m := _LINE_RANGE_RE.fullmatch(start.strip())):
        out["start_line"] = int(m.group(1))
        if m.group(2) and "end_line" not in out:
            out["end_line"] = int(m.group(2))
    end = out.get("end_line")
    if isinstance(end, str) and (m := _LINE_RANGE_RE.fullmatch(end.strip())):
        out["end_line"] = int(m.group(2) or m.group(1))
    if out.get("end_line") is None and "start_line" in out:
        out["end_line"] = out["start_line"]


def _title(out: dict[str, Any]) -> None:
    title, body = out.get("title"), out.get("body")
    if body is None:
        out.pop("body", None)
    untitled = title is None or (isinstance(title, str) and not title.strip())
    if untitled and isinstance(body, str) and body.strip():
        out["title"] = title = _SENTENCE_END_RE.split(body.strip(), maxsplit=1)[0]
    if isinstance(title, str) and len(title) > 200:
        out["title"] = title[:197] + "..."
