"""SARIF 2.1.0 output, for GitHub code scanning and any SARIF viewer.

One rule per finding category (so viewers can filter by kind), results with a level derived
from the severity, and a ``partialFingerprints`` value built from what the finding is about
(path, category, title, the code on its lines) rather than its line numbers, so the same finding
keeps its identity when unrelated lines shift between pushes.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hunkwise import __version__
from hunkwise.catalog.findings_contract import CATEGORIES
from hunkwise.review.findings import Finding
from hunkwise.review.fingerprint import fingerprint as finding_fingerprint
from hunkwise.review.prompt import CATEGORY_DEFINITIONS
from hunkwise.review.report import ReviewReport

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/hunkwise/hunkwise"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub code scanning reads a CVSS-like number from rules' properties for security alerts.
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}


def _rule_id(category: str) -> str:
    return f"hunkwise/{category}"


def _rules() -> list[dict[str, Any]]:
    return [
        {
            "id": _rule_id(cat),
            "name": "".join(part.capitalize() for part in cat.split("_")),
            "shortDescription": {"text": f"{cat.replace('_', ' ').capitalize()} issue found in review"},
            "fullDescription": {"text": CATEGORY_DEFINITIONS[cat]},
            "defaultConfiguration": {"level": "warning"},
            "helpUri": INFORMATION_URI,
            "properties": {"tags": [cat, *(["security"] if cat == "security" else [])]},
        }
        for cat in CATEGORIES
    ]


def fingerprint(finding: Finding, code: dict[int, str] | None) -> str:
    """A finding's identity across runs (path, category, the cited code and the title's words,
    not line numbers), so code scanning keeps an alert open or closed as lines move: the same
    identity the pull-request conversation uses (:mod:`hunkwise.review.fingerprint`), in its
    text form."""
    return finding_fingerprint(finding, {finding.path: code or {}}).text


def _message(finding: Finding) -> dict[str, str]:
    text = finding.title if not finding.body else f"{finding.title}\n\n{finding.body}"
    markdown = f"**{finding.title}**" + (f"\n\n{finding.body}" if finding.body else "")
    if finding.suggestion:
        markdown += f"\n\nSuggested change:\n\n```\n{finding.suggestion}\n```"
    return {"text": text, "markdown": markdown}


def _result(finding: Finding, report: ReviewReport, rule_index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": _rule_id(finding.category),
        "ruleIndex": rule_index[finding.category],
        "level": LEVELS[finding.severity],
        "message": _message(finding),
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": quote(finding.path), "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": finding.start_line, "endLine": finding.end_line},
                }
            }
        ],
        "partialFingerprints": {"hunkwise/v2": fingerprint(finding, report.code.get(finding.path))},
        "properties": {
            "severity": finding.severity,
            "category": finding.category,
            "confidence": round(finding.confidence, 3),
            "model": finding.model,
        },
    }
    if finding.category == "security":
        result["properties"]["security-severity"] = _SECURITY_SEVERITY[finding.severity]
    if finding.suggestion:
        result["properties"]["suggestion"] = finding.suggestion
    return result


def sarif_document(report: ReviewReport) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 document, so code-scanning UIs show findings and unreviewed chunks
    natively.
    """
    rule_index = {cat: i for i, cat in enumerate(CATEGORIES)}
    notifications = [
        {
            "level": "error",
            "message": {"text": f"chunk {c.index} ({', '.join(c.paths)}) was not reviewed: {c.detail}"},
            "descriptor": {"id": f"hunkwise/failed/{c.reason}"},
        }
        for c in report.failed_chunks
    ] + [
        {
            "level": "note",
            "message": {"text": f"{s.lines} changed line(s) of {s.path} skipped by {s.rule}: {s.detail}"},
            "descriptor": {"id": f"hunkwise/skipped/{s.rule}"},
        }
        for s in report.skipped
    ]
    invocation: dict[str, Any] = {"executionSuccessful": report.complete}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "hunkwise",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": _rules(),
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository root."}}},
        "invocations": [invocation],
        "results": [_result(f, report, rule_index) for f in report.findings],
        "columnKind": "unicodeCodePoints",
        "properties": {
            "source": report.source,
            "filesReviewed": report.files_reviewed,
            "linesReviewed": report.lines_reviewed,
            "costUsd": round(report.usage.cost_usd, 6),
            "costSimulated": report.simulated,
            "failovers": report.failovers,
        },
    }
    if report.change.get("head_sha"):
        run["properties"]["revision"] = report.change["head_sha"]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(report: ReviewReport) -> str:
    """The SARIF document as text, for ``--format sarif``."""
    return json.dumps(sarif_document(report), indent=2, ensure_ascii=False) + "\n"
