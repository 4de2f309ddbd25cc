"""``--judge``: a model decides whether a finding and an expected issue describe the same problem.

Location alone (same file, lines within the tolerance) credits a finding about a missing log line
that happens to sit next to the SQL injection the case expects. The judge is asked only about the
pairs location already allows (few per case), one request each, and its verdicts are cached like
review results; both scores are reported, so the judge's effect is visible rather than trusted.

The question and the verdict's format are :mod:`hunkwise.catalog.judge_contract`'s, which the offline
simulator also reads, so ``--judge --offline`` is deterministic and testable.
"""

from __future__ import annotations

from dataclasses import dataclass

from hunkwise.catalog.judge_contract import JUDGE_SYSTEM, Described, judge_prompt, parse_judge_answer
from hunkwise.evaluation.cache import ResultCache, digest_of
from hunkwise.evaluation.dataset import ExpectedIssue
from hunkwise.evaluation.runs import FoundIssue
from hunkwise.gateway import AllSlotsFailed, ChatRequest, Usage
from hunkwise.review.engine import RouterLike

JUDGE_MAX_OUTPUT_TOKENS = 300


@dataclass(frozen=True, slots=True)
class Verdict:
    """``same``: the judge accepts the pair. ``readable`` is False when the request failed or the
    answer had no verdict (the pair is then not accepted). ``usage``: of the request made for it
    (zero when the verdict came from the cache)."""

    same: bool
    readable: bool
    usage: Usage


class Judge:
    def __init__(self, router: RouterLike, digest: str, cache: ResultCache | None = None) -> None:
        self.router = router
        self.digest = digest  # the judge's configuration, part of every cached verdict's key
        self.cache = cache

    async def same(self, finding: FoundIssue, issue: ExpectedIssue) -> Verdict:
        """A failed request or an answer without a verdict does not accept the pair: the judged
        score can only be lower for it, and the unreadable count says how often that happened."""
        question = judge_prompt(
            Described(
                finding.path,
                finding.start_line,
                finding.end_line,
                finding.category,
                f"{finding.title}. {finding.body}",
            ),
            Described(issue.path, issue.start_line, issue.end_line, issue.category, issue.description),
        )
        key = digest_of(question)
        if self.cache is not None and (hit := self.cache.get("judge", self.digest, key)) is not None:
            return Verdict(bool(hit.get("same")), bool(hit.get("readable", True)), Usage())
        request = ChatRequest.of(
            question,
            system=JUDGE_SYSTEM,
            json_mode=True,
            max_output_tokens=JUDGE_MAX_OUTPUT_TOKENS,
            purpose="judge",
        )
        try:
            result = await self.router.chat(request)
        except AllSlotsFailed as exc:
            return Verdict(False, False, sum((a.usage for a in exc.attempts), Usage()))
        verdict = parse_judge_answer(result.content)
        if self.cache is not None and verdict is not None:
            self.cache.put("judge", (self.digest, key), {"same": verdict, "readable": True})
        return Verdict(bool(verdict), verdict is not None, result.usage)
