"""Report formats for a :class:`~hunkwise.review.report.ReviewReport`: text, json, markdown, sarif.

Each renderer is a pure function from the report to a string, so the CLI can print it, write it
to ``--output``, and the server can post it, with the same bytes.
"""

from __future__ import annotations

from typing import Literal

from hunkwise.review.report import ReviewReport

ReportFormat = Literal["text", "json", "markdown", "sarif"]
FORMATS: tuple[ReportFormat, ...] = ("text", "json", "markdown", "sarif")


def render(report: ReviewReport, fmt: ReportFormat, *, color: bool = False, width: int = 100) -> str:
    """The report in ``fmt``. ``color``/``width`` only matter for text (ANSI for a terminal)."""
    if fmt == "text":
        from hunkwise.review.reports.text import render_text

        return render_text(report, color=color, width=width)
    if fmt == "json":
        from hunkwise.review.reports.json_report import render_json

        return render_json(report)
    if fmt == "markdown":
        from hunkwise.review.reports.markdown import render_markdown

        return render_markdown(report)
    if fmt == "sarif":
        from hunkwise.review.reports.sarif import render_sarif

        return render_sarif(report)
    raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
