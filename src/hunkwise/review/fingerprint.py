"""A finding's fingerprint: what makes "the same finding" on a later push of the same change.

Line numbers move with every commit above a finding, and a model words the same concern a
little differently each time, so neither can be the identity. A fingerprint is two parts:

- ``anchor``: a hash of the path, the category and the *normalized* code the finding is about
  (its own new-side lines, whitespace collapsed, so re-indentation and moved blocks keep it), plus
  an occurrence number when the same code carries the same concern twice in one file;
- ``title``: the title's words as a slug, compared by similarity (:func:`same_finding`), because
  "Bare except swallows errors" and "Bare except swallows every error" are one finding.

The text form ``<anchor>.<slug>`` is safe inside a hidden HTML marker
(:mod:`hunkwise.platforms.review_post`), so a run without a database (``review --github``)
recovers what was already posted from the comments themselves. Pure and deterministic.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hunkwise.errors import PermanentError
from hunkwise.review.findings import Finding

ANCHOR_CHARS = 16
SLUG_WORDS = 12  # a title's first words: enough to compare, short enough for a marker
TITLE_SIMILARITY = 0.6  # word overlap (Dice) from which two titles name the same concern
_WORD = re.compile(r"[a-z0-9]+")
_TEXT = re.compile(r"^([0-9a-f]{16})\.([a-z0-9-]{0,200})$")
# Words that tag a title but say nothing about the concern ("[sim] ...", "Possible ...").
_NOISE = frozenset({"sim", "a", "an", "the", "possible", "potential", "of", "in", "on", "to"})


class FingerprintError(PermanentError, ValueError):
    """A fingerprint's text form is not ``<16 hex>.<slug>``; the message shows what was read
    (a marker anyone could type is untrusted input: reading it again cannot help)."""


@dataclass(frozen=True, slots=True, order=True)
class Fingerprint:
    """Where a finding is (as code, not as a line number) and what it says, as words."""

    anchor: str  # 16 hex: path + category + normalized code (+ occurrence)
    slug: str  # the title's significant words joined by "-"

    @property
    def text(self) -> str:
        """The marker-safe text form, ``<anchor>.<slug>``."""
        return f"{self.anchor}.{self.slug}"

    @classmethod
    def parse(cls, text: str) -> Fingerprint:
        """The text form back; :class:`FingerprintError` for anything else (a marker anyone
        could have typed is untrusted input)."""
        found = _TEXT.match(text or "")
        if not found:
            raise FingerprintError(f"not a finding fingerprint: {text[:60]!r}")
        return cls(found.group(1), found.group(2))

    def words(self) -> frozenset[str]:
        """The title's words, for the similarity of two titles."""
        return frozenset(w for w in self.slug.split("-") if w)


def normalize_code(lines: Iterable[str]) -> str:
    """The code with every run of whitespace collapsed and blank lines dropped: indentation and
    reflow do not change what a finding is about."""
    kept = (" ".join(line.split()) for line in lines)
    return "\n".join(line for line in kept if line)


def title_slug(title: str) -> str:
    """The title's significant words, lower case, joined by ``-``: safe in a hidden marker."""
    words = [w for w in _WORD.findall(title.lower()) if w not in _NOISE]
    return "-".join(words[:SLUG_WORDS])


def title_similarity(a: Fingerprint, b: Fingerprint) -> float:
    """Dice coefficient of the two titles' word sets (1.0 for two empty titles)."""
    wa, wb = a.words(), b.words()
    if not wa and not wb:
        return 1.0
    return 2 * len(wa & wb) / (len(wa) + len(wb))


def same_finding(a: Fingerprint, b: Fingerprint, *, threshold: float = TITLE_SIMILARITY) -> bool:
    """One concern about the same code: the anchors are equal and the titles similar enough."""
    return a.anchor == b.anchor and title_similarity(a, b) >= threshold


def _anchor(path: str, category: str, code: str, occurrence: int) -> str:
    raw = f"{path}\0{category}\0{code}\0{occurrence}"
    return hashlib.sha256(raw.encode()).hexdigest()[:ANCHOR_CHARS]


def finding_code(f: Finding, code: Mapping[str, Mapping[int, str]]) -> list[str]:
    """The new-side text of the finding's lines, as the report kept it from the diff (an empty
    list when the report has none of them, e.g. a report read back without its code)."""
    lines = code.get(f.path) or {}
    return [lines[n] for n in range(f.start_line, max(f.start_line, f.end_line) + 1) if n in lines]


def fingerprints(findings: Iterable[Finding], code: Mapping[str, Mapping[int, str]]) -> list[Fingerprint]:
    """One fingerprint per finding, in order. Two findings of one category on identical code in
    one file (two equal ``# TODO`` lines) are told apart by their order in the file, which a line
    shift does not change."""
    ordered = list(findings)
    seen: dict[tuple[str, str, str], int] = {}
    out: dict[int, Fingerprint] = {}
    for i in sorted(range(len(ordered)), key=lambda i: (ordered[i].path, ordered[i].start_line, i)):
        f = ordered[i]
        text = normalize_code(finding_code(f, code))
        if not text:  # no code known: the title stands in, so the anchor still says something
            text = "title:" + title_slug(f.title)
        key = (f.path, f.category, text)
        seen[key] = seen.get(key, 0) + 1
        out[i] = Fingerprint(_anchor(f.path, f.category, text, seen[key]), title_slug(f.title))
    return [out[i] for i in range(len(ordered))]


def fingerprint(f: Finding, code: Mapping[str, Mapping[int, str]]) -> Fingerprint:
    """The fingerprint of one finding alone (occurrence 1)."""
    return fingerprints([f], code)[0]


def match(fp: Fingerprint, known: Iterable[Fingerprint]) -> Fingerprint | None:
    """The first of ``known`` that is the same finding as ``fp``, else ``None``."""
    for other in known:
        if same_finding(fp, other):
            return other
    return None
