"""The JSON report: ``ReviewReport.to_json()`` serialised, stable key order, one trailing newline."""

from __future__ import annotations

import json

from hunkwise.review.report import ReviewReport


def render_json(report: ReviewReport) -> str:
    """The report as JSON text, for ``--format json`` and tools that consume it."""
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
