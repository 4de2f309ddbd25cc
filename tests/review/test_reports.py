"""Report formats: SARIF valid against the official 2.1.0 schema, JSON shape, Markdown, text."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from hunkwise.gateway.types import Attempt, Usage
from hunkwise.review.findings import Finding
from hunkwise.review.report import FailedChunk, ReviewReport, SkippedLines, compact_ranges
from hunkwise.review.reports import render
from hunkwise.review.reports.sarif import fingerprint, sarif_document

SCHEMA = json.loads((Path(__file__).parents[1] / "data" / "sarif-schema-2.1.0.json").read_text())


def make_report(**kw: object) -> ReviewReport:
    findings = [
        Finding(
            "src/app.py",
            3,
            3,
            "critical",
            "security",
            "eval() on request data",
            "Arbitrary code runs.",
            "value = ast.literal_eval(text)",
            model="glm-5.1",
            confidence=0.95,
        ),
        Finding(
            "src/app.py", 7, 8, "medium", "error_handling", "Bare except | swallows <errors>", model="glm-5.1"
        ),
        Finding("src/dir with space/ü.py", 1, 1, "low", "docs", "Missing docstring", model="glm-4.5-air"),
    ]
    usage = Usage(calls=2, input_tokens=1500, output_tokens=300, reasoning_tokens=120, cost_usd=0.0034)
    calls = [
        Attempt("main", "zai", "glm-5.1", "ok", 120.0, usage=Usage(1, 1000, 200, 100, 0, 0.002)),
        Attempt("main", "zai", "glm-5.1", "quota_window", 5.0, 429, "1308"),
        Attempt(
            "fallback",
            "zai",
            "glm-4.5-air",
            "ok",
            85.0,
            usage=Usage(1, 500, 100, 20, 0, 0.0014),
            failover=True,
        ),
    ]
    base = dict(
        findings=findings,
        files_reviewed=2,
        lines_reviewed=40,
        usage=usage,
        calls=calls,
        skipped=[SkippedLines.of("package-lock.json", [1, 2, 3, 9], "ignore:lockfile", "default ignore")],
        code={"src/app.py": {3: "value = eval(text)", 7: "try:", 8: "except:"}},
        change={"summary": "feature (abc) vs main", "head_sha": "a" * 40},
    )
    return ReviewReport(**(base | kw))  # type: ignore[arg-type]


def test_json_report_shape() -> None:
    doc = json.loads(render(make_report(), "json"))
    assert doc["version"] == 1
    assert set(doc["findings"][0]) >= {
        "path",
        "start_line",
        "end_line",
        "severity",
        "category",
        "title",
        "body",
        "suggestion",
        "model",
    }
    assert "suggestion" not in doc["findings"][1]
    s = doc["summary"]
    assert (s["files_reviewed"], s["lines_reviewed"], s["findings"], s["failed_chunks"]) == (2, 40, 3, [])
    assert s["skipped"] == [
        {
            "path": "package-lock.json",
            "lines": 4,
            "line_ranges": "1-3, 9",
            "rule": "ignore:lockfile",
            "detail": "default ignore",
        }
    ]
    u = doc["usage"]
    assert (u["calls"], u["input_tokens"], u["output_tokens"], u["reasoning_tokens"], u["failovers"]) == (
        2,
        1500,
        300,
        120,
        1,
    )
    assert u["cost_usd"] == pytest.approx(0.0034)
    assert u["models"]["glm-4.5-air"]["calls"] == 1 and u["models"]["glm-5.1"]["input_tokens"] == 1000


def test_sarif_is_valid_against_the_official_schema() -> None:
    report = make_report(failed_chunks=[FailedChunk(2, ("src/big.py",), 120, "invalid_output", "not JSON")])
    doc = json.loads(render(report, "sarif"))
    jsonschema.validate(doc, SCHEMA)
    run = doc["runs"][0]
    assert run["tool"]["driver"]["name"] == "hunkwise"
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "hunkwise/security" in rule_ids and "hunkwise/error_handling" in rule_ids
    levels = [r["level"] for r in run["results"]]
    assert levels == ["error", "warning", "note"]
    region = run["results"][1]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 7, "endLine": 8}
    uri = run["results"][2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "src/dir%20with%20space/%C3%BC.py"
    for r in run["results"]:
        assert rule_ids[r["ruleIndex"]] == r["ruleId"]
        assert r["partialFingerprints"]["hunkwise/v2"]
    assert run["invocations"][0]["executionSuccessful"] is False


def test_sarif_empty_report_is_valid() -> None:
    jsonschema.validate(sarif_document(ReviewReport()), SCHEMA)


def test_fingerprint_survives_line_shifts_but_not_code_changes() -> None:
    f = Finding("a.py", 3, 3, "high", "bug", "Off by one")
    moved = Finding("a.py", 13, 13, "high", "bug", "Off by one")
    assert fingerprint(f, {3: "x = y[i+1]"}) == fingerprint(moved, {13: "x = y[i+1]"})
    assert fingerprint(f, {3: "x = y[i+1]"}) != fingerprint(f, {3: "x = y[i]"})


def test_markdown_report() -> None:
    md = render(make_report(source="offline-simulator"), "markdown")
    assert md.startswith("## hunkwise review")
    assert "offline simulator" in md
    assert "| 🔴 critical | 1 |" in md
    assert "<details>" in md and "</details>" in md
    assert "```suggestion\nvalue = ast.literal_eval(text)\n```" in md
    assert "Bare except | swallows &lt;errors&gt;" in md  # model text escaped inside the HTML summary
    assert "package-lock.json" in md and "ignore:lockfile" in md
    assert "1 failover(s)" in md


def test_markdown_incomplete_and_clean() -> None:
    md = render(
        make_report(findings=[], failed_chunks=[FailedChunk(0, ("a.py",), 3, "all_slots_failed", "x")]),
        "markdown",
    )
    assert "Incomplete" in md and "Not reviewed" in md and "**0 findings**" in md


def test_text_report() -> None:
    out = render(make_report(source="offline-simulator"), "text", width=120)
    assert "OFFLINE SIMULATOR" in out
    assert "\x1b[" not in out  # plain text unless color=True
    assert "src/app.py" in out and "CRITICAL" in out and "eval() on request data" in out
    assert "value = eval(text)" in out  # the code line the finding is about
    assert "package-lock.json: 4 line(s), ignore:lockfile" in out
    assert "Failovers" in out
    colored = render(make_report(), "text", color=True)
    assert "\x1b[" in colored


def test_compact_ranges() -> None:
    assert compact_ranges([5, 1, 2, 3, 9, 10]) == "1-3, 5, 9-10"
    assert compact_ranges([]) == ""


def test_exit_codes() -> None:
    r = make_report()
    assert r.exit_code() == 0
    assert r.exit_code("critical") == 1
    assert make_report(findings=[]).exit_code("low") == 0
    incomplete = make_report(failed_chunks=[FailedChunk(0, ("a.py",), 3, "invalid_output", "x")])
    assert incomplete.exit_code("critical") == 3
