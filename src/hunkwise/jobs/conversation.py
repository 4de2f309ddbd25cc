"""What gets posted on a pull request: the one decision, for the review server and ``--github``.

A review of a new push finds again much of what an earlier push's review already said. This
module decides, per finding, from plain inputs (:class:`PostingInputs`):

- ``post``: new, post it inline;
- ``still_open``: already posted and its thread is still open: not posted again, counted in the
  summary as "still open from earlier";
- ``closed``: already posted and the author resolved it or answered "won't fix": never reopened,
  counted in the summary;
- ``suppressed``: a user asked not to see it (``@hunkwise ignore``: :mod:`hunkwise.store.posted_findings`),
  counted in the summary;
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
    # Earlier threads still open that this review did not find again (an incremental review sees
    # only the new commits; a full one may no longer see a fixed line): still open on the PR.
    open_elsewhere: list[Prior] = field(default_factory=list)

    @property
    def still_open_count(self) -> int:
        return len(self.still_open) + len(self.open_elsewhere)


def decide(
    findings: Sequence[Finding], code: Mapping[str, Mapping[int, str]], inputs: PostingInputs
) -> PostingPlan:
    """The one "what gets posted" decision. Order of the rules: an earlier post wins (a finding
    is never posted twice, and a closed thread never reopened, whatever else applies), then a
    suppression, then a demotion; what is left is posted."""
    plan = PostingPlan()
    matched: set[Fingerprint] = set()
    for f, fp in zip(findings, fingerprints(findings, code), strict=True):
        earlier = _prior_match(fp, inputs.prior)
        if earlier is not None:
            matched.add(earlier.fingerprint)
            (plan.closed if earlier.closed else plan.still_open).append(Placed(f, fp, earlier))
        elif match(fp, inputs.suppressed) is not None:
            plan.suppressed.append(Placed(f, fp))
        elif inputs.demote is not None and (reason := inputs.demote(f)):
            plan.demoted.append(Placed(f, fp, reason=reason))
        else:
            plan.post.append(Placed(f, fp))
    plan.open_elsewhere = [p for p in inputs.prior if not p.closed and p.fingerprint not in matched]
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
        if old is None or _RANK[state] > _RANK[old.state]:
            best[fp.text] = Prior(
                fp, state, where or (old.where if old else ""), title or (old.title if old else "")
            )

    for t in threads:
        add(t.fingerprint, "wont_fix" if t.wont_fix else "resolved" if t.resolved else "open", t.where, "")
    for text, state, path, title in stored:
        add(text, state if state in _RANK else "open", path, title)  # type: ignore[arg-type]
    return list(best.values())
