"""What gets posted on a pull request: the one decision, for the review server and ``--github``.

A review of a new push finds again much of what an earlier push's review already said. This
module decides, per finding, from plain inputs (:class:`PostingInputs`):

- ``post``: new, post it inline;
- ``closed``: already posted and the author resolved it or answered "won't fix": never reopened,
  counted in the summary;
- ``suppressed``: a user asked not to see it (``@hunkwise ignore``: :mod:`hunkwise.store.posted_findings`),
  counted in the summary; a posted finding ignored later counts here from then on;
- ``still_open``: already posted and its thread is still open: not posted again, counted in the
  summary as "still open from earlier";
- ``demoted``: its category or path is demoted by feedback: listed in the summary only, with the
  reason, never silent.

Earlier findings come from two places that agree by construction: the hidden ``fp`` markers of
hunkwise's own comments on the pull request (with their threads' resolution), and the server's
``posted_findings`` table. ``--github`` mode has only the first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from hunkwise.platforms.review_post import PriorThread
from hunkwise.review.findings import Finding
from hunkwise.review.fingerprint import Fingerprint, FingerprintError, fingerprints, match

PriorState = Literal["open", "resolved", "wont_fix"]
# A demotion rule: a reason ("category style: 12% accepted") when the finding goes to the summary only.
Demotion = Callable[[Finding], str | None]


@dataclass(frozen=True, slots=True)
class Prior:
    """A finding posted on an earlier push, and what became of its thread."""

    fingerprint: Fingerprint
    state: PriorState = "open"
    where: str = ""  # "path:line" as posted, for the summary
    title: str = ""

    @property
    def closed(self) -> bool:
        return self.state != "open"


@dataclass(frozen=True, slots=True)
class PostingInputs:
    """Everything the decision reads besides the findings. ``suppressed``: fingerprints not to
    post (the ``ignore`` command's, per PR and repository); ``demote``: feedback demotion."""

    prior: Sequence[Prior] = ()
    suppressed: Sequence[Fingerprint] = ()
    demote: Demotion | None = None
    # The review saw only the commits since the last reviewed head: an earlier finding it did not
    # find again is still open, not gone.
    incremental: bool = False


@dataclass(frozen=True, slots=True)
class Placed:
    """A finding with its fingerprint, and the earlier post it matched (if any)."""

    finding: Finding
    fingerprint: Fingerprint
    prior: Prior | None = None
    reason: str = ""  # why demoted


@dataclass(slots=True)
class PostingPlan:
    post: list[Placed] = field(default_factory=list)
    still_open: list[Placed] = field(default_factory=list)
    closed: list[Placed] = field(default_factory=list)
    suppressed: list[Placed] = field(default_factory=list)
    demoted: list[Placed] = field(default_factory=list)
    # Earlier open threads this review did not find again. An incremental review sees only the
    # new commits: they are still open. A review of the whole change no longer sees them: the
    # code changed or went away (most often: fixed); their threads are left as they are.
    open_elsewhere: list[Prior] = field(default_factory=list)
    not_found_again: list[Prior] = field(default_factory=list)

    @property
    def still_open_count(self) -> int:
        return len(self.still_open) + len(self.open_elsewhere)


def decide(
    findings: Sequence[Finding], code: Mapping[str, Mapping[int, str]], inputs: PostingInputs
) -> PostingPlan:
    """The one "what gets posted" decision. Order of the rules: a thread closed earlier stays
    closed (never reopened, whatever else applies); then a suppression (``ignore`` on a posted
    finding closes it from then on); then an earlier open post (never posted twice); then a
    demotion; what is left is posted. Nothing already posted is ever posted again."""
    plan = PostingPlan()
    matched: set[Fingerprint] = set()
    for f, fp in zip(findings, fingerprints(findings, code), strict=True):
        earlier = _prior_match(fp, inputs.prior)
        if earlier is not None:
            matched.add(earlier.fingerprint)
        if earlier is not None and earlier.closed:
            plan.closed.append(Placed(f, fp, earlier))
        elif match(fp, inputs.suppressed) is not None:
            plan.suppressed.append(Placed(f, fp, earlier))
        elif earlier is not None:
            plan.still_open.append(Placed(f, fp, earlier))
        elif inputs.demote is not None and (reason := inputs.demote(f)):
            plan.demoted.append(Placed(f, fp, reason=reason))
        else:
            plan.post.append(Placed(f, fp))
    unmatched = [
        p
        for p in inputs.prior
        if not p.closed and p.fingerprint not in matched and match(p.fingerprint, inputs.suppressed) is None
    ]
    if inputs.incremental:
        plan.open_elsewhere = unmatched
    else:
        plan.not_found_again = unmatched
    return plan


def _prior_match(fp: Fingerprint, prior: Sequence[Prior]) -> Prior | None:
    found = match(fp, [p.fingerprint for p in prior])
    if found is None:
        return None
    # A fingerprint posted twice (two platforms' views merged): a closed state wins.
    candidates = [p for p in prior if p.fingerprint == found]
    return next((p for p in candidates if p.closed), candidates[0])


_RANK: dict[PriorState, int] = {"open": 0, "resolved": 1, "wont_fix": 2}


def merge_prior(
    threads: Iterable[PriorThread], stored: Iterable[tuple[str, str, str, str]] = ()
) -> list[Prior]:
    """What the platform shows (``threads``: fingerprints in hunkwise's own comments, with their
    resolution) and what the store remembers (``(fingerprint, state, path, title)`` rows), as
    one list: one entry per fingerprint, the most closed state winning (a thread resolved on
    the platform is resolved even when the store has not heard yet, and a store that recorded
    "won't fix" keeps it after the comment was deleted). Unparseable fingerprints (a marker
    anyone could type) are skipped."""
    best: dict[str, Prior] = {}

    def add(text: str, state: PriorState, where: str, title: str) -> None:
        try:
            fp = Fingerprint.parse(text)
        except FingerprintError:
            return
        old = best.get(fp.text)
        if old is None:
            best[fp.text] = Prior(fp, state, where, title)
            return
        best[fp.text] = Prior(
            fp,
            state if _RANK[state] > _RANK[old.state] else old.state,
            old.where or where,
            old.title or title,
        )

    for t in threads:
        add(t.fingerprint, "wont_fix" if t.wont_fix else "resolved" if t.resolved else "open", t.where, "")
    for text, state, path, title in stored:
        add(text, state if state in _RANK else "open", path, title)  # type: ignore[arg-type]
    return list(best.values())
