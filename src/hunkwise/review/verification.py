"""The verification pass: a second, cheaper look that scores each candidate finding 0-10.

Reviewers that lead on quality ask the model to re-read its own suggestions against the code they
cite and drop the weak ones ("self-reflection"); it trades a small extra cost for fewer false
positives. Here it is optional (``[review] verify = true`` or ``--verify``): after anchoring and
de-duplication, the findings go in batches of :data:`DEFAULT_BATCH` (one request each, through
the same router, limits and ledger as the review, ``purpose="verify"``) with the code lines they
cite and a few around them; each gets a score, and a finding under ``min_score`` is dropped or
moved to the summary (``verify_action``). Its calls are counted apart in the report so the cost
of the mechanism is visible.

It fails open: a batch whose request fails or whose answer cannot be read keeps its findings,
unscored, and the report counts them (``unverified``); a verification that would take the
review over its cost ceiling is not run. The pass can only remove findings, never add one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import json_repair

from hunkwise.errors import ConfigurationError
from hunkwise.gateway import AllSlotsFailed, Attempt, ChatRequest, ChatResult, Message, Slot
from hunkwise.review.findings import Finding

log = logging.getLogger("hunkwise.review")

VerifyAction = Literal["drop", "summary"]
DEFAULT_MIN_SCORE = 5
DEFAULT_BATCH = 12
CONTEXT_LINES = 3  # code shown around a finding's lines
MAX_REASON_CHARS = 300
# What a score costs to write ({"id": 12, "score": 7, "reason": "one sentence"}), for the output
# cap and the estimate; the answer frame is small.
OUTPUT_TOKENS_PER_FINDING = 60
OUTPUT_TOKENS_FRAME = 100
# The heading the simulator recognises a verification prompt by (hunkwise.sim.model).
CANDIDATES_HEADING = "## Candidate findings to verify"

SYSTEM_PROMPT = """\
You are hunkwise's verifier. Another pass of code review produced the candidate findings below,
each with the code it cites (new-file line numbers on the left; ">" marks the cited lines).
For each candidate, read the code and score from 0 to 10 whether it is a real problem worth a
reviewer's comment:
- 0-3: wrong (the code does not do what the finding says), speculative, or not worth a comment;
- 4-6: plausible, but it depends on code or context that is not shown;
- 7-10: clearly real: the cited lines show the problem.
Judge only what the code shows; do not reward confident wording. Give one short reason each.
Answer with ONE JSON object and nothing else:
{"scores": [{"id": <candidate id>, "score": <0-10>, "reason": "<one sentence>"}]}
with exactly one entry per candidate id."""


class RouterLike(Protocol):
    """The part of ``hunkwise.gateway.Router`` a review uses (the engine's chunks and this pass):
    its slots, for prices and windows, and one call."""

    @property
    def slots(self) -> tuple[Slot, ...]:
        """The configured slots, read to size chunks and price calls for the most constrained one."""

    async def chat(self, request: ChatRequest) -> ChatResult:
        """One chat through the gateway's policy (limits, retries, failover); a review never calls a
        provider itself.
        """


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """Off by default; ``min_score`` is on the 0-10 scale the verifier answers in."""

    enabled: bool = False
    min_score: int = DEFAULT_MIN_SCORE
    action: VerifyAction = "drop"
    batch: int = DEFAULT_BATCH

    def __post_init__(self) -> None:
        if not 0 <= self.min_score <= 10:
            raise ValueError(f"min_score must be between 0 and 10, got {self.min_score}")
        if self.action not in ("drop", "summary"):
            raise ValueError(f'verify_action must be "drop" or "summary", got {self.action!r}')
        if self.batch < 1:
            raise ValueError(f"the verification batch must be at least 1, got {self.batch}")


@dataclass(slots=True)
class VerifyResult:
    """Findings that passed (or could not be scored), those under ``min_score``, and the calls."""

    kept: list[Finding] = field(default_factory=list)
    below: list[Finding] = field(default_factory=list)
    calls: list[Attempt] = field(default_factory=list)
    unverified: int = 0  # kept without a score: the batch's request or answer failed
    skipped_reason: str = ""  # the whole pass did not run (the cost ceiling)


def _numbered(path: str, finding: Finding, code: Mapping[str, Mapping[int, str]]) -> str:
    lines = code.get(path, {})
    lo, hi = finding.start_line - CONTEXT_LINES, finding.end_line + CONTEXT_LINES
    cited = range(finding.start_line, finding.end_line + 1)
    shown = [f"{n:>5} {'>' if n in cited else ' '} {lines[n]}" for n in range(lo, hi + 1) if n in lines]
    return "\n".join(shown) if shown else "(the cited lines are not in the diff)"


def build_verify_request(
    findings: Sequence[Finding], code: Mapping[str, Mapping[int, str]], *, first_id: int = 1
) -> ChatRequest:
    """One request scoring ``findings``, numbered from ``first_id`` (ids are unique in a review)."""
    parts = [CANDIDATES_HEADING, ""]
    for i, f in enumerate(findings, start=first_id):
        lines = f"{f.start_line}" if f.start_line == f.end_line else f"{f.start_line}-{f.end_line}"
        parts += [
            f"### Candidate {i}",
            f"FILE: {f.path} lines {lines}",
            f"severity: {f.severity}; category: {f.category}",
            f"title: {f.title}",
            f"body: {f.body}" if f.body else "body: (none)",
            "code:",
            "```",
            _numbered(f.path, f, code),
            "```",
            "",
        ]
    return ChatRequest(
        messages=(Message("system", SYSTEM_PROMPT), Message("user", "\n".join(parts))),
        json_mode=True,
        max_output_tokens=OUTPUT_TOKENS_FRAME + OUTPUT_TOKENS_PER_FINDING * len(findings),
        purpose="verify",
    )


def parse_scores(text: str, ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """``{id: (score, reason)}`` for the ids the answer scored; anything unreadable is absent (the
    finding stays, unverified). Read with the standard decoder, else as near-JSON."""
    try:
        value: Any = json.loads(text)
    except ValueError:
        try:
            value = json_repair.loads(text, skip_json_loads=True)
        except Exception:  # the library's failures on hostile text: nothing readable
            return {}
    entries = value.get("scores") if isinstance(value, dict) else value
    if not isinstance(entries, list):
        return {}
    wanted, out = set(ids), {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        fid, score = entry.get("id"), entry.get("score")
        if isinstance(fid, str) and fid.strip().isdigit():
            fid = int(fid)
        if isinstance(score, str):
            try:
                score = float(score.strip().split("/")[0])
            except ValueError:
                continue
        if (
            isinstance(fid, int)
            and fid in wanted
            and isinstance(score, int | float)
            and not isinstance(score, bool)
            and math.isfinite(score)
        ):
            reason = entry.get("reason")
            out[fid] = (max(0, min(10, round(score))), str(reason)[:MAX_REASON_CHARS] if reason else "")
    return out


def estimate_cost_usd(
    findings: Sequence[Finding],
    code: Mapping[str, Mapping[int, str]],
    slot: Slot,
    batch: int,
    tokens_for: Callable[[int], int],
) -> float:
    """What the pass would cost with ``slot``'s prices: ``tokens_for(characters)`` of each
    request (the review's calibrated estimator) and its answer's full output cap."""
    total = 0.0
    for lo in range(0, len(findings), batch):
        request = build_verify_request(findings[lo : lo + batch], code, first_id=lo + 1)
        chars = sum(len(m.content) for m in request.messages)
        total += slot.cost_usd(tokens_for(chars), request.max_output_tokens or 0)
    return total


async def _ask(
    router: RouterLike, batch: Sequence[Finding], code: Mapping[str, Mapping[int, str]], lo: int
) -> tuple[list[Attempt], dict[int, tuple[int, str]]]:
    """One batch's request: its call records and the scores read (none when it failed)."""
    request = build_verify_request(batch, code, first_id=lo + 1)
    try:
        answer = await router.chat(request)
    except AllSlotsFailed as exc:
        return list(exc.attempts), {}
    except (ConfigurationError, asyncio.CancelledError):
        raise
    except Exception:  # like a review chunk: a bug here costs the scores, never the review
        log.exception("the verification request failed; its findings are kept unscored")
        return [], {}
    return list(answer.attempts), parse_scores(answer.content, range(lo + 1, lo + 1 + len(batch)))


async def verify_findings(
    router: RouterLike,
    findings: Sequence[Finding],
    code: Mapping[str, Mapping[int, str]],
    options: VerifyOptions,
) -> VerifyResult:
    """Score ``findings`` in batches, sent together (the router's limits pace them); set each
    scored finding's ``verification_score``. Results keep the findings' order."""
    starts = range(0, len(findings), options.batch)
    answers = await asyncio.gather(
        *(_ask(router, findings[lo : lo + options.batch], code, lo) for lo in starts)
    )
    result = VerifyResult()
    for lo, (calls, scores) in zip(starts, answers, strict=True):
        result.calls.extend(calls)
        for fid, finding in enumerate(findings[lo : lo + options.batch], start=lo + 1):
            if fid not in scores:
                result.kept.append(finding)
                result.unverified += 1
                continue
            finding.verification_score, finding.verification_reason = scores[fid]
            (result.kept if finding.verification_score >= options.min_score else result.below).append(finding)
    return result


__all__ = [
    "CANDIDATES_HEADING",
    "DEFAULT_MIN_SCORE",
    "RouterLike",
    "VerifyAction",
    "VerifyOptions",
    "VerifyResult",
    "build_verify_request",
    "estimate_cost_usd",
    "parse_scores",
    "verify_findings",
]
