"""Markdown ready to post as a pull-request comment (GitHub and GitLab flavoured).

The summary stays short and visible; each finding is a collapsible ``<details>`` block so a long
review does not bury the conversation. Text from the model is escaped where it lands inside HTML
or table cells, so a finding cannot break the comment's layout.
"""

from __future__ import annotations

import html

from hunkwise.catalog.findings_contract import SEVERITIES
from hunkwise.review.findings import Finding
from hunkwise.review.report import ReviewReport

ICONS = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵"}
OFFLINE_NOTE = (
    "> [!NOTE]\n> These findings come from hunkwise's **offline simulator**, not from a language "
    "model: a pattern-matching stand-in used for demos and tests."
)


def _cell(text: str) -> str:
    return html.escape(text).replace("|", "\\|").replace("\n", " ")


def _fence(text: str) -> str:
    """A code fence longer than any backtick run inside ``text``."""
    longest = max((len(run) for run in text.split("\n") for run in _backtick_runs(run)), default=0)
    return "`" * max(3, longest + 1)


def _backtick_runs(line: str) -> list[str]:
    runs, current = [], ""
    for ch in line:
        if ch == "`":
            current += ch
        elif current:
            runs.append(current)
            current = ""
    if current:
        runs.append(current)
    return runs


def _lines(f: Finding) -> str:
    return f"{f.start_line}" if f.start_line == f.end_line else f"{f.start_line}-{f.end_line}"


def _finding(f: Finding, report: ReviewReport) -> str:
    summary = (
        f"{ICONS[f.severity]} <b>{f.severity}</b> · {f.category} · "
        f"<code>{html.escape(f.path)}:{_lines(f)}</code> — {html.escape(f.title)}"
    )
    parts = [f"<details>\n<summary>{summary}</summary>\n"]
    if f.body:
        parts.append(f.body.strip() + "\n")
    code = report.code.get(f.path, {})
    shown = [code[n] for n in range(f.start_line, f.end_line + 1) if n in code][:15]
    if shown:
        block = "\n".join(shown)
        fence = _fence(block)
        parts.append(f"{fence}\n{block}\n{fence}\n")
    if f.suggestion:
        fence = _fence(f.suggestion)
        parts.append(f"Suggested change:\n\n{fence}suggestion\n{f.suggestion.rstrip()}\n{fence}\n")
    meta = f"confidence {f.confidence:.0%}" + (f" · {html.escape(f.model)}" if f.model else "")
    parts.append(f"<sub>{meta}</sub>\n</details>")
    return "\n".join(parts)


def render_markdown(report: ReviewReport) -> str:
    """The report as Markdown, ready to post as a pull-request comment (``--format markdown``)."""
    out = ["## hunkwise review", ""]
    if report.source == "offline-simulator":
        out += [OFFLINE_NOTE, ""]
    counts = report.counts_by_severity()
    n = len(report.findings)
    headline = (
        f"**{n} finding{'s' if n != 1 else ''}** in {report.files_reviewed} file(s), "
        f"{report.lines_reviewed} changed line(s) reviewed."
    )
    if not report.complete:
        headline += f" ⚠️ **Incomplete:** {len(report.failed_chunks)} request(s) failed (see below)."
    out += [headline, ""]
    if n:
        out += ["| Severity | Findings |", "|---|---:|"]
        out += [f"| {ICONS[s]} {s} | {counts[s]} |" for s in SEVERITIES if counts[s]]
        out += ["", "### Findings", ""]
        for path in dict.fromkeys(f.path for f in report.findings):
            out += [f"#### `{path}`", ""]
            out += [_finding(f, report) + "\n" for f in report.findings if f.path == path]
    if report.held_back:
        out += [f"<details>\n<summary>{len(report.held_back)} more finding(s) over max_findings</summary>\n"]
        out += [
            f"- {ICONS[f.severity]} `{_cell(f.path)}:{_lines(f)}` **{_cell(f.title)}** "
            f"(confidence {f.confidence:.0%})"
            for f in report.held_back
        ]
        out += ["", "</details>", ""]
    if report.low_score:
        out += [
            f"<details>\n<summary>{len(report.low_score)} finding(s) the verification scored under "
            "min_score</summary>\n"
        ]
        out += [
            f"- {f.verification_score}/10 `{_cell(f.path)}:{_lines(f)}` **{_cell(f.title)}**: "
            f"{_cell(f.verification_reason)}"
            for f in report.low_score
        ]
        out += ["", "</details>", ""]
    if hidden := report.not_shown():
        out += [f"Not shown: {', '.join(hidden)}.", ""]
    if report.failed_chunks:
        out += ["### Not reviewed", "", "| Files | Lines | Reason |", "|---|---:|---|"]
        out += [
            f"| {_cell(', '.join(c.paths))} | {c.lines} | {_cell(c.reason + ': ' + c.detail)} |"
            for c in report.failed_chunks
        ]
        out.append("")
    if report.skipped:
        out += [
            f"<details>\n<summary>Skipped {report.skipped_lines} changed line(s) in "
            f"{len(report.skipped)} file(s)</summary>\n",
            "| File | Lines | Rule | Detail |",
            "|---|---:|---|---|",
        ]
        out += [
            f"| {_cell(s.path)} | {s.lines} | {_cell(s.rule)} | {_cell(s.detail)} |" for s in report.skipped
        ]
        out += ["", "</details>", ""]
    u = report.usage
    models = ", ".join(report.models()) or "none"
    footer = (
        f"<sub>{u.calls} call(s) · {u.input_tokens:,} in / {u.output_tokens:,} out tokens · "
        f"{report.cost_label()} · models: {html.escape(models)}"
    )
    if report.failovers:
        footer += f" · {report.failovers} failover(s)"
    out.append(footer + "</sub>")
    return "\n".join(out).rstrip() + "\n"
