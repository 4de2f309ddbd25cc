"""The terminal report: findings grouped by file with the code they are about, then a summary.

Rendered with Rich into a string (``color=True`` keeps ANSI styles for a terminal, ``False``
gives plain text for files and pipes), so the same function serves ``--output`` and the screen.
"""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from hunkwise.catalog.findings_contract import SEVERITIES
from hunkwise.review.findings import Finding
from hunkwise.review.report import ReviewReport

STYLES = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan"}
OFFLINE_BANNER = (
    "OFFLINE SIMULATOR: these findings come from hunkwise's built-in simulator (pattern "
    "matching), not from a language model. Configure a key (ZAI_API_KEY) for a real review."
)


def _code_block(f: Finding, report: ReviewReport) -> Text | None:
    code = report.code.get(f.path)
    if not code:
        return None
    lo, hi = f.start_line, min(f.end_line, f.start_line + 14)
    text = Text()
    for n in range(max(1, lo - 1), hi + 2):
        if n not in code:
            continue
        marker_style = "bold" if lo <= n <= f.end_line else "dim"
        text.append(f"{n:>6} │ ", style="dim")
        text.append(code[n] + "\n", style=marker_style)
    return text if text.plain else None


def _finding(f: Finding, report: ReviewReport) -> Group:
    lines = f"{f.start_line}" if f.start_line == f.end_line else f"{f.start_line}-{f.end_line}"
    head = Text()
    head.append(f" {f.severity.upper()} ", style=STYLES[f.severity])
    head.append(f" {f.category} ", style="bold")
    head.append(f"line {lines}: ", style="dim")
    head.append(f.title, style="bold")
    parts: list[Text] = [head]
    if f.body:
        parts.append(Text(f.body, style="default"))
    if block := _code_block(f, report):
        parts.append(block)
    if f.suggestion:
        parts.append(Text("suggestion:", style="green"))
        parts.append(Text("\n".join("    " + s for s in f.suggestion.splitlines()), style="green"))
    meta = f"confidence {f.confidence:.0%}" + (f", {f.model}" if f.model else "")
    parts.append(Text(meta, style="dim"))
    parts.append(Text(""))
    return Group(*parts)


def _verification(report: ReviewReport) -> str:
    """The verification pass's line: its own calls, tokens and cost, or why it did not run."""
    if report.verification_skipped:
        return f"{report.verification_skipped}"
    v = report.verification_usage()
    if not v["calls"]:
        return ""
    line = f"{v['calls']} call(s), {v['input_tokens']:,} input / {v['output_tokens']:,} output tokens, "
    line += f"${v['cost_usd']:.4f}" + (" simulated" if report.simulated else "")
    return line + (f"; {report.unverified} finding(s) not scored" if report.unverified else "")


def _summary(report: ReviewReport) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    counts = report.counts_by_severity()
    by_sev = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s]) or "none"
    table.add_row("Reviewed", f"{report.files_reviewed} file(s), {report.lines_reviewed} changed line(s)")
    table.add_row("Findings", f"{len(report.findings)} ({by_sev})")
    if hidden := report.not_shown():
        table.add_row("Not shown", ", ".join(hidden))
    for f in report.held_back:
        table.add_row(
            "Held back",
            escape(f"{f.severity} {f.path}:{f.start_line} {f.title} (confidence {f.confidence:.0%})"),
        )
    for f in report.low_score:
        table.add_row(
            "Low score",
            escape(f"{f.verification_score}/10 {f.path}:{f.start_line} {f.title}: {f.verification_reason}"),
        )
    if decided := [p.thinking for p in report.plan if p.thinking]:
        off = sum(1 for t in decided if t.startswith("off"))
        table.add_row(
            "Thinking", f"auto: off for {off} of {len(decided)} request(s) (docs, tests, config, small)"
        )
    if verification := _verification(report):
        table.add_row("Verification", escape(verification))
    for s in report.skipped:
        table.add_row(
            "Skipped",
            escape(f"{s.path}: {s.lines} line(s), {s.rule}" + (f" ({s.detail})" if s.detail else "")),
        )
    for c in report.failed_chunks:
        table.add_row(
            Text("FAILED", style="bold red"),
            escape(f"chunk {c.index} ({', '.join(c.paths)}; {c.lines} line(s)) not reviewed: {c.detail}"),
        )
    u = report.usage
    table.add_row(
        "Usage",
        f"{u.calls} call(s), {u.input_tokens:,} input / {u.output_tokens:,} output tokens"
        + (f" ({u.reasoning_tokens:,} reasoning)" if u.reasoning_tokens else "")
        + f", {report.cost_label()}",
    )
    models = report.models()
    if models:
        table.add_row("Models", escape(", ".join(f"{m} ({v['calls']} call(s))" for m, v in models.items())))
    if report.failovers:
        table.add_row("Failovers", Text(str(report.failovers), style="yellow"))
    return table


def render_text(report: ReviewReport, *, color: bool = False, width: int = 100) -> str:
    """The report for a terminal, colour optional and width fixed, so the same report prints the same way in a
    pipe and a test.
    """
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="auto" if color else None,
    )
    if report.source == "offline-simulator":
        console.print(Panel(Text(OFFLINE_BANNER), style="bold yellow", expand=True))
    if report.change.get("summary"):
        console.print(Text(f"Change: {report.change['summary']}", style="dim"))
    if not report.findings:
        console.print(Text("No findings.", style="green"))
    for path in dict.fromkeys(f.path for f in report.findings):
        console.rule(Text(path, style="bold"), align="left")
        for f in report.findings:
            if f.path == path:
                console.print(_finding(f, report))
    console.rule(style="dim")
    console.print(_summary(report))
    return buf.getvalue()
