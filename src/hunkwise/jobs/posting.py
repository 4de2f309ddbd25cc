"""A review report -> the :class:`~hunkwise.platforms.review_post.ReviewPost` a platform posts.

One summary, edited in place on every push (a walkthrough of the change, coverage, what is new
and what is still open from earlier, models, failovers, cost), and one inline comment per finding
the conversation decision (:func:`hunkwise.jobs.conversation.decide`) says is new, each with its
hidden fingerprint. A suggestion that replaces exactly its finding's lines is posted in the
platform's committable form (GitHub's ``suggestion`` block, GitLab's ``suggestion:-0+N``).
Pure and deterministic: the same report and inputs always yield the same post, so a retry
re-sends exactly what the first attempt would have.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace

from hunkwise.jobs.conversation import Placed, PostingInputs, PostingPlan, decide
from hunkwise.platforms.review_post import InlineComment, ReviewPost, marker, review_key
from hunkwise.review.diff import DiffParseError, parse_diff
from hunkwise.review.findings import Finding
from hunkwise.review.fingerprint import Fingerprint
from hunkwise.review.report import ReviewReport
from hunkwise.review.walkthrough import render, walkthrough

_ICON = {"critical": "🛑", "high": "🔴", "medium": "🟠", "low": "🔵"}
MAX_INLINE = 50  # beyond this a review is noise; the rest are listed in the summary
MAX_LISTED = 30  # entries per list in the summary


def pull_key(platform: str, repository: str, number: int) -> str:
    """The fingerprint of a pull request's one summary (the ``summary`` marker)."""
    return hashlib.sha256(f"{platform}:{repository}#{number}".encode()).hexdigest()[:20]


def _fence(text: str) -> str:
    longest, run = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


_ELISIONS = frozenset({"...", "…", "# ...", "// ...", "/* ... */", "<!-- ... -->", "-- ..."})


def committable(f: Finding, code: Mapping[str, Mapping[int, str]]) -> bool:
    """Whether ``f.suggestion`` can be applied as it is: every line ``start..end`` is a new-side
    line the diff shows (a platform applies suggestions only there), and the text is a drop-in
    replacement, not a diff, not a fragment with elided parts, not the same code again. The
    findings contract asks for exactly this ("replacement code for lines start_line..end_line");
    a suggestion that fails the test is still shown, as a plain code block."""
    text = (f.suggestion or "").strip("\n")
    if not text.strip():
        return False
    lines = code.get(f.path) or {}
    span = range(f.start_line, max(f.start_line, f.end_line) + 1)
    if any(n not in lines for n in span):
        return False
    rows = text.split("\n")
    if any(r.strip() in _ELISIONS for r in rows):
        return False
    marked = [r for r in rows if r.strip()]
    if marked[0].startswith(("@@", "--- ", "+++ ")) or (
        all(r[:1] in "+- " for r in marked) and any(r[:1] in "+-" for r in marked)
    ):
        return False
    return text != "\n".join(lines[n] for n in span)


def suggestion_block(f: Finding, platform: str) -> list[str]:
    """The committable block: GitHub applies it to the comment's ``start_line..line``; GitLab to
    the commented line and the ``+N`` below it (the discussion sits on ``start_line``)."""
    text = (f.suggestion or "").strip("\n")
    fence = _fence(text)
    span = max(f.start_line, f.end_line) - f.start_line
    info = "suggestion" if platform == "github" else f"suggestion:-0+{span}"
    return [fence + info, text, fence]


def comment_body(f: Finding, fp: Fingerprint, *, platform: str = "github", apply: bool = False) -> str:
    """One finding's comment; ``apply``: its suggestion is committable (:func:`committable`)."""
    parts = [f"{_ICON.get(f.severity, '')} **{f.severity.upper()}** · {f.category} · **{f.title}**"]
    if f.body:
        parts += ["", f.body]
    if f.suggestion and apply:
        parts += ["", *suggestion_block(f, platform)]
    elif f.suggestion:
        fence = _fence(f.suggestion)
        parts += ["", "Suggested change:", "", fence, f.suggestion, fence]
    if f.model:
        parts += ["", f"<sub>{f.model}</sub>"]
    parts.append(marker("fp", fp.text))
    return "\n".join(parts)


def _where(f: Finding) -> str:
    return f"{f.path}:{f.start_line}" + (f"-{f.end_line}" if f.end_line > f.start_line else "")


def _state(p: Placed) -> str:
    return {"resolved": "resolved", "wont_fix": "won't fix"}.get(p.prior.state if p.prior else "", "closed")


def _listed(title: str, items: list[str]) -> list[str]:
    more = len(items) - MAX_LISTED
    body = items[:MAX_LISTED] + ([f"- … and {more} more"] if more > 0 else [])
    return ["", f"<details><summary>{title}</summary>", "", *body, "", "</details>"]


def _coverage(report: ReviewReport) -> list[str]:
    total = report.lines_reviewed + report.skipped_lines + sum(c.lines for c in report.failed_chunks)
    share = f" ({100 * report.lines_reviewed / total:.0f}%)" if total else ""
    lines = [
        "",
        "### Coverage",
        "",
        f"- **Reviewed:** {report.lines_reviewed} of {total} changed line(s){share} in "
        f"{report.files_reviewed} file(s)",
    ]
    if report.skipped:
        by_rule: dict[str, int] = {}
        for s in report.skipped:
            by_rule[s.rule] = by_rule.get(s.rule, 0) + s.lines
        rules = ", ".join(f"{n} by `{rule}`" for rule, n in sorted(by_rule.items()))
        lines.append(f"- **Skipped by rule:** {report.skipped_lines} line(s): {rules}")
    if report.failed_chunks:
        unreviewed = sum(c.lines for c in report.failed_chunks)
        why = ", ".join(sorted({c.reason for c in report.failed_chunks}))
        lines.append(f"- ⚠️ **Incomplete:** {unreviewed} changed line(s) could not be reviewed ({why})")
    return lines


def summary_body(
    report: ReviewReport,
    *,
    key: str,
    since: str | None,
    extra: list[Finding],
    plan: PostingPlan | None = None,
    walk: list[str] | None = None,
    pr: str = "",
    head_sha: str = "",
) -> str:
    """The one summary of a pull request (``pr``: its :func:`pull_key`), as of ``head_sha``."""
    plan = plan or PostingPlan()
    counts = report.counts_by_severity()
    total = sum(counts.values())
    lines = ["## hunkwise review", ""]
    scope = f"commits since `{since[:12]}`" if since else "the whole change"
    at = f" at `{head_sha[:12]}`" if head_sha else ""
    lines.append(
        f"Reviewed {scope}{at}: {report.files_reviewed} file(s), {report.lines_reviewed} changed line(s); "
        f"**{total} finding(s)**."
    )
    conversation = [
        (len(plan.post), "new, posted inline"),
        (plan.still_open_count, "still open from earlier"),
        (len(plan.closed), "resolved or won't fix earlier (not reopened)"),
        (len(plan.not_found_again), "earlier, not found again"),
        (len(plan.suppressed), "ignored on request"),
        (len(plan.demoted), "demoted to this summary"),
    ]
    if any(n for n, _ in conversation[1:]):
        lines += [
            "",
            " · ".join(f"**{n}** {what}" for n, what in conversation if n or what.startswith("new")),
        ]
    if walk:
        lines += ["", "### Walkthrough", "", *walk]
    lines += _coverage(report)
    lines += ["", "| severity | findings |", "| --- | ---: |"]
    lines += [f"| {_ICON[s]} {s} | {counts[s]} |" for s in ("critical", "high", "medium", "low")]
    models = report.models()
    lines.append("")
    if models:
        used = ", ".join(f"`{m}` ({v['calls']} call(s))" for m, v in sorted(models.items()))
        lines.append(f"**Models:** {used}")
    u = report.usage
    lines.append(
        f"**Failovers:** {report.failovers} · **Tokens:** {u.input_tokens:,} in / {u.output_tokens:,} out · "
        f"**Cost:** ${u.cost_usd:.4f}" + (" (simulated)" if report.simulated else "")
    )
    if hidden := report.not_shown():
        lines += ["", f"**Not shown:** {', '.join(hidden)}."]
    if plan.still_open or plan.open_elsewhere:
        items = [f"- `{_where(p.finding)}` **{p.finding.title}**" for p in plan.still_open]
        items += [f"- `{p.where}` {p.title}".rstrip() for p in plan.open_elsewhere]
        lines += _listed(f"{plan.still_open_count} still open from earlier", items)
    if plan.not_found_again:
        items = [f"- `{p.where}` {p.title}".rstrip() for p in plan.not_found_again]
        lines += _listed(f"{len(plan.not_found_again)} earlier, not found again (changed or fixed)", items)
    if plan.closed:
        items = [f"- `{_where(p.finding)}` **{p.finding.title}** ({_state(p)})" for p in plan.closed]
        lines += _listed(f"{len(plan.closed)} resolved or won't fix earlier, not reopened", items)
    if plan.demoted:
        items = [f"- `{_where(p.finding)}` **{p.finding.title}** ({p.reason})" for p in plan.demoted]
        lines += _listed(f"{len(plan.demoted)} demoted to this summary", items)
    if plan.suppressed:
        items = [f"- `{_where(p.finding)}` **{p.finding.title}**" for p in plan.suppressed]
        lines += _listed(f"{len(plan.suppressed)} ignored on request", items)
    if report.skipped:
        items = [f"- `{s.path}` {s.ranges or ''}: {s.rule}" for s in report.skipped]
        lines += _listed("Not reviewed (rules)", items)
    if report.low_score:
        items = [
            f"- {f.verification_score}/10 `{f.path}:{f.start_line}` **{f.title}**" for f in report.low_score
        ]
        lines += _listed(f"{len(report.low_score)} scored low by the verification", items)
    if extra:
        items = [f"- {_ICON.get(f.severity, '')} `{_where(f)}` **{f.title}**" for f in extra]
        lines += _listed(f"{len(extra)} more finding(s)", items)
    lines += ["", marker("review", key)]
    if pr:
        lines.append(marker("summary", pr))
    if head_sha:
        lines.append(marker("head", head_sha))
    return "\n".join(lines)


def _walk(report: ReviewReport, diff: str | bytes | None) -> list[str]:
    if diff is None:
        return []
    try:
        files = parse_diff(diff)
    except DiffParseError:
        return []
    findings = report.findings + report.held_back
    return render(walkthrough(files, findings, report.skipped))


def _inline(p: Placed, platform: str, code: Mapping[str, Mapping[int, str]]) -> InlineComment:
    f = p.finding
    body = comment_body(f, p.fingerprint, platform=platform, apply=committable(f, code))
    return InlineComment(
        f.path, f.start_line, max(f.start_line, f.end_line), body, p.fingerprint.text, f.title
    )


def build_post(
    report: ReviewReport,
    *,
    platform: str,
    repository: str,
    number: int,
    head_sha: str,
    since: str | None = None,
    diff: str | bytes | None = None,
    inputs: PostingInputs | None = None,
) -> ReviewPost:
    """The post for this review. ``diff``: the reviewed diff, for the walkthrough; ``inputs``:
    what was posted before, suppressed and demoted (:class:`PostingInputs`; none: a first review)."""
    key = review_key(platform, repository, number, head_sha)
    findings = sorted(report.findings, key=lambda f: (-f.rank, f.path, f.start_line))
    plan = decide(findings, report.code, replace(inputs or PostingInputs(), incremental=since is not None))
    # Over MAX_INLINE, and what max_findings held back: listed in the summary, never dropped.
    inline, overflow = plan.post[:MAX_INLINE], plan.post[MAX_INLINE:]
    extra = [p.finding for p in overflow] + report.held_back
    comments = [_inline(p, platform, report.code) for p in inline]
    summary = summary_body(
        report,
        key=key,
        since=since,
        extra=extra,
        plan=plan,
        walk=_walk(report, diff),
        pr=pull_key(platform, repository, number),
        head_sha=head_sha,
    )
    return ReviewPost(key=key, head_sha=head_sha, summary=summary, comments=comments)
