"""A review report -> the :class:`~hunkwise.platforms.review_post.ReviewPost` a platform posts.

One summary (severity counts, models, failovers, cost, what was not reviewed) and one inline
comment per finding, each with its hidden fingerprint. Pure and deterministic: the same report
always yields the same post, so a retry re-sends exactly what the first attempt would have.
"""

from __future__ import annotations

import hashlib

from hunkwise.platforms.review_post import NOTICE, InlineComment, ReviewPost, marker, notice_key, review_key
from hunkwise.review.findings import Finding
from hunkwise.review.report import ReviewReport

_ICON = {"critical": "🛑", "high": "🔴", "medium": "🟠", "low": "🔵"}
MAX_INLINE = 50  # beyond this a review is noise; the rest are listed in the summary


def finding_key(f: Finding) -> str:
    raw = f"{f.path}:{f.start_line}-{f.end_line}:{f.severity}:{f.title}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _fence(text: str) -> str:
    longest, run = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def comment_body(f: Finding) -> str:
    parts = [f"{_ICON.get(f.severity, '')} **{f.severity.upper()}** · {f.category} · **{f.title}**"]
    if f.body:
        parts += ["", f.body]
    if f.suggestion:
        fence = _fence(f.suggestion)
        parts += ["", "Suggested change:", "", fence, f.suggestion, fence]
    if f.model:
        parts += ["", f"<sub>{f.model}</sub>"]
    parts.append(marker("finding", finding_key(f)))
    return "\n".join(parts)


def summary_body(report: ReviewReport, *, key: str, since: str | None, extra: list[Finding]) -> str:
    counts = report.counts_by_severity()
    total = sum(counts.values())
    lines = ["## hunkwise review", ""]
    scope = f"commits since `{since[:12]}`" if since else "the whole change"
    lines.append(
        f"Reviewed {scope}: {report.files_reviewed} file(s), {report.lines_reviewed} changed line(s); "
        f"**{total} finding(s)**."
    )
    lines += ["", "| severity | findings |", "| --- | ---: |"]
    lines += [f"| {_ICON[s]} {s} | {counts[s]} |" for s in ("critical", "high", "medium", "low")]
    models = report.models()
    if models:
        used = ", ".join(f"`{m}` ({v['calls']} call(s))" for m, v in sorted(models.items()))
        lines += ["", f"**Models:** {used}"]
    u = report.usage
    lines.append(
        f"**Failovers:** {report.failovers} · **Tokens:** {u.input_tokens:,} in / {u.output_tokens:,} out · "
        f"**Cost:** ${u.cost_usd:.4f}"
    )
    if report.failed_chunks:
        unreviewed = sum(c.lines for c in report.failed_chunks)
        lines += [
            "",
            f"⚠️ **Incomplete:** {unreviewed} changed line(s) could not be reviewed "
            f"({', '.join(sorted({c.reason for c in report.failed_chunks}))}).",
        ]
    if hidden := report.not_shown():
        lines += ["", f"**Not shown:** {', '.join(hidden)}."]
    if report.skipped:
        lines += ["", "<details><summary>Not reviewed (rules)</summary>", ""]
        lines += [f"- `{s.path}` {s.ranges or ''}: {s.rule}" for s in report.skipped[:30]]
        lines += ["", "</details>"]
    if report.low_score:
        lines += [
            "",
            f"<details><summary>{len(report.low_score)} scored low by the verification</summary>",
            "",
        ]
        for f in report.low_score:
            lines.append(f"- {f.verification_score}/10 `{f.path}:{f.start_line}` **{f.title}**")
        lines += ["", "</details>"]
    if extra:
        lines += ["", f"<details><summary>{len(extra)} more finding(s)</summary>", ""]
        for f in extra:
            where = f"{f.path}:{f.start_line}" + (f"-{f.end_line}" if f.end_line > f.start_line else "")
            lines.append(f"- {_ICON.get(f.severity, '')} `{where}` **{f.title}**")
        lines += ["", "</details>"]
    lines += ["", marker("review", key)]
    return "\n".join(lines)


def build_post(
    report: ReviewReport,
    *,
    platform: str,
    repository: str,
    number: int,
    head_sha: str,
    since: str | None = None,
) -> ReviewPost:
    key = review_key(platform, repository, number, head_sha)
    findings = sorted(report.findings, key=lambda f: (-f.rank, f.path, f.start_line))
    # Over MAX_INLINE, and what max_findings held back: listed in the summary, never dropped.
    inline, extra = findings[:MAX_INLINE], findings[MAX_INLINE:] + report.held_back
    comments = [
        InlineComment(f.path, f.start_line, max(f.start_line, f.end_line), comment_body(f), finding_key(f))
        for f in inline
    ]
    return ReviewPost(
        key=key,
        head_sha=head_sha,
        summary=summary_body(report, key=key, since=since, extra=extra),
        comments=comments,
    )


def build_notice(
    *,
    platform: str,
    repository: str,
    number: int,
    head_sha: str,
    reason: str,
    headline: str,
    message: str,
    period: str,
    facts: tuple[tuple[str, str], ...] = (),
    advice: str = "",
) -> ReviewPost:
    """The one comment a pull request gets when its review was not run (a budget or the ceiling):
    what happened, the figures and how to raise the limit, fingerprinted per pull request,
    ``reason`` and ``period`` (the month) so later pushes in the same state add nothing."""
    key = notice_key(platform, repository, number, reason, period)
    lines = ["## hunkwise review not run", "", f"**{headline}** Nothing was sent to a model.", ""]
    if facts:
        lines += ["| | |", "| --- | ---: |", *(f"| {label} | {value} |" for label, value in facts), ""]
        lines += [advice or message]
    else:
        lines.append(message)
    lines += [
        "",
        f"<sub>Reason: `{reason}` · commit `{head_sha[:12]}` · this notice is posted once per pull request "
        f"and month; later pushes are refused the same way until the limit is raised.</sub>",
        "",
        marker(NOTICE, key),
    ]
    return ReviewPost(key=key, head_sha=head_sha, summary="\n".join(lines), kind=NOTICE)
